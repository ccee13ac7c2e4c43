"""Section 8.2: the Pod example against a fake CoreV1Api (the kind suite runs it for real)."""

import subprocess
import sys

import pytest
from kubernetes.client import V1Pod, V1PodStatus

from chapters.ch08_basics import kubernetes_basics
from dmlp.kube import validate
from tests.conftest import ROOT


class FakeCore:
    """Answers a scripted sequence of Pod phases; the log is what the container printed."""

    def __init__(self, phases, log="hello world"):
        self.phases, self.log, self.calls = list(phases), log, []

    def create_namespaced_pod(self, namespace, body):
        self.calls.append(("create", namespace, body["metadata"]["name"]))
        self.body = body

    def read_namespaced_pod(self, name, namespace):
        phase = self.phases.pop(0) if len(self.phases) > 1 else self.phases[0]
        return V1Pod(status=V1PodStatus(phase=phase))

    def read_namespaced_pod_log(self, name, namespace):
        self.calls.append(("logs", namespace, name))
        return self.log + "\n"

    def delete_namespaced_pod(self, name, namespace, grace_period_seconds):
        self.calls.append(("delete", namespace, name))


def test_the_pod_runs_to_succeeded_and_its_log_is_read_back(monkeypatch):
    monkeypatch.setattr(kubernetes_basics.time, "sleep", lambda _: None)
    core = FakeCore(["Pending", "Pending", "Running", "Succeeded"])
    result = kubernetes_basics.main(kubernetes_basics.Settings(), core)
    assert result.phases == ["Pending", "Running", "Succeeded"] and result.log == "hello world"
    assert result.claim.held
    assert [c[0] for c in core.calls] == ["create", "logs", "delete"]
    container = core.body["spec"]["containers"][0]
    assert container["image"] == "dmlp:dev" and core.body["spec"]["restartPolicy"] == "Never"


def test_a_failed_pod_makes_the_claim_fail_and_is_still_deleted(monkeypatch):
    monkeypatch.setattr(kubernetes_basics.time, "sleep", lambda _: None)
    core = FakeCore(["Pending", "Failed"], log="Traceback ...")
    result = kubernetes_basics.main(kubernetes_basics.Settings(), core)
    assert not result.claim.held and core.calls[-1][0] == "delete"


def test_a_pod_that_never_ends_times_out_and_is_deleted(monkeypatch):
    monkeypatch.setattr(kubernetes_basics.time, "sleep", lambda _: None)
    core = FakeCore(["Pending"])
    with pytest.raises(TimeoutError, match="still Pending after"):
        kubernetes_basics.run_pod(core, "dmlp", kubernetes_basics.hello_pod("p", "x"), 0.001)
    assert core.calls[-1] == ("delete", "dmlp", "p")


def test_the_manifest_is_a_valid_pod():

    pod = kubernetes_basics.hello_pod("hello-1", "hi")
    pod["metadata"]["namespace"] = "dmlp"
    assert validate.check_object(pod, validate.KUBERNETES_VERSION, validate.load_schemas()) == []


def test_without_a_cluster_it_stops_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "chapters.ch08_basics.kubernetes_basics"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")},
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no Kubernetes cluster configured" in proc.stderr
