"""dmlp.argo.submit against fake Kubernetes APIs: submit, follow, logs on failure."""

import pytest
import yaml
from kubernetes.client import V1ObjectMeta, V1Pod, V1PodList
from kubernetes.client.exceptions import ApiException

from dmlp import argo
from dmlp.argo import records, submit
from dmlp.example.errors import UsageError
from tests.conftest import ROOT

COINFLIP = ROOT / "manifests" / "ch08" / "coinflip.yaml"


def node(id_, name, phase, type_="Pod", started="2026-11-26T03:00:00Z", message=None):
    found = {"id": id_, "displayName": name, "phase": phase, "type": type_, "startedAt": started}
    return {**found, **({"message": message} if message else {})}


def state(phase, *nodes, message=None):
    status = {"phase": phase, "nodes": {n["id"]: n for n in nodes}}
    return {"metadata": {"name": "coinflip", "uid": "u-1"},
            "status": {**status, **({"message": message} if message else {})}}  # fmt: skip


class FakeCustom:
    """CustomObjectsApi: workflows answer a scripted sequence of states; TFJobs are listed."""

    def __init__(self, states, exists=False, tfjobs=()):
        self.states, self.created, self.deleted, self.exists = list(states), [], [], exists
        self.tfjobs = list(tfjobs)
        self.gets = 0

    def create_namespaced_custom_object(self, group, version, namespace, plural, body, **_):
        assert (group, version, plural) == ("argoproj.io", "v1alpha1", "workflows")
        if self.exists:
            raise ApiException(status=409, reason="Conflict")
        self.created.append((namespace, body))
        self.exists = True
        name = body["metadata"].get("name") or body["metadata"]["generateName"] + "x7k2p"
        return {"metadata": {"name": name}}

    def delete_namespaced_custom_object(self, group, version, namespace, plural, name, **_):
        self.deleted.append(name)
        self.exists = False

    def get_namespaced_custom_object(self, group, version, namespace, plural, name, **_):
        if not self.exists:
            raise ApiException(status=404, reason="Not Found")
        self.gets += 1
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]

    def list_namespaced_custom_object(self, group, version, namespace, plural, **_):
        assert (group, plural) == ("kubeflow.org", "tfjobs")
        return {"items": self.tfjobs}


class FakeCore:
    """CoreV1Api: pods by label selector, their logs by (pod, container)."""

    def __init__(self, pods, logs):
        self.pods, self.logs, self.read = pods, logs, []

    def list_namespaced_pod(self, namespace, label_selector, **_):
        key, value = label_selector.split("=")
        return V1PodList(
            items=[p for p in self.pods if (p.metadata.labels or {}).get(key) == value]
        )

    def read_namespaced_pod_log(self, name, namespace, container, tail_lines, **_):
        self.read.append((name, container))
        if (name, container) not in self.logs:
            raise ApiException(status=400, reason="container not found")
        return self.logs[(name, container)]


def pod(name, labels, node_id=None):
    annotations = {"workflows.argoproj.io/node-id": node_id} if node_id else None
    return V1Pod(metadata=V1ObjectMeta(name=name, labels=labels, annotations=annotations))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


RUNNING = node("cf-1", "flip-coin", "Running")
FLIPPED = node("cf-1", "flip-coin", "Succeeded")
HEADS = node("cf-2", "heads", "Succeeded", started="2026-11-26T03:00:05Z")
TAILS = node("cf-3", "tails", "Skipped", "Skipped", started="2026-11-26T03:00:05Z")


def flags(**kw):
    return submit.Flags(file=str(COINFLIP), poll=0.1, **kw)


def test_submits_the_file_and_follows_each_step_to_success(capsys):
    custom = FakeCustom([state("Running"), state("Running", RUNNING),
                         state("Succeeded", FLIPPED, HEADS, TAILS)])  # fmt: skip
    done = submit.main(flags(arguments=("seed=7",)), custom, FakeCore([], {}))
    assert done.succeeded
    namespace, body = custom.created[0]
    assert namespace == "dmlp" and body["metadata"]["name"] == "coinflip"
    assert body["spec"]["arguments"]["parameters"] == [{"name": "seed", "value": "7"}]
    assert (
        yaml.safe_load(COINFLIP.read_text())["spec"]["arguments"]["parameters"][0]["value"] == "42"
    )
    assert [line.split() for line in done.lines] == [
        ["flip-coin", "Running"], ["flip-coin", "Succeeded"],
        ["heads", "Succeeded"], ["tails", "Skipped"],
    ]  # fmt: skip
    out = capsys.readouterr().out
    assert "submitted workflow dmlp/coinflip" in out and "Workflow coinflip: Succeeded" in out


