"""ch03 fault tolerance: a SIGKILLed worker; the all-reduce job resumes, the PS job carries on."""

from __future__ import annotations

from pathlib import Path

import pytest

from chapters.ch03_distributed_training import fault_tolerance as ft
from chapters.ch03_distributed_training.fault_tolerance_report import Result
from dmlp.example.errors import UsageError
from tests.conftest import assert_one_line_error, run_module

NUM_EPOCHS, KILL_AT = 4, 2


def run(out: Path, part: str) -> Result:
    # Bit-exact maths (no oneDNN reordering) in every task, so the resumed and the uninterrupted
    # runs can be compared for equality.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
        return ft.main(
            ft.Settings(
                part=part,
                num_workers=2,
                num_epochs=NUM_EPOCHS,
                kill_at_epoch=KILL_AT,
                steps_per_epoch=8,
                batch_size=16,
                dataset="synthetic",
                num_examples=600,
                out=str(out),
                timeout=300,
            )
        )


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run(tmp_path_factory.mktemp("ft"), "collective")


@pytest.fixture(scope="module")
def ps_result(tmp_path_factory):
    return run(tmp_path_factory.mktemp("ft-ps"), "ps")


@pytest.mark.slow
def test_all_reduce_job_fails_then_resumes_where_the_backup_left_off(result):
    c = result.collective
    first, last = c.attempts[0], c.attempts[-1]
    assert first.exit_codes["worker-1"] == -9  # SIGKILL
    assert first.exit_codes["worker-0"] != 0  # the survivor cannot finish a synchronous job
    assert c.killed_after is not None and c.killed_after >= KILL_AT
    assert first.epochs == list(range(c.killed_after))
    # No finished epoch is lost or redone: the restart begins at the first unfinished one.
    assert c.no_progress_lost and c.resumed_at == last.first_epoch == c.killed_after
    assert last.epochs == list(range(c.killed_after, NUM_EPOCHS))
    assert all(code == 0 for code in last.exit_codes.values())
    assert c.identical_after_resume
    assert not c.backup_left  # a finished run deletes its backup


@pytest.mark.slow
def test_resumed_job_ends_exactly_like_an_uninterrupted_one(result):
    c = result.collective
    assert c.uninterrupted_final_loss is not None
    assert c.final_loss == c.uninterrupted_final_loss
    assert len(c.uninterrupted_losses) == NUM_EPOCHS


@pytest.mark.slow
def test_parameter_server_job_survives_a_lost_worker(ps_result):
    p = ps_result.ps
    assert p.killed and p.tasks_lost == ["worker-1"]
    assert p.epochs_completed == NUM_EPOCHS


@pytest.mark.slow
def test_the_kill_is_drawn(result):
    assert Path(result.plot).is_file() and Path(result.plot).stat().st_size > 1000


def test_kill_epoch_must_be_inside_the_run(tmp_path):
    with pytest.raises(UsageError, match="--kill-at-epoch"):
        ft.Settings(num_epochs=3, kill_at_epoch=3, out=str(tmp_path))


@pytest.mark.parametrize(
    "module, args, needle",
    [
        ("fault_tolerance", ["--num-epochs", "4", "--kill-at-epoch", "4"], "must be below"),
        ("fault_tolerance", ["--num-workers", "1"], "at least 2"),
        ("collective_communication", ["--num-workers", "0"], "must be at least 1"),
        ("collective_communication", ["--steps-per-execution", "0"], "must be at least 1"),
        ("parameter_server", ["--num-ps", "-2"], "must be at least 1"),
        ("parameter_server", ["--num-workers", "two"], "expected a whole number"),
        ("parameter_server", ["--num-worker", "2"], "unrecognized arguments"),
    ],
)
def test_bad_flags(module, args, needle):
    proc = run_module(f"chapters.ch03_distributed_training.{module}", *args, timeout=120)
    assert_one_line_error(proc, needle)


@pytest.mark.slow
def test_a_job_out_of_restarts_fails_with_one_line(tmp_path):
    args = ["--part", "collective", "--max-restarts", "0", "--no-compare", "--num-epochs", "3",
            "--kill-at-epoch", "1", "--steps-per-epoch", "3", "--num-examples", "300"]  # fmt: skip
    proc = run_module(
        "chapters.ch03_distributed_training.fault_tolerance", *args, "--out", str(tmp_path),
        timeout=300,
    )  # fmt: skip
    assert_one_line_error(proc, "all-reduce job", "still failing after 0 restart(s)")
    assert "intended effect of the kill" in proc.stdout


@pytest.mark.slow
def test_the_printed_claim_is_the_returned_one_and_held(result, ps_result):
    for outcome in (result, ps_result):
        assert outcome.claim.held, outcome.claim.text
    c = result.collective
    # Where the restart began, against the epochs the killed attempt had finished (its own lines).
    assert result.claim.figures["resumed_at"] == len(c.attempts[0].epochs)
    assert KILL_AT <= result.claim.figures["resumed_at"] < NUM_EPOCHS
    # The final loss, against a separate job that was never interrupted.
    assert result.claim.figures["final_loss"] == c.uninterrupted_losses[-1]
