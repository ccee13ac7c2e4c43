"""ch03 elasticity: a parameter-server worker leaves and rejoins; an all-reduce job changes size.

One small run of both parts (the slow tests) is checked against what it measured; the fast tests
feed the same measuring code the records of programs that are wrong in the ways a claim could
hide (a coordinator that waits for the lost worker, a worker that never rejoins, a restart from
epoch 0, shards that ignore the new worker count) and check that the claim fails for each.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from chapters.ch03_distributed_training import elasticity as el
from chapters.ch03_distributed_training import elasticity_report as er
from dmlp.example.errors import UsageError
from tests.conftest import ROOT

EPOCHS, STOP_AT, EXAMPLES = 3, 1, 600


def small(out: Path, **changes) -> el.Settings:
    values = dict(
        num_workers=2, new_num_workers=3, steps_per_epoch=5, batch_size=16, dataset="synthetic",
        num_examples=EXAMPLES, leave_at_round=2, return_at_round=2, rounds_back=3,
        num_epochs=EPOCHS, stop_at_epoch=STOP_AT, out=str(out), timeout=240,
    )  # fmt: skip
    return el.Settings(**{**values, **changes})


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("elasticity")


@pytest.fixture(scope="module")
def result(out):
    return el.main(small(out))


# ----------------------------------------------------------------------------- the real run


@pytest.mark.slow
def test_ps_training_goes_on_while_a_worker_is_away_and_it_rejoins(result):
    ps = result.ps
    before, away, back = ps.phases
    assert [p.workers for p in ps.phases] == [2, 1, 2]
    assert before.steps_by_worker[1] > 0  # both worked before the kill
    assert away.steps_by_worker == [away.steps, 0] and away.steps > 0  # worker-0 went on alone
    assert back.steps_by_worker[1] == ps.rejoined_steps > 0  # the coordinator used it again
    assert ps.longest_pause < (away.end - away.start) / 2  # no round waited for its return
    assert sum(sum(r["by_worker"]) for r in ps.rounds) == ps.steps_scheduled
    assert ps.optimizer_steps >= ps.steps_scheduled  # every finished step reached the ps
    assert all(p.examples_per_s > 0 for p in ps.phases)
    assert ps.left_at <= ps.restarted_at < back.start


@pytest.mark.slow
def test_all_reduce_resumes_at_the_saved_epoch_on_three_workers(result, out):
    first, second = result.all_reduce
    assert (first.workers, second.workers) == (2, 3)
    assert first.epochs == list(range(STOP_AT))
    assert set(first.exit_codes.values()) == {-9}  # stopped: every worker killed
    assert second.first_epoch == STOP_AT  # where the backup left off, not epoch 0
    assert second.epochs == list(range(STOP_AT, EPOCHS))  # no finished epoch again
    assert all(code == 0 for code in second.exit_codes.values())
    assert not (out / "all_reduce" / "backup" / "chief").exists()  # a finished run deletes it


@pytest.mark.slow
def test_each_run_shards_the_data_over_its_own_workers(result):
    for run in result.all_reduce:
        shards = list(run.shards.values())
        assert len(shards) == run.workers and set(run.shard_counts) == {run.workers}
        assert sorted(i for shard in shards for i in shard) == list(range(EXAMPLES))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1


@pytest.mark.slow
def test_the_printed_claim_is_the_returned_one_and_held(result):
    claim = result.claim
    assert claim.held, claim.text
    assert claim.figures["rejoined_steps"] == result.ps.rejoined_steps
    assert claim.figures["resumed_at"] == STOP_AT
    assert claim.figures["epochs_per_run"] == [STOP_AT, EPOCHS - STOP_AT]
    assert len(claim.figures["examples_per_s"]) == 3


@pytest.mark.slow
def test_the_worker_counts_are_drawn_and_no_task_is_left(result, out):
    assert len(result.pictures) == 2
    assert all(Path(p).is_file() and Path(p).stat().st_size > 1000 for p in result.pictures)
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(out) not in running  # every task the launchers started is gone


# ----------------------------------------------------------------------------- wrong programs


GOOD = [(5, 5)] * 4 + [(10, 0)] * 12 + [(6, 4)] + [(5, 5)] * 3  # 2, then 1, then 2 workers


def measured(tmp_path, by_worker, seconds=None, steps=None) -> er.PsRun:
    """What ``measure_ps`` makes of a coordinator's rounds (0.5 s each unless ``seconds``)."""
    seconds = seconds or [0.5] * len(by_worker)
    ends = [sum(seconds[: i + 1]) for i in range(len(seconds))]
    rounds = [
        {"start": end - length, "end": end, "by_worker": list(w), "loss": 1.0}
        for w, end, length in zip(by_worker, ends, seconds, strict=True)
    ]
    done = sum(map(sum, by_worker))
    chief = {"rounds": rounds, "steps_scheduled": steps or done, "optimizer_steps": done}
    events = {"left": ends[3] + 0.01, "restarted": ends[4]}  # killed once round 3 ended
    return er.measure_ps(small(tmp_path, steps_per_epoch=10), chief, events)


