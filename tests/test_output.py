"""What a reader sees: each example prints only its own lines, ends in the one order, and leaves
no temporary files.

Each example runs as a reader would run it (a subprocess, default ``--dataset auto``, offline), with
tiny flags. Any line that looks like a library talking (absl, TensorFlow's C++ log prefixes, CUDA
probing, deprecation warnings, KServe or uvicorn logs, a traceback) fails the test, and so does
anything left in the process's temporary folder. The output ends as :func:`report.finish` writes
it: the claim, the pictures (files under ``--out``), the book section of the example, then what it
wrote. ``EXAMPLES`` is the one table of what each example may print; add an example there to hold
it to the same rules.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chapters import book
from tests.conftest import run_module

# TensorFlow's C++ lines (absl prefixes such as "E0000 00:00:1712..."), CUDA probing, oneDNN
# notices, deprecations, tracebacks, KServe's and uvicorn's loggers.
NOISE = re.compile(
    r"absl|\b[EWIF]\d{4} \d\d:\d\d:\d\d|cuda|cuInit|Deprecat|Traceback|oneDNN|tensorflow/"
    r"|kserve|uvicorn| INFO",
    re.I,
)
OUR_WARNING = "WARNING: real Fashion-MNIST unavailable"
HINT = "(run with --verbose for the traceback)"  # one line naming a task's error, in our words
AFTER_THE_SECTION = ("Wrote: ", "Model served: ")


@dataclass(frozen=True)
class Example:
    """An example's tiny flags (the test adds ``--out``) and what its output may or must hold."""

    args: tuple[str, ...]
    warns: int = 1  # times it says the dataset fallback: 0 when it reads no data or synthetic
    holds: bool = False  # its claim holds even with these flags
    writes: tuple[str, ...] | None = None  # exactly the files it leaves under --out, when known
    allowed: tuple[str, ...] = ()  # its own lines that the noise pattern would catch
    model: bool = False  # serves the small chapter 4 model (``--model-dir``, the model_dir fixture)


M = book.MODULES  # section number -> the module that shows it (batching is M["2.3"])
TINY_CH03 = ("--num-examples", "300", "--steps-per-epoch", "3", "--batch-size", "16")

EXAMPLES = {
    M["2.3"]: Example(("--num-examples", "800", "--batch-sizes", "32,64", "--repeats", "1",
                       "--train-steps", "2")),
    M["2.4"]: Example(("--num-examples", "60", "--num-workers", "2", "--num-files", "2")),
    M["2.5"]: Example(("--num-examples", "64", "--num-epochs", "2", "--preprocess-cost", "1")),
    M["3.2"]: Example((*TINY_CH03, "--num-epochs", "1"), holds=True),
    M["3.3"]: Example((*TINY_CH03, "--num-epochs", "1"), holds=True),
    # The killed job's survivor ends with a one-line error and the hint.
    M["3.4"]: Example((*TINY_CH03, "--num-epochs", "3", "--kill-at-epoch", "1", "--no-compare"),
                      holds=True, allowed=(HINT,)),
    book.MORE["3.4"][0]: Example((*TINY_CH03, "--num-epochs", "2", "--stop-at-epoch", "1",
                                  "--leave-at-round", "2", "--return-at-round", "2",
                                  "--rounds-back", "2")),
    M["4.2"]: Example(("--num-requests", "40", "--concurrency", "4", "--batch-size", "4",
                       "--dataset", "synthetic"),
                      warns=0, writes=("ch04_replicated_latency.png",), model=True),
    M["4.3"]: Example(("--num-shards", "2", "--request-size", "40", "--max-instances", "16",
                       "--dataset", "synthetic"),
                      warns=0, holds=True, writes=(), model=True),
    M["4.4"]: Example(("--duration", "2", "--spike-start", "0.5", "--spike-end", "1", "--tail",
                       "0.5", "--images-per-event", "0", "--io-ms", "20"),
                      warns=0, writes=("ch04_event_driven.png",)),
    M["5.2"]: Example(("--num-examples", "64", "--train-steps", "2", "--batch-size", "16")),
    M["5.3"]: Example(("--unit-seconds", "0.05"), warns=0),
    M["5.4"]: Example(("--num-examples", "64", "--ingest-cost", "1")),
    M["6.2"]: Example(("--num-jobs", "60"), warns=0),
    M["6.3"]: Example(("--dataset", "auto", "--num-examples", "256", "--train-steps", "8",
                       "--batch-size", "16", "--checkpoint-every", "3", "--fail-at-step", "5")),
    M["8.1"]: Example(("--num-examples", "64", "--test-examples", "64", "--train-steps", "2")),
    M["8.3"]: Example(("--train-steps", "2"), warns=0),  # its workers read synthetic data
    M["8.4"]: Example(("--seconds", "0.1"), warns=0),
}  # fmt: skip
SLOW = {
    M["3.2"],
    M["3.3"],
    M["3.4"],
    *book.MORE["3.4"],
    M["4.2"],
    M["4.3"],
}  # several processes, or a model to serve


def check_ending(stdout: str, module: str, out: Path, holds: bool) -> None:
    """The closing lines in order: claim, pictures, the example's section, what it wrote."""
    lines = stdout.rstrip().splitlines()
    cited = book.reference(book.section_of(module).number)
    assert lines.count(cited) == 1, lines[-6:]
    at = lines.index(cited)
    assert all(line.startswith(AFTER_THE_SECTION) for line in lines[at + 1 :]), lines[at:]
    pictures = 0
    while lines[at - 1 - pictures].startswith("Picture: "):
        path = Path(lines[at - 1 - pictures].removeprefix("Picture: "))
        assert path.is_file() and path.resolve().is_relative_to(out.resolve()), path
        pictures += 1
    claim = lines[at - 1 - pictures]
    assert claim.startswith("Claim: "), lines[at - 2 - pictures : at + 1]
    assert not holds or not claim.endswith("[this run did NOT show it]"), claim


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in EXAMPLES],
    ids=lambda m: m.removeprefix("chapters."),
)
def test_an_example_prints_only_its_own_lines(module, tmp_path, request):
    example = EXAMPLES[module]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "out"
    model = ("--model-dir", request.getfixturevalue("model_dir")) if example.model else ()
    proc = run_module(module, *example.args, *model, "--out", str(out), timeout=600,
                      env={"TMPDIR": str(scratch)})  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = (proc.stdout + proc.stderr).splitlines()
    ours = (OUR_WARNING, *example.allowed)
    noise = [line for line in lines if NOISE.search(line) and not any(o in line for o in ours)]
    assert noise == [], "\n".join(noise)
    assert sum(line.startswith(OUR_WARNING) for line in lines) == example.warns  # said once
    check_ending(proc.stdout, module, out, example.holds)
    if example.writes is not None:
        files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        assert files == sorted(example.writes), files
    assert list(scratch.iterdir()) == [], "temporary files left behind"


def test_every_example_a_reader_runs_on_a_laptop_is_in_the_table():
    from chapters import tour

    on_tour = {f"chapters.{m}" for m in tour.examples()} - {"chapters.project.demo"}
    assert on_tour <= set(EXAMPLES), on_tour - set(EXAMPLES)


@pytest.mark.skipif(sys.platform != "linux", reason="the CUDA build's start-up lines")
def test_verbose_brings_the_library_logs_back(tmp_path):
    module = M["2.4"]
    proc = run_module(module, *EXAMPLES[module].args, "--out", str(tmp_path), "--verbose",
                      timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert NOISE.search(proc.stderr), proc.stderr
