"""On kind with Argo Workflows: every chapter 5 and 8 Workflow file runs to Succeeded on Argo.

(And chapter 8's hello-world Pod, section 8.2, runs and logs its greeting.)

Each file is submitted under a fresh name (``generateName``) with small arguments, through
``dmlp.argo.submit`` (the module a reader uses), and followed to the end; a failure
shows the failed steps' logs. Skipped (with the reason) without a cluster or without Argo
(``make kind-up`` installs it unless ``INSTALL_ARGO=0``). Run after ``make kind-up deploy`` with
``make test-kind``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dmlp.argo import load, submit
from dmlp.argo.submit import GROUP, PLURAL, VERSION
from tests.kind import test_kind
from tests.kind.test_kind import NAMESPACE, TIMEOUT

pytestmark = [pytest.mark.kind, pytest.mark.timeout(int(TIMEOUT) + 180)]
ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p.relative_to(ROOT).as_posix()
    for chapter in ("ch05", "ch08")
    for p in (ROOT / "manifests" / chapter).glob("*.yaml")
    if [d.get("kind") for d in yaml.safe_load_all(p.read_text()) if d] == ["Workflow"]
)
SMALL = {  # arguments that keep each run short; the rest are the files' own
    "fan-in-fan-out.yaml": {"num_examples": "256", "train_steps": "5"},
    "memoization.yaml": {"num_examples": "100", "ingest_cost": "1"},
    "sync-pipeline.yaml": {"unit_seconds": "0.2"},
    "async-pipeline.yaml": {"unit_seconds": "0.2"},
    "dag-diamond.yaml": {"seconds": "0.2"},
    "tfjob-workflow.yaml": {"train_steps": "5"},
}


api = test_kind.api  # the fixture: the kubernetes client for kind-$CLUSTER, or a skip


@pytest.fixture(scope="module")
def apis(api):
    from kubernetes.client.exceptions import ApiException

    custom = api.CustomObjectsApi()
    try:
        custom.list_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, limit=1)
    except ApiException as err:
        if err.status == 404:
            pytest.skip("Argo Workflows is not installed: `make kind-up` without INSTALL_ARGO=0")
        raise
    return custom, api.CoreV1Api()


def test_every_chapter_has_workflow_files():
    assert any("/ch05/" in f for f in FILES) and any("/ch08/" in f for f in FILES)


@pytest.mark.parametrize("path", FILES)
def test_the_workflow_file_runs_on_argo(apis, path):
    custom, core = apis
    name = Path(path).name
    known = {
        p["name"] for p in load(ROOT / path)["spec"].get("arguments", {}).get("parameters", [])
    }
    arguments = {k: v for k, v in SMALL.get(name, {}).items() if k in known}
    body = submit.prepare(load(ROOT / path), arguments, generate_name=True)
    submitted = submit.submit(custom, body, NAMESPACE)
    try:
        done = submit.follow(custom, NAMESPACE, submitted, TIMEOUT, poll=5)
        if not done.succeeded:
            logs = submit.failure_logs(core, custom, NAMESPACE, done.workflow)
            pytest.fail(f"{submitted} {done.phase}:\n" + "\n".join(logs))
        phases = {n["displayName"]: n["phase"] for n in submit.steps(done.workflow)}
        if name == "coinflip.yaml":  # exactly one branch ran
            assert sorted([phases["heads"], phases["tails"]]) == ["Skipped", "Succeeded"]
        if name == "resource-template.yaml":  # the ConfigMap exists, owned by the workflow
            made = core.read_namespaced_config_map(f"{submitted}-greeting", NAMESPACE)
            assert made.metadata.owner_references[0].name == submitted
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, submitted)


def test_a_hello_world_pod_runs_and_logs(api):
    from chapters.ch08_basics import kubernetes_basics

    settings = kubernetes_basics.Settings(namespace=NAMESPACE, timeout=TIMEOUT)
    result = kubernetes_basics.main(settings, core=api.CoreV1Api())
    assert result.claim.held, result.phases