def test_the_ps_claim_holds_for_a_run_that_shows_it(tmp_path):
    ps = measured(tmp_path, GOOD)
    assert er.ps_held(ps)
    assert [p.workers for p in ps.phases] == [2, 1, 2] and ps.rejoined_steps == 19


def test_the_ps_claim_fails_when_the_worker_never_rejoins(tmp_path):
    assert not er.ps_held(measured(tmp_path, [(5, 5)] * 4 + [(10, 0)] * 16))


def test_the_ps_claim_fails_when_training_waits_for_the_lost_worker(tmp_path):
    # The same steps, but the coordinator held one round until the worker came back.
    seconds = [0.5] * 4 + [6.0] + [0.5] * (len(GOOD) - 5)
    assert not er.ps_held(measured(tmp_path, GOOD, seconds=seconds))


def test_the_ps_claim_fails_when_a_scheduled_step_is_lost(tmp_path):
    assert not er.ps_held(measured(tmp_path, GOOD, steps=sum(map(sum, GOOD)) + 1))


def run_record(workers: int, first: int, epochs: list[int], shards: list[list[int]]) -> er.Run:
    return er.Run(
        workers, first, epochs, {"start": 0.0, "training": 1.0, "end": 2.0}, [1.5], 1.0,
        {f"worker-{i}": 0 for i in range(workers)},
        {f"worker-{i}": s for i, s in enumerate(shards)}, [workers] * len(shards), 6,
    )  # fmt: skip


def test_the_all_reduce_claim_fails_for_a_restart_from_scratch_or_stale_shards(tmp_path):
    settings = small(tmp_path, num_epochs=3, stop_at_epoch=1)
    halves, thirds = [[0, 2, 4], [1, 3, 5]], [[0, 3], [1, 4], [2, 5]]
    first = run_record(2, 0, [0], halves)
    assert er.all_reduce_held(settings, [first, run_record(3, 1, [1, 2], thirds)])
    assert not er.all_reduce_held(settings, [first, run_record(3, 0, [0, 1, 2], thirds)])
    stale = run_record(3, 1, [1, 2], [*halves, [0, 2, 4]])  # three workers, two shards' split
    assert not er.all_reduce_held(settings, [first, stale])


# ----------------------------------------------------------------------------- flags, manifests


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"num_workers": 1}, "at least 2"),
        ({"leave_at_round": 5, "return_at_round": 4}, "--leave-at-round"),
        ({"stop_at_epoch": EPOCHS}, "--stop-at-epoch"),
        ({"new_num_workers": 2}, "must differ"),
    ],
)
def test_bad_settings_are_one_clear_error(tmp_path, changes, needle):
    with pytest.raises(UsageError, match=needle):
        small(tmp_path, **changes)


ELASTIC = ROOT / "manifests" / "ch03" / "elasticity"


def tfjob(folder: str) -> dict:
    docs = [yaml.safe_load(p.read_text()) for p in sorted((ELASTIC / folder).glob("*.yaml"))]
    return next(d for d in docs if d["kind"] == "TFJob")


def test_the_all_reduce_tfjob_is_one_job_run_at_two_worker_counts():
    two, three = tfjob("all-reduce-2-workers"), tfjob("all-reduce-3-workers")
    assert two["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] == 2
    assert three["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] == 3
    three["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] = 2
    assert two == three  # same name, same backup folder, same flags: only the count differs
    worker = two["spec"]["tfReplicaSpecs"]["Worker"]
    assert worker["restartPolicy"] == "OnFailure"  # a survivor's exit 1 is restarted too
    assert any(a.startswith("--backup-dir=/data/") for a in worker["template"]["spec"][
        "containers"][0]["args"])  # fmt: skip


def test_the_elastic_parameter_server_tfjob_brings_a_worker_back():
    spec = tfjob("parameter-server")["spec"]
    assert spec["tfReplicaSpecs"]["Worker"]["restartPolicy"] in ("OnFailure", "ExitCode")
    assert spec["tfReplicaSpecs"]["Worker"]["replicas"] == 2
    assert not spec.get("enableDynamicWorker")  # a TF 2 coordinator needs the full cluster spec
