"""ch03 parameter server: 2 ps + 2 workers + coordinator; sharded variable; one shared copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chapters.ch03_distributed_training import parameter_server as ps

pytestmark = pytest.mark.slow
EPOCHS, STEPS = 3, 15


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("ps")


@pytest.fixture(scope="module")
def result(out):
    settings = ps.Settings(
        num_ps=2,
        num_workers=2,
        num_epochs=EPOCHS,
        steps_per_epoch=STEPS,
        batch_size=32,
        dataset="synthetic",
        num_examples=1000,
        out=str(out),
        timeout=300,
    )
    return ps.main(settings)


def test_large_variable_has_a_shard_on_each_ps(result):
    shards = [p for p in result.placement if p["shard"] != "-"]
    assert {p["variable"] for p in shards} == {"conv2d_2/kernel", "dense/kernel"}
    assert sorted(p["shard"] for p in shards) == ["1/2", "1/2", "2/2", "2/2"]
    assert {p["device"].split("/device")[0] for p in shards} == {
        "/job:ps/replica:0/task:0",
        "/job:ps/replica:0/task:1",
    }
    dense = [p for p in shards if p["variable"] == "dense/kernel"]
    assert sum(p["shape"][0] for p in dense) == 3 * 3 * 64  # the halves make the whole kernel


def test_every_variable_lives_on_a_ps_task(result):
    assert all("/job:ps/" in p["device"] for p in result.placement)


def test_every_worker_sees_the_updates_of_all_workers(result):
    assert len(set(result.probes_before)) == 1 and result.probes_before[0][0] == 0
    assert result.workers_agree  # every probe on every worker read the coordinator's values
    assert set(result.probes_after) == {result.coordinator_view}
    assert result.steps_applied == EPOCHS * STEPS  # all workers' steps landed in one counter
    assert result.tasks_lost == []


def test_loss_goes_down_and_the_export_exists(result):
    assert len(result.losses) == EPOCHS and result.losses[-1] < result.losses[0]
    assert Path(result.plot).is_file()
    assert (Path(result.plot).parent / "saved_model" / "1" / "saved_model.pb").is_file()


def test_the_claims_figures_are_what_the_test_measures_itself(result, out):
    assert result.claim.held
    assert result.claim.figures["steps_applied"] == EPOCHS * STEPS  # the job's own size
    # Only the dense layer's 5408x64 kernel is over the partitioner's 256 KiB shard size.
    assert result.claim.figures["sharded"] == "dense/kernel"
    chief = json.loads(Path(out, "reports", "chief-0.json").read_text())  # the coordinator's file
    assert result.claim.figures["final_loss"] == round(chief["losses"][-1], 4)
    assert len(chief["losses"]) == EPOCHS
