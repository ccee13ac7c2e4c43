"""ch03 parameter server: 2 ps + 2 workers + coordinator; sharded variable; loss goes down."""

from __future__ import annotations

import pytest

from chapters.ch03_distributed_training import parameter_server as ps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("ps")
    return ps.main(
        num_ps=2,
        num_workers=2,
        num_epochs=3,
        steps_per_epoch=15,
        batch_size=32,
        dataset="synthetic",
        num_examples=1000,
        out=str(out),
        timeout=240,
    )


def test_large_variable_has_a_shard_on_each_ps(report):
    shards = [p for p in report["placement"] if p["shard"] != "-"]
    assert {p["variable"] for p in shards} == {"dense/kernel"}
    assert sorted(p["shard"] for p in shards) == ["1/2", "2/2"]
    assert {p["device"].split("/device")[0] for p in shards} == {
        "/job:ps/replica:0/task:0",
        "/job:ps/replica:0/task:1",
    }
    assert sum(p["shape"][0] for p in shards) == 13 * 13 * 32  # the halves make the whole kernel


def test_every_variable_lives_on_a_ps_task(report):
    assert all("/job:ps/" in p["device"] for p in report["placement"])


def test_loss_goes_down(report):
    assert len(report["losses"]) == 3
    assert report["losses"][-1] < report["losses"][0]


def test_workers_read_the_updated_variables_from_the_ps(report):
    before = {tuple(v) for v in report["probes_before"]}
    after = {tuple(v) for v in report["probes_after"]}
    assert len(before) == 1 and next(iter(before))[0] == 0  # one value, before any step
    assert after == {tuple(report["coordinator_view"])}  # every probe saw the same, updated copy
    assert report["coordinator_view"][0] == 3 * 15  # all workers' steps landed in one counter
    assert report["tasks_lost"] == []
