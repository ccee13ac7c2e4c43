"""What a reader of chapter 3 sees: only the examples' own lines, no temporary files left behind.

Each example runs as a reader would (a subprocess, ``--dataset auto`` offline) with tiny flags; the
launcher and every task it starts must stay quiet, say the dataset fallback once, end with the
book section, and leave the temporary folder empty (each task's TMPDIR is removed).
"""

from __future__ import annotations

import pytest

from tests.conftest import run_module
from tests.test_output import NOISE, OUR_WARNING

pytestmark = pytest.mark.slow
HINT = "(run with --verbose for the traceback)"
CH03 = "chapters.ch03_distributed_training."
TINY = ["--num-examples", "300", "--steps-per-epoch", "3", "--batch-size", "16"]
EXAMPLES = {
    CH03 + "collective_communication": [*TINY, "--num-epochs", "1"],
    CH03 + "parameter_server": [*TINY, "--num-epochs", "1"],
    CH03 + "fault_tolerance": [*TINY, "--num-epochs", "3", "--kill-at-epoch", "1", "--no-compare"],
    CH03 + "elasticity": [
        *TINY,
        "--num-epochs",
        "2",
        "--stop-at-epoch",
        "1",
        "--leave-at-round",
        "2",
        "--return-at-round",
        "2",
        "--rounds-back",
        "2",
    ],  # fmt: skip
}


@pytest.mark.parametrize("module", EXAMPLES, ids=lambda m: m.rsplit(".", 1)[-1])
def test_an_example_prints_only_its_own_lines(module, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out"
    proc = run_module(
        module, *EXAMPLES[module], "--out", str(out), timeout=300,
        env={"TMPDIR": str(scratch)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = (proc.stdout + proc.stderr).splitlines()
    ours = (OUR_WARNING, HINT)  # the killed job's survivor ends with a one-line error + this hint
    noise = [line for line in lines if NOISE.search(line) and not any(o in line for o in ours)]
    assert noise == [], "\n".join(noise)
    assert sum(line.startswith(OUR_WARNING) for line in lines) == 1  # the fallback, said once
    stdout = proc.stdout.rstrip().splitlines()
    assert any(line.startswith("Claim:") and "NOT" not in line for line in stdout), proc.stdout
    assert stdout[-1].startswith("Book: chapter 3"), stdout[-2:]  # the summary ends with it
    assert list(scratch.iterdir()) == [], "temporary files left behind"
    assert all(p.is_relative_to(out) for p in out.rglob("*"))  # and everything under --out
