"""ch03 fault tolerance: a SIGKILLed worker; the all-reduce job resumes, the PS job carries on."""

from __future__ import annotations

import pytest

from chapters.ch03_distributed_training import fault_tolerance as ft
from chapters.common.cli import UsageError
from tests.conftest import assert_one_line_error, run_module

pytestmark = pytest.mark.slow
NUM_EPOCHS = 5


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("ft")
    return ft.main(
        part="both",
        num_workers=2,
        num_epochs=NUM_EPOCHS,
        kill_at_epoch=2,
        steps_per_epoch=8,
        batch_size=16,
        compare=False,
        dataset="synthetic",
        num_examples=600,
        out=str(out),
        timeout=240,
    )


def test_all_reduce_job_fails_then_resumes_from_the_backup(results):
    first, last = results["collective"]["attempts"][0], results["collective"]["attempts"][-1]
    assert first["exit_codes"]["worker-1"] == -9  # SIGKILL
    assert first["exit_codes"]["worker-0"] != 0  # the survivor cannot finish a synchronous job
    done = first["killed"]
    assert done is not None and done >= 2  # killed once epoch 2 had begun
    assert first["epochs_ended"] == list(range(done))
    # The restart begins exactly where the backup left off: no finished epoch is lost or redone.
    assert last["first_epoch"] == results["collective"]["resumed_at_epoch"] == done > 0
    assert last["epochs_ended"] == list(range(done, NUM_EPOCHS))
    assert all(code == 0 for code in last["exit_codes"].values())
    assert results["collective"]["identical_after_resume"]
    assert not results["collective"]["backup_left"]  # a finished run deletes its backup


def test_parameter_server_job_survives_a_lost_worker(results):
    p = results["ps"]
    assert p["killed"] is not None and p["tasks_lost"] == ["worker-1"]
    assert p["epochs_completed"] == NUM_EPOCHS


def test_kill_epoch_must_be_inside_the_run(tmp_path):
    with pytest.raises(UsageError, match="--kill-at-epoch"):
        ft.main(num_epochs=3, kill_at_epoch=3, out=str(tmp_path))


@pytest.mark.parametrize(
    "module, args, needle",
    [
        (
            "chapters.ch03_distributed_training.fault_tolerance",
            ["--num-epochs", "4", "--kill-at-epoch", "4"],
            "--kill-at-epoch must be below",
        ),
        (
            "chapters.ch03_distributed_training.fault_tolerance",
            ["--num-workers", "1"],
            "at least 2",
        ),
        (
            "chapters.ch03_distributed_training.collective_communication",
            ["--num-workers", "0"],
            "must be at least 1",
        ),
        (
            "chapters.ch03_distributed_training.parameter_server",
            ["--num-ps", "-2"],
            "must be at least 1",
        ),
        (
            "chapters.ch03_distributed_training.parameter_server",
            ["--num-workers", "two"],
            "expected a whole number",
        ),
    ],
)
def test_bad_flags(module, args, needle):
    assert_one_line_error(run_module(module, *args, timeout=60), needle)
