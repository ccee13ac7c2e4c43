"""End to end on a kind cluster: the chapter manifests run the same modules as on a laptop.

Run after ``make kind-up deploy`` with ``make test-kind``. Skipped (with the reason) when docker,
kind or kubectl is missing, the Docker engine is not running, or the cluster does not exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.kind
CLUSTER = os.environ.get("CLUSTER_NAME", "dmlp")
NAMESPACE = os.environ.get("NAMESPACE", "dmlp")
TIMEOUT = float(os.environ.get("KIND_TEST_TIMEOUT", "900"))


def _why_no_cluster() -> str | None:
    missing = [t for t in ("docker", "kind", "kubectl") if shutil.which(t) is None]
    if missing:
        return f"{', '.join(missing)} not installed: the kind suite needs a local cluster"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "the Docker engine is not running"
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True)
    if CLUSTER not in clusters.stdout.split():
        return f"no kind cluster named {CLUSTER!r}: run `make kind-up deploy` first"
    return None


@pytest.fixture(scope="module")
def api():
    reason = _why_no_cluster()
    if reason:
        pytest.skip(reason)
    from kubernetes import client, config

    config.load_kube_config(context=f"kind-{CLUSTER}")
    return client


def wait_for_condition(api, plural: str, name: str, wanted: str = "Succeeded") -> dict:
    custom = api.CustomObjectsApi()
    deadline = time.monotonic() + TIMEOUT
    while True:
        job = custom.get_namespaced_custom_object("kubeflow.org", "v1", NAMESPACE, plural, name)
        conditions = {c["type"]: c["status"] for c in job.get("status", {}).get("conditions", [])}
        if conditions.get(wanted) == "True":
            return job
        if conditions.get("Failed") == "True":
            pytest.fail(f"{plural}/{name} failed: {job['status']}")
        if time.monotonic() > deadline:
            pytest.fail(f"{plural}/{name} not {wanted} after {TIMEOUT:.0f}s: {job.get('status')}")
        time.sleep(5)


def job_logs(api, job: str) -> str:
    core = api.CoreV1Api()
    pods = core.list_namespaced_pod(
        NAMESPACE, label_selector=f"training.kubeflow.org/job-name={job}"
    )
    return "\n".join(core.read_namespaced_pod_log(p.metadata.name, NAMESPACE) for p in pods.items)


def test_all_reduce_tfjob_trains_on_two_workers(api):
    wait_for_condition(api, "tfjobs", "collective-communication")
    logs = job_logs(api, "collective-communication")
    assert logs.count("EPOCH_END 1") == 2  # both workers finished the last epoch


def test_parameter_server_tfjob_finishes_on_the_chief(api):
    wait_for_condition(api, "tfjobs", "parameter-server")
    assert "EPOCH_END 2" in job_logs(api, "parameter-server")


def test_fault_tolerance_tfjob_resumes_after_a_pod_is_killed(api):
    core = api.CoreV1Api()
    pod = "fault-tolerance-worker-1"
    deadline = time.monotonic() + TIMEOUT
    while "EPOCH_END 3" not in job_logs(api, "fault-tolerance"):
        assert time.monotonic() < deadline, "fault-tolerance job never reached epoch 3"
        time.sleep(3)
    core.delete_namespaced_pod(pod, NAMESPACE, grace_period_seconds=0)
    wait_for_condition(api, "tfjobs", "fault-tolerance")
    # The logs of each pod's *current* container: a restarted one begins past epoch 0.
    firsts = []
    for name in ("fault-tolerance-worker-0", pod):
        log = core.read_namespaced_pod_log(name, NAMESPACE)
        begins = [int(x.split()[1]) for x in log.splitlines() if x.startswith("EPOCH_BEGIN")]
        firsts.append(begins[0] if begins else None)
    assert any(first and first > 0 for first in firsts), firsts
    assert "EPOCH_END 19" in job_logs(api, "fault-tolerance")


def run_client(name: str, url: str) -> str:
    """The chapter 4 client in a one-off pod inside the cluster; returns its output."""
    proc = subprocess.run(
        [
            "kubectl",
            "-n",
            NAMESPACE,
            "run",
            f"test-client-{name}",
            "--rm",
            "-i",
            "--quiet",
            "--restart=Never",
            "--image=dmlp:dev",
            "--image-pull-policy=IfNotPresent",
            "--command",
            "--",
            "python",
            "-m",
            "chapters.ch04_model_serving.client",
            "--url",
            url,
            "--dataset",
            "synthetic",
            "--num-examples",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def wait_rollout(kind: str, name: str) -> None:
    proc = subprocess.run(
        [
            "kubectl",
            "-n",
            NAMESPACE,
            "rollout",
            "status",
            f"{kind}/{name}",
            f"--timeout={int(TIMEOUT)}s",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_replicated_service_answers_through_the_service(api):
    wait_rollout("deployment", "fashion-mnist")
    assert "accuracy" in run_client("replicated", "http://fashion-mnist")


def test_router_answers_like_a_server(api):
    wait_rollout("statefulset", "fashion-mnist-shard")
    wait_rollout("deployment", "fashion-mnist-router")
    assert "accuracy" in run_client("router", "http://fashion-mnist-router")
