"""Bad flags exit non-zero with one clear line and no traceback; --help works for every example."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dmlp.example import cli
from dmlp.example.settings import CommonSettings
from tests.conftest import assert_one_line_error, run_module

BATCHING = "chapters.ch02_data_ingestion.batching"
SHARDING = "chapters.ch02_data_ingestion.sharding"
CACHING = "chapters.ch02_data_ingestion.caching"


@pytest.mark.parametrize("module", [BATCHING, SHARDING, CACHING, "chapters.bench"])
def test_help(module):
    proc = run_module(module, "--help", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:") and "--verbose" in proc.stdout


@pytest.mark.parametrize(
    "module, args, needle",
    [
        (BATCHING, ["--batch-sizes", "-1"], "--batch-sizes must be at least 1"),
        (BATCHING, ["--batch-sizes", "32,abc"], "expected a whole number"),
        (BATCHING, ["--model-type", "resnet"], "invalid choice: 'resnet'"),
        (BATCHING, ["--dataset", "mnist"], "invalid choice: 'mnist'"),
        (BATCHING, ["--batch-size", "32"], "unrecognized arguments: --batch-size"),
        (SHARDING, ["--num-workers", "0"], "must be at least 1"),
        (SHARDING, ["--num-worker", "2"], "unrecognized arguments: --num-worker"),
        (SHARDING, ["--num-workers", "2", "--worker-index", "2"], "--worker-index must be below"),
        (SHARDING, ["--worker-index", "-1"], "--worker-index must be at least 0"),
        (CACHING, ["--modes", "memory,ram"], "--modes must name distinct pipelines"),
        (CACHING, ["--num-epochs", "1.5"], "expected a whole number"),
        (CACHING, ["--num-epochs", "1"], "--num-epochs must be at least 2"),
    ],
)
def test_bad_flags_are_one_line_errors(module, args, needle):
    assert_one_line_error(run_module(module, *args, timeout=60), needle)


def test_unwritable_out_is_a_one_line_error(tmp_path):
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    proc = run_module(SHARDING, "--out", str(a_file / "sub"), timeout=60)
    assert_one_line_error(proc, "is not a writable directory")


@dataclasses.dataclass(frozen=True)
class Demo(CommonSettings):
    pass


def test_unexpected_errors_become_one_line(capsys, tmp_path):
    def boom(settings):
        raise RuntimeError("disk on fire\nsecond line")

    code = cli.run(boom, Demo, argv=["--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == [
        f"{Demo.parser().prog}: error: RuntimeError: disk on fire "
        "(run with --verbose for the traceback)"
    ]


def test_table_aligns_numbers():
    text = cli.table([("a", 1, 2.5), ("bb", 1000, 0.125)], ["name", "n", "x"])
    lines = text.splitlines()
    assert lines[0].split() == ["name", "n", "x"]
    assert lines[2].endswith("2.5") and lines[3].endswith("0.125") and "1,000" in lines[3]


def test_an_example_that_writes_nothing_leaves_no_out_folder(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class Quiet(CommonSettings):
        pass

    out = tmp_path / "new" / "out"
    assert cli.run(lambda s: None, Quiet, ["--out", str(out)]) == 0
    assert not (tmp_path / "new").exists()

    def writes(settings):
        Path(settings.out, "result.txt").write_text("kept")

    assert cli.run(writes, Quiet, ["--out", str(out)]) == 0
    assert (out / "result.txt").read_text() == "kept"
