"""Sharded services: the plan covers every item in order; merged output equals unsharded output."""

from __future__ import annotations

import time

import numpy as np
import pytest
import requests

from chapters.ch04_model_serving import sharded_services as ss
from chapters.ch04_model_serving.client import predict
from chapters.ch04_model_serving.inference import to_instances
from chapters.ch04_model_serving.replicas import ServerReplicas, is_ready
from chapters.common.data import synthetic_split
from dmlp.launch.supervisor import ProcessGroup, free_ports

ROUTER = "chapters.ch04_model_serving.router"


@pytest.mark.parametrize("n", [0, 1, 2, 7, 64, 100, 101, 1000, 1001])
@pytest.mark.parametrize("k, most", [(1, 10), (3, 64), (4, 7), (5, 1000)])
def test_plan_is_contiguous_ordered_bounded_and_covering(n, k, most):
    plan = ss.shard_plan(n, k, most)
    covered = [i for _, a, b in plan for i in range(a, b)]
    assert covered == list(range(n))  # every item exactly once, in order
    assert all(0 < b - a <= most for _, a, b in plan)
    assert all(0 <= shard < k for shard, _, _ in plan)
    if n >= k:
        assert {shard for shard, _, _ in plan} == set(range(k))  # every shard gets work


@pytest.fixture(scope="module")
def result(model_dir, tmp_path_factory):
    settings = ss.Settings(
        num_shards=3,
        request_size=301,
        max_instances=64,
        model_dir=model_dir,
        dataset="synthetic",
        out=str(tmp_path_factory.mktemp("ss")),
    )
    return ss.main(settings)


@pytest.mark.slow
def test_one_shard_refuses_the_big_request(result):
    assert result.refused_status == 413


@pytest.mark.slow
def test_merged_output_equals_unsharded_in_order(result):
    assert result.claim_holds  # the claim
    assert len(result.sharded) == 301  # not divisible by 3 shards nor by 64
    np.testing.assert_allclose(
        [p["probabilities"] for p in result.sharded],
        [p["probabilities"] for p in result.whole],
        atol=1e-5,
    )


def start_router(shard_urls: str, port: int) -> ProcessGroup:
    args = ["--shards", shard_urls, "--shard-max-instances", "32", "--port", str(port)]
    return ProcessGroup(ROUTER, [*args, "--max-instances", "200"], names=["router"], echo=False)


def wait_listening(group: ProcessGroup, url: str, timeout: float = 90) -> int:
    """Wait until the router answers its readiness URL at all; return the status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert group.returncode("router") is None, group.lines("router")
        try:
            return requests.get(url, timeout=2).status_code
        except requests.ConnectionError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@pytest.mark.slow
def test_router_splits_and_merges_like_the_cluster_does(model_dir):
    images = synthetic_split("test", 150).images
    port = free_ports(1, "127.0.0.1")[0]
    with ServerReplicas(2, model_dir, prefix="shard", max_instances=32) as shards:
        shards.wait_ready()
        with start_router(",".join(shards.urls.values()), port) as router:
            base = f"http://127.0.0.1:{port}/v1/models/fashion-mnist"
            assert wait_listening(router, base) == 200 and is_ready(base)
            routed = predict(base + ":predict", images)
            direct = predict(shards.predict_url("shard-0"), images[:32]) + predict(
                shards.predict_url("shard-1"), images[32:64]
            )
            assert [p["class_id"] for p in routed[:64]] == [p["class_id"] for p in direct]
            assert len(routed) == 150
            bad = requests.post(base + ":predict", json={"instances": [[1, 2]]}, timeout=60)
            assert bad.status_code == 400 and "shape" in bad.json()["error"]
            big = requests.post(
                base + ":predict", json={"instances": to_instances(images[:1]) * 201}, timeout=60
            )
            assert big.status_code == 413
            shards.kill("shard-1")
            time.sleep(1.5)  # the router checks its shards at most once a second
            assert not is_ready(base)  # a shard is gone: the router is not ready
            lost = requests.post(base + ":predict", json={"instances": to_instances(images)})
            assert lost.status_code == 503
        own = router.lines("router")  # its own lines only: no KServe/uvicorn logs, no traceback
        assert own and all(line.startswith("[router:") for line in own), own


def test_router_is_not_ready_without_its_shards():
    port, *nobody = free_ports(3, "127.0.0.1")
    with start_router(",".join(f"http://127.0.0.1:{p}" for p in nobody), port) as router:
        base = f"http://127.0.0.1:{port}/v1/models/fashion-mnist"
        assert wait_listening(router, base) == 503
