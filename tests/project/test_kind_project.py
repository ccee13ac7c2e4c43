"""The project workflow on kind (Argo + Training Operator + KServe), with --quick sizes.

Run after ``make kind-up deploy`` (Argo Workflows installed, chapter 5's cache ConfigMap and
controller Role applied) with ``make test-kind`` or ``pytest -m kind tests/project``; skipped
with the reason when there is no cluster.
"""

import time
import uuid

import pytest
import yaml

from chapters.project import manifests
from tests.kind.test_kind import (  # noqa: F401  (api is a fixture)
    NAMESPACE,
    TIMEOUT,
    Deadline,
    api,
    classes_from,
    has_kserve,
    kubectl,
)

pytestmark = [pytest.mark.kind, pytest.mark.timeout(int(TIMEOUT) + 180)]
QUICK = {"num_examples": "512", "num_validation": "256", "num_epochs": "1",
         "steps_per_epoch": "4", "batch_size": "16"}  # fmt: skip


def test_the_project_workflow_trains_selects_and_serves_on_kind(api):  # noqa: F811
    if not has_kserve():
        pytest.skip("KServe is not installed in the cluster")
    deadline = Deadline()
    kubectl("apply", "-f", str(manifests.PATH.parent / "rbac.yaml"), deadline=deadline)
    body = yaml.safe_load(manifests.PATH.read_text())
    body["metadata"]["name"] = f"project-{uuid.uuid4().hex[:5]}"
    for parameter in body["spec"]["arguments"]["parameters"]:
        parameter["value"] = QUICK.get(parameter["name"], parameter["value"])
    objects = api.CustomObjectsApi()
    objects.create_namespaced_custom_object("argoproj.io", "v1alpha1", NAMESPACE, "workflows", body)
    name = body["metadata"]["name"]
    while True:
        status = objects.get_namespaced_custom_object(
            "argoproj.io", "v1alpha1", NAMESPACE, "workflows", name
        ).get("status", {})
        if status.get("phase") in ("Succeeded", "Failed", "Error"):
            break
        deadline.check(f"workflow/{name} to finish", status.get("phase"))
        time.sleep(5)
    nodes = {n["displayName"]: (n["phase"], n.get("message", "")) for n in
             status.get("nodes", {}).values()}  # fmt: skip
    assert status["phase"] == "Succeeded", nodes
    assert sum(k.startswith("train(") and v[0] == "Succeeded" for k, v in nodes.items()) == 3
    kubectl("wait", "--for=condition=Ready", "inferenceservice/fashion-mnist-project",
            f"--timeout={int(deadline.left())}s", deadline=deadline)  # fmt: skip
    classes = classes_from("project", "http://fashion-mnist-project-predictor",
                           "fashion-mnist-project", deadline)  # fmt: skip
    assert len(classes) == 20 and all(0 <= c < 10 for c in classes)
