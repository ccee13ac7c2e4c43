"""What a reader sees: each example prints only its own lines, and leaves no temporary files.

Each example runs as a reader would run it (a subprocess, default ``--dataset auto``, offline), with
tiny flags. Any line that looks like a library talking (absl, TensorFlow's C++ log prefixes,
CUDA probing, deprecation warnings, a traceback) fails the test, and so does anything left in the
process's temporary folder. Add a chapter's examples to ``EXAMPLES`` to hold them to the same rule.
"""

from __future__ import annotations

import re
import sys

import pytest

from tests.conftest import run_module

CH02 = "chapters.ch02_data_ingestion."
CH05 = "chapters.ch05_workflows."
CH06 = "chapters.ch06_operations."

# module -> tiny flags (the output folder is added by the test)
EXAMPLES = {
    CH02 + "batching": ["--num-examples", "800", "--batch-sizes", "32,64", "--repeats", "1",
                        "--train-steps", "2"],
    CH02 + "sharding": ["--num-examples", "60", "--num-workers", "2", "--num-files", "2"],
    CH02 + "caching": ["--num-examples", "64", "--num-epochs", "2", "--preprocess-cost", "1"],
    CH05 + "fan_in_fan_out": ["--num-examples", "64", "--train-steps", "2", "--batch-size", "16"],
    CH05 + "memoization": ["--num-examples", "64", "--ingest-cost", "1"],
    CH05 + "sync_async": ["--unit-seconds", "0.05"],
    CH06 + "scheduling": ["--num-jobs", "60"],
    CH06 + "metadata": ["--dataset", "auto", "--num-examples", "256", "--train-steps", "8",
                        "--batch-size", "16", "--checkpoint-every", "3", "--fail-at-step", "5"],
}  # fmt: skip

READS_NO_DATA = {
    CH06 + "scheduling",
    CH05 + "sync_async",
}  # a simulation: no dataset, so no fallback warning

NOISE = re.compile(r"absl|[EWI]0000 |cuda|cuInit|Deprecat|Traceback|oneDNN|tensorflow/", re.I)
OUR_WARNING = "WARNING: real Fashion-MNIST unavailable"


@pytest.mark.parametrize("module", EXAMPLES)
def test_an_example_prints_only_its_own_lines(module, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out"
    proc = run_module(module, *EXAMPLES[module], "--out", str(out), timeout=300,
                      env={"TMPDIR": str(scratch)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    noise = [line for line in lines if NOISE.search(line) and not line.startswith(OUR_WARNING)]
    assert noise == [], "\n".join(noise)
    warned = sum(line.startswith(OUR_WARNING) for line in lines)
    assert warned == (0 if module in READS_NO_DATA else 1)  # the fallback, said once
    printed = proc.stdout.splitlines()
    assert any(line.startswith("Claim:") for line in printed), proc.stdout
    assert any(line.startswith("Book: chapter") for line in printed), proc.stdout
    assert list(scratch.iterdir()) == [], "temporary files left behind"


@pytest.mark.skipif(sys.platform != "linux", reason="the CUDA build's start-up lines")
def test_verbose_brings_the_library_logs_back(tmp_path):
    module = CH02 + "sharding"
    proc = run_module(module, *EXAMPLES[module], "--out", str(tmp_path), "--verbose", timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert NOISE.search(proc.stderr), proc.stderr
