"""Section 5.3: the asynchronous run does not wait for the slowest member of a group."""

from chapters.ch05_workflows.sync_async import PIPELINE, Settings, levels, main
from tests.conftest import assert_one_line_error, run_module


def test_sync_groups_steps_by_depth():
    assert levels() == [["fetch-a", "fetch-b"], ["train-a", "train-b"], ["pick-best"]]


def test_async_starts_a_step_as_soon_as_its_own_inputs_are_ready(out_dir):
    result = main(Settings(unit_seconds=1.0, out=out_dir))
    # Ordering facts, not speed: in the sync run train-a waited for the slow fetch-b; in the
    # async run it started while fetch-b was still running.
    assert result.sync_waited
    assert result.async_started_early
    assert result.claim.held and "critical path" in result.claim.text
    assert result.ideal_sync_units == 6.5 and result.ideal_async_units == 4.5
    assert result.critical_path[-1] == "pick-best" and len(result.critical_path) == 3
    assert all(step in PIPELINE for step in result.critical_path)
    assert len(result.paths) == 2


def test_bad_flags_are_one_line_errors():
    proc = run_module("chapters.ch05_workflows.sync_async", "--unit-seconds", "0")
    assert_one_line_error(proc, "--unit-seconds")
