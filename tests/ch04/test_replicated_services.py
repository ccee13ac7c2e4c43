"""Replicated services: requests spread over every replica; a killed replica loses no request."""

from __future__ import annotations

import pytest

from chapters.ch04_model_serving import replicated_services as rs
from dmlp.example.errors import UsageError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(model_dir, tmp_path_factory):
    settings = rs.Settings(
        num_requests=90,
        concurrency=4,
        batch_size=4,
        model_dir=model_dir,
        dataset="synthetic",
        out=str(tmp_path_factory.mktemp("rs")),
    )
    return rs.main(settings)


def test_one_replica_serves_everything_alone(result):
    run = result.runs["1 replica"]
    assert run.ok == 90 and dict(run.served_by) == {"replica-0": 90}


def test_requests_are_spread_over_all_replicas(result):
    run = result.runs["2 replicas"]
    assert run.ok == 90 and not run.errors
    assert abs(run.served_by["replica-0"] - run.served_by["replica-1"]) <= 2  # round robin


def test_killing_a_replica_loses_no_request(result):
    run = result.runs["killed"]
    assert result.claim_holds and result.lost == 0 and run.ok == 90
    assert run.served_by["replica-0"] > run.served_by["replica-1"]  # the survivor took over


def test_latency_over_time_is_drawn(result):
    assert result.plot.name == "ch04_replicated_latency.png"
    assert result.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(len(run.timeline) == run.ok for run in result.runs.values())


def test_one_replica_cannot_survive_a_kill():
    with pytest.raises(UsageError, match="at least 2"):
        rs.Settings(num_replicas=1)
