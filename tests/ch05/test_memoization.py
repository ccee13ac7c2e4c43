"""Section 5.4: a memoized ingestion step is skipped when its inputs repeat."""

import json

from chapters.ch05_workflows.memoization import Settings, main
from tests.conftest import assert_one_line_error, run_module

TINY = dict(dataset="synthetic", num_examples=200, ingest_cost=5)


def test_same_inputs_hit_the_cache_changed_or_expired_ones_miss(out_dir):
    result = main(Settings(**TINY, out=out_dir))
    ingest = [r["ingest"] for r in result.runs]
    assert ingest == ["miss", "hit", "miss", "miss"]
    assert result.claim.held and result.seconds_saved > 0
    first, second = result.runs[0], result.runs[1]
    # the hit did not run the step: the next step read the very file the first run wrote,
    # untouched; a changed seed wrote another one
    assert second["data"] == first["data"]
    assert second["data_written_ns"] == first["data_written_ns"]
    assert result.runs[2]["data"] != first["data"]
    expired = result.runs[3]  # same key, entry too old: the step ran and rewrote the file
    assert (
        expired["data"] == first["data"] and expired["data_written_ns"] > first["data_written_ns"]
    )
    entries = json.loads(open(result.cache_file).read())
    assert len(entries) == 2  # two keys: the original inputs and the changed seed
    assert all(key.startswith("ingest-") for key in entries)


def test_the_cache_survives_into_a_new_process(out_dir):
    args = ["--dataset", "synthetic", "--num-examples", "200", "--ingest-cost", "5"]
    args += ["--out", out_dir, "--keep-cache"]
    first = run_module("chapters.ch05_workflows.memoization", *args)
    second = run_module("chapters.ch05_workflows.memoization", *args)
    assert first.returncode == 0 and second.returncode == 0, second.stderr

    def first_row(proc) -> list[str]:
        return next(line for line in proc.stdout.splitlines() if line.startswith("first run "))

    assert "miss" in first_row(first).split()
    assert "hit" in first_row(second).split()


def test_bad_flags_are_one_line_errors():
    proc = run_module("chapters.ch05_workflows.memoization", "--max-age", "soon")
    assert_one_line_error(proc, "--max-age")
