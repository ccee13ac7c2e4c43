"""Replicated services: requests spread over every replica; a killed replica loses no request."""

from __future__ import annotations

import pytest

from chapters.ch04_model_serving import replicated_services as rs
from chapters.common.cli import UsageError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(model_dir, tmp_path_factory):
    return rs.main(
        num_replicas=2,
        num_requests=90,
        concurrency=4,
        batch_size=4,
        model_dir=model_dir,
        dataset="synthetic",
        out=str(tmp_path_factory.mktemp("rs")),
    )


def test_one_replica_serves_everything_alone(results):
    run = results["1 replica"]
    assert run.ok == 90 and dict(run.served_by) == {"replica-0": 90}


def test_requests_are_spread_over_all_replicas(results):
    run = results["2 replicas"]
    assert run.ok == 90 and not run.errors
    assert set(run.served_by) == {"replica-0", "replica-1"}
    assert abs(run.served_by["replica-0"] - run.served_by["replica-1"]) <= 2  # round robin


def test_killing_a_replica_loses_no_request(results):
    run = results["killed"]
    assert run.errors == [] and run.ok == 90
    assert run.served_by["replica-0"] > run.served_by["replica-1"]  # the survivor took over


def test_one_replica_cannot_survive_a_kill(tmp_path):
    with pytest.raises(UsageError, match="at least 2"):
        rs.main(num_replicas=1, out=str(tmp_path))