def test_a_failed_step_prints_its_message_and_pod_log_and_raises(capsys):
    failed = node("cf-2", "heads", "Failed", message="Error (exit code 1)")
    custom = FakeCustom([state("Failed", FLIPPED, failed, message="child 'cf-2' failed")])
    pods = [pod("coinflip-echo-123", {"workflows.argoproj.io/workflow": "coinflip"}, "cf-2"),
            pod("other-echo-9", {"workflows.argoproj.io/workflow": "other"}, "cf-2")]  # fmt: skip
    core = FakeCore(pods, {("coinflip-echo-123", "main"): "Traceback ...\nValueError: boom"})
    with pytest.raises(submit.WorkflowFailed, match="coinflip Failed: child 'cf-2' failed"):
        submit.main(flags(), custom, core)
    out = capsys.readouterr().out
    assert "== heads Failed: Error (exit code 1)" in out
    assert "ValueError: boom" in out and core.read == [("coinflip-echo-123", "main")]


def test_the_cluster_and_the_local_runner_share_one_failure_and_one_phase_vocabulary():
    assert submit.WorkflowFailed is argo.WorkflowFailed is records.WorkflowFailed
    assert set(records.WORKFLOW_DONE) < set(records.DONE)  # a workflow is never Skipped
    assert set(records.FAILED) < set(records.WORKFLOW_DONE)


def test_a_failed_tfjob_step_prints_the_logs_of_the_tfjob_it_owns():
    failed = node("wf-1", "train", "Failed", type_="Resource", message="failure condition met")
    wf = state("Failed", failed)
    owned = {"metadata": {"name": "wf-tfjob", "ownerReferences": [{"uid": "u-1"}]}}
    stranger = {"metadata": {"name": "other", "ownerReferences": [{"uid": "u-2"}]}}
    custom = FakeCustom([wf], tfjobs=[owned, stranger])
    pods = [pod("wf-tfjob-worker-0", {"training.kubeflow.org/job-name": "wf-tfjob"}),
            pod("other-worker-0", {"training.kubeflow.org/job-name": "other"})]  # fmt: skip
    core = FakeCore(pods, {("wf-tfjob-worker-0", "tensorflow"): "OOM at step 3"})
    lines = submit.failure_logs(core, custom, "dmlp", wf)
    assert lines[0] == "== train Failed: failure condition met"
    assert "   OOM at step 3" in lines and core.read == [("wf-tfjob-worker-0", "tensorflow")]


def test_a_missing_log_is_a_line_not_a_crash():
    wf = state("Error", node("cf-2", "heads", "Error", message="pod deleted"))
    pods = [pod("gone", {"workflows.argoproj.io/workflow": "coinflip"}, "cf-2")]
    lines = submit.failure_logs(FakeCore(pods, {}), FakeCustom([wf]), "dmlp", wf)
    assert lines == [
        "== heads Error: pod deleted",
        "-- gone: no logs (HTTP 400 container not found)",
    ]


def test_follow_gives_up_at_the_timeout_naming_the_running_steps():
    custom = FakeCustom([state("Running", RUNNING)], exists=True)
    clock = Clock()
    with pytest.raises(submit.FollowTimeout, match="after 10s .*still running: flip-coin"):
        submit.follow(custom, "dmlp", "coinflip", timeout=10, poll=2, log=lambda _: None,
                           clock=clock, sleep=clock.sleep)  # fmt: skip
    assert 5 <= custom.gets <= 7


def test_an_existing_workflow_needs_replace_or_a_fresh_name():
    custom = FakeCustom([state("Succeeded")], exists=True)
    with pytest.raises(UsageError, match="already exists: pass --replace"):
        submit.main(flags(), custom, FakeCore([], {}))
    assert submit.main(flags(replace=True), custom, FakeCore([], {})).succeeded
    assert custom.deleted == ["coinflip"]
    fresh = FakeCustom([state("Succeeded")])
    submit.main(flags(generate_name=True), fresh, FakeCore([], {}))
    meta = fresh.created[0][1]["metadata"]
    assert meta["generateName"] == "coinflip-" and "name" not in meta


def test_bad_input_is_one_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no parameter 'sed'; declared: seed"):
        submit.main(flags(arguments=("sed=1",)), FakeCustom([]), FakeCore([], {}))
    with pytest.raises(UsageError, match="is not a file"):
        submit.Flags(file=str(tmp_path / "missing.yaml"))
    with pytest.raises(UsageError, match="expected name=value"):
        submit.Flags(file=str(COINFLIP), arguments=("seed",))
    (tmp_path / "pod.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
    with pytest.raises(UsageError, match="not an Argo Workflow"):
        submit.main(submit.Flags(file=str(tmp_path / "pod.yaml")), FakeCustom([]), None)


def test_an_unreachable_cluster_is_one_clear_error():
    class Down(FakeCustom):
        def create_namespaced_custom_object(self, *args, **kwargs):
            raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(UsageError, match="cannot reach the Kubernetes API"):
        submit.main(flags(), Down([]), FakeCore([], {}))
