"""ch06 manifests: they parse, name only fields that exist at the pinned versions (a light check;
`make validate` checks them fully against the CRD schemas), and agree with the simulation."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from chapters.ch06_operations import metadata as md
from chapters.ch06_operations import scheduling as sch
from dmlp.kube.validate import KUBERNETES_VERSION

ROOT = Path(__file__).resolve().parents[2]
CH06 = ROOT / "manifests" / "ch06"
# spec fields of scheduling.volcano.sh/v1beta1 Queue in volcano-sh/volcano v1.15.1
# (installer/helm/chart/volcano/crd/bases/scheduling.volcano.sh_queues.yaml)
QUEUE_SPEC = {
    "affinity", "capability", "dequeueStrategy", "deserved", "extendClusters", "guarantee",
    "parent", "priority", "reclaimable", "type", "weight",
}  # fmt: skip


# TFJob runPolicy.schedulingPolicy in kubeflow/trainer v1.9.4
# (pkg/apis/kubeflow.org/v1/common_types.go, type SchedulingPolicy)
SCHEDULING_POLICY = {
    "minAvailable", "queue", "minResources", "priorityClass", "scheduleTimeoutSeconds",
}  # fmt: skip


def docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((CH06 / name).read_text()) if d]


def by_kind(kind: str) -> list[dict]:
    return [
        d for p in sorted(CH06.rglob("*.yaml")) if p.name != "kustomization.yaml"
        for d in yaml.safe_load_all(p.read_text()) if d and d["kind"] == kind
    ]  # fmt: skip


def test_one_weighted_queue_per_team_as_in_the_simulation():
    queues = docs("queues.yaml")
    assert all(q["apiVersion"] == "scheduling.volcano.sh/v1beta1" for q in queues)
    assert all("namespace" not in q["metadata"] for q in queues)  # cluster-scoped
    for q in queues:
        assert set(q["spec"]) <= QUEUE_SPEC, q["spec"]
    weights = {q["metadata"]["name"]: q["spec"]["weight"] for q in queues}
    assert weights == sch.teams(sch.Settings())


def test_tfjobs_name_real_scheduling_policy_fields_queues_and_priority_classes():
    queues = {q["metadata"]["name"] for q in by_kind("Queue")}
    classes = {p["metadata"]["name"] for p in by_kind("PriorityClass")}
    tfjobs = by_kind("TFJob")
    assert len(tfjobs) >= 2
    for job in tfjobs:
        policy = job["spec"]["runPolicy"]["schedulingPolicy"]
        assert set(policy) <= SCHEDULING_POLICY
        assert policy["queue"] in queues and policy["priorityClass"] in classes
        workers = job["spec"]["tfReplicaSpecs"]["Worker"]
        assert policy["minAvailable"] == workers["replicas"]  # gang: all workers or none
        assert workers["template"]["spec"]["priorityClassName"] == policy["priorityClass"]


def test_core_kinds_validate_strictly():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for kind in ("PriorityClass", "Job", "ConfigMap"):
        for doc in by_kind(kind):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_scheduler_config_adds_preempt_and_reclaim_to_volcano_defaults():
    (config,) = docs("volcano/volcano-scheduler-configmap.yaml")
    assert config["metadata"] == {
        "name": "volcano-scheduler-configmap",
        "namespace": "volcano-system",
    }
    conf = yaml.safe_load(config["data"]["volcano-scheduler.conf"])
    actions = [a.strip() for a in conf["actions"].split(",")]
    assert actions == ["enqueue", "allocate", "preempt", "reclaim", "backfill"]
    plugins = {p["name"] for tier in conf["tiers"] for p in tier["plugins"]}
    assert {"priority", "gang", "proportion", "drf", "predicates"} <= plugins


def test_metadata_job_runs_the_module_with_flags_it_accepts():
    (job,) = docs("metadata-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][-1] == "chapters.ch06_operations.metadata"
    args = md.Settings.parser().parse_args(container["args"])
    settings = md.Settings(**vars(args))
    assert settings.out.startswith("/data/") and settings.fail_at_step > 0
    claim = job["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == "dmlp-data" and job["metadata"]["namespace"] == "dmlp"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("folder", ["", "volcano", "demo"])
def test_kustomize_builds(folder):
    proc = subprocess.run(
        ["kubectl", "kustomize", str(CH06 / folder)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert list(yaml.safe_load_all(proc.stdout))
