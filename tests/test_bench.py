"""The bench harness: discovers chapter cases, prints a table, writes JSON (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chapters import bench
from dmlp.example.errors import UsageError


def test_bench_runs_registered_case_and_writes_json(tmp_path, capsys):
    report = bench.main(bench.Settings(only=("ch02.caching",), quick=True, out=str(tmp_path)))
    case = report["cases"]["ch02.caching"]
    assert set(case) >= {"config", "figures", "ratios", "seconds"}
    assert "epoch-2 time, no cache / memory cache" in case["ratios"]
    saved = json.loads(Path(tmp_path, "latest.json").read_text())
    assert saved["machine"]["cpu_count"] >= 1 and "ch02.caching" in saved["cases"]
    printed = capsys.readouterr().out
    assert "ratio: epoch-2 time" in printed
    assert "case 1/1 ch02.caching (quick): started" in printed
    assert "case 1/1 ch02.caching: finished in" in printed


def test_unknown_case_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no bench case matches"):
        bench.main(bench.Settings(only=("ch99",), quick=True, out=str(tmp_path)))


def test_progress_only_passes_progress_lines_and_drops_summaries(capsys):
    from dmlp.example import cli
    from dmlp.example.bench import progress_only

    with progress_only():
        cli.Progress("example")("step 1 of 2")
        print("task  seconds\n----  -------")
        print("Claim: something held", end="")
        print(" across a split write")
        print("Wrote: /tmp/tmpabc/out.png")
        cli.Progress("example")("step 2 of 2")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[example") and lines[0].endswith("] step 1 of 2")
    assert lines[1].endswith("] step 2 of 2")
