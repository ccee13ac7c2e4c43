"""End to end on a kind cluster: the chapter manifests run the same modules as on a laptop.

Run after ``make kind-up deploy smoke`` with ``make test-kind`` (the order the README and CI use).
Skipped (with the reason) when docker, kind or kubectl is missing, the Docker engine is not
running, or the cluster does not exist.

Every test has one deadline for all its cluster waits (``KIND_TEST_TIMEOUT``, default 900 s), and
its pytest timeout is that plus a margin, so a slow cluster fails with the cluster's state rather
than with pytest's bare timeout.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from dmlp.kube import validate

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("CLUSTER_NAME", "dmlp")
NAMESPACE = os.environ.get("NAMESPACE", "dmlp")
IMAGE = os.environ.get("IMAGE", "dmlp:dev")
TIMEOUT = float(os.environ.get("KIND_TEST_TIMEOUT", "900"))
pytestmark = [pytest.mark.kind, pytest.mark.timeout(int(TIMEOUT) + 180)]

# name, base URL inside the cluster, model name in the URL (TF Serving uses the ISVC's name)
SERVING_PATHS = [
    ("replicated", "http://fashion-mnist", "fashion-mnist"),
    ("router", "http://fashion-mnist-router", "fashion-mnist"),
]
KSERVE_PATHS = [
    ("kserve-tf", "http://fashion-mnist-tf-predictor", "fashion-mnist-tf"),
    ("kserve-custom", "http://fashion-mnist-custom-predictor", "fashion-mnist"),
]


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


class Deadline:
    """One time budget for all the waits of a test."""

    def __init__(self, seconds: float = TIMEOUT):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return max(1.0, self.end - time.monotonic())

    def check(self, what: str, state: object = "") -> None:
        if time.monotonic() > self.end:
            pytest.fail(f"{what} not within {self.seconds:.0f}s: {state}")


def tfjob(api, name: str) -> dict:
    return api.CustomObjectsApi().get_namespaced_custom_object(
        "kubeflow.org", "v1", NAMESPACE, "tfjobs", name
    )


def wait_succeeded(api, name: str, deadline: Deadline) -> dict:
    while True:
        job = tfjob(api, name)
        conditions = {c["type"]: c["status"] for c in job.get("status", {}).get("conditions", [])}
        if conditions.get("Succeeded") == "True":
            return job
        if conditions.get("Failed") == "True":
            pytest.fail(f"tfjob/{name} failed: {job['status']}")
        deadline.check(f"tfjob/{name} Succeeded", job.get("status"))
        time.sleep(5)


def pod_log(api, pod: str) -> str:
    from kubernetes.client.exceptions import ApiException

    try:
        return api.CoreV1Api().read_namespaced_pod_log(pod, NAMESPACE)
    except ApiException as err:
        if err.status in (400, 404):  # not started yet, or being recreated
            return ""
        raise


def job_logs(api, job: str) -> str:
    pods = api.CoreV1Api().list_namespaced_pod(
        NAMESPACE, label_selector=f"training.kubeflow.org/job-name={job}"
    )
    return "\n".join(pod_log(api, p.metadata.name) for p in pods.items)


def kubectl(*args: str, deadline: Deadline) -> str:
    proc = subprocess.run(
        ["kubectl", "--context", f"kind-{CLUSTER}", "-n", NAMESPACE, *args],
        capture_output=True,
        text=True,
        timeout=deadline.left() + 30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# ----------------------------------------------------------------------------- chapter 3


def test_all_reduce_tfjob_trains_on_two_workers(api):
    wait_succeeded(api, "collective-communication", Deadline())
    logs = job_logs(api, "collective-communication")
    assert logs.count("EPOCH_END 1") == 2  # both workers finished the last epoch


def test_parameter_server_tfjob_finishes_on_the_chief(api):
    wait_succeeded(api, "parameter-server", Deadline())
    assert "EPOCH_END 2" in job_logs(api, "parameter-server")


def fault_tolerance_job(name: str, epochs: int) -> dict:
    """The chapter's fault-tolerance TFJob, renamed, with its own backup and output paths."""
    doc = yaml.safe_load((ROOT / "manifests/ch03/fault-tolerance.yaml").read_text())
    doc["metadata"]["name"] = name
    container = doc["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    container["image"] = IMAGE
    container["args"] = [
        "--dataset=synthetic",
        f"--num-epochs={epochs}",
        "--steps-per-epoch=20",
        f"--backup-dir=/data/e2e/{name}/backup",
        f"--out=/data/e2e/{name}",
    ]
    return doc


def test_fault_tolerance_tfjob_resumes_after_a_pod_is_killed(api):
    """A fresh job (a finished one's pods are never recreated): kill worker 1 mid-training."""
    name = f"ft-e2e-{uuid.uuid4().hex[:6]}"
    epochs = 40
    custom, core = api.CustomObjectsApi(), api.CoreV1Api()
    custom.create_namespaced_custom_object(
        "kubeflow.org", "v1", NAMESPACE, "tfjobs", fault_tolerance_job(name, epochs)
    )
    deadline = Deadline()
    victim = f"{name}-worker-1"
    try:
        while "EPOCH_END 3" not in pod_log(api, victim):
            deadline.check(f"{victim} reaching epoch 3", tfjob(api, name).get("status"))
            time.sleep(2)
        core.delete_namespaced_pod(victim, NAMESPACE, grace_period_seconds=0)
        wait_succeeded(api, name, deadline)
        # The logs of each pod's *current* container: a restarted one begins past epoch 0.
        firsts = []
        for pod in (f"{name}-worker-0", victim):
            log = pod_log(api, pod)
            begins = [int(x.split()[1]) for x in log.splitlines() if x.startswith("EPOCH_BEGIN")]
            firsts.append(begins[0] if begins else None)
        assert any(first and first > 0 for first in firsts), firsts
        assert f"EPOCH_END {epochs - 1}" in job_logs(api, name)
    finally:
        custom.delete_namespaced_custom_object("kubeflow.org", "v1", NAMESPACE, "tfjobs", name)


# ----------------------------------------------------------------------------- chapter 4


def has_kserve() -> bool:
    proc = subprocess.run(
        [
            "kubectl",
            "--context",
            f"kind-{CLUSTER}",
            "get",
            "crd",
            "inferenceservices.serving.kserve.io",
        ],
        capture_output=True,
    )
    return proc.returncode == 0


def classes_from(name: str, url: str, model: str, deadline: Deadline) -> list[int]:
    """The chapter 4 client in a one-off pod inside the cluster; the classes it got."""
    out = kubectl(
        "run", f"e2e-client-{name}-{uuid.uuid4().hex[:4]}", "--rm", "-i", "--quiet",
        "--restart=Never", f"--image={IMAGE}", "--image-pull-policy=IfNotPresent",
        f"--pod-running-timeout={int(deadline.left())}s", "--command", "--",
        "python", "-m", "chapters.ch04_model_serving.client", "--url", url,
        "--model-name", model, "--dataset", "synthetic", "--num-examples", "20",
        "--print-classes",
        deadline=deadline,
    )  # fmt: skip
    line = next((x for x in out.splitlines() if x.startswith("CLASSES ")), None)
    assert line, f"{name}: no CLASSES line in\n{out}"
    return [int(c) for c in line.split()[1].split(",")]


def test_every_serving_path_gives_the_same_classes(api):
    deadline = Deadline()
    for workload in ("deployment/fashion-mnist", "statefulset/fashion-mnist-shard",
                     "deployment/fashion-mnist-router"):  # fmt: skip
        kubectl("rollout", "status", workload, f"--timeout={int(deadline.left())}s",
                deadline=deadline)  # fmt: skip
    paths = list(SERVING_PATHS)
    if has_kserve():
        for isvc in ("fashion-mnist-tf", "fashion-mnist-custom"):
            kubectl("wait", "--for=condition=Ready", f"inferenceservice/{isvc}",
                    f"--timeout={int(deadline.left())}s", deadline=deadline)  # fmt: skip
        paths += KSERVE_PATHS
    answers = {name: classes_from(name, url, model, deadline) for name, url, model in paths}
    first = answers[paths[0][0]]
    assert len(first) == 20
    assert all(classes == first for classes in answers.values()), answers


def test_hpa_reports_a_cpu_figure_from_metrics_server(api):
    deadline = Deadline(min(TIMEOUT, 300))
    autoscaling = api.AutoscalingV2Api()
    while True:
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("fashion-mnist", NAMESPACE)
        metrics = hpa.status.current_metrics or []
        figures = {
            m.resource.name: m.resource.current.average_utilization
            for m in metrics
            if m.resource and m.resource.current.average_utilization is not None
        }
        if figures:
            assert list(figures) == ["cpu"], figures  # it scales on CPU, as replicated.yaml says
            return
        deadline.check("a CPU figure on hpa/fashion-mnist", hpa.status)
        time.sleep(5)


# ----------------------------------------------------------------------------- without a cluster


def test_the_e2e_fault_tolerance_job_is_a_valid_tfjob(tmp_path):
    """Runs everywhere: the job the test creates passes the same checks as the manifests."""

    docs = [fault_tolerance_job("ft-e2e-abc123", 40), *yaml.safe_load_all(
        (ROOT / "manifests/base/pvc.yaml").read_text())]  # fmt: skip
    (tmp_path / "job.yaml").write_text(yaml.safe_dump_all(docs))
    assert validate.validate_path(tmp_path / "job.yaml") == []
    container = docs[0]["spec"]["tfReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    module = importlib.import_module(container["command"][2])
    module.Settings.parser().parse_args(container["args"])  # exits 2 on a flag it does not know


def test_pytest_timeout_exceeds_every_cluster_wait():
    marks = {m.name: m for m in pytestmark}
    assert marks["timeout"].args[0] > TIMEOUT  # each test's waits share one TIMEOUT deadline
