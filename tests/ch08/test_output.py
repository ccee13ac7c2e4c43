"""What a reader of chapter 8 sees: only the examples' own lines, no temporary files left.

The same rules as ``tests/test_output.py`` (its ``NOISE`` pattern), for the chapter 8 examples
that run on a laptop, as a reader runs them (a subprocess, offline).
"""

import pytest

from tests.conftest import run_module
from tests.test_output import NOISE, OUR_WARNING

CH08 = "chapters.ch08_basics."
EXAMPLES = {
    CH08 + "argo_basics": ["--seconds", "0.1"],
    CH08 + "tensorflow_basics": ["--num-examples", "64", "--test-examples", "64",
                                 "--train-steps", "2"],
    CH08 + "kubeflow_tfjob": ["--train-steps", "2"],
}  # fmt: skip


@pytest.mark.parametrize("module", EXAMPLES)
def test_a_chapter_8_example_prints_only_its_own_lines(module, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = run_module(module, *EXAMPLES[module], "--out", str(tmp_path / "out"), timeout=300,
                      env={"TMPDIR": str(scratch)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = (proc.stdout + proc.stderr).splitlines()
    noise = [line for line in lines if NOISE.search(line) and not line.startswith(OUR_WARNING)]
    assert noise == [], "\n".join(noise)
    assert sum(line.startswith(OUR_WARNING) for line in lines) <= 1  # the data fallback, once
    assert any(line.startswith("Claim:") for line in proc.stdout.splitlines()), proc.stdout
    assert proc.stdout.rstrip().splitlines()[-2].startswith("Book: chapter 8")
    assert list(scratch.iterdir()) == [], "temporary files left behind"
