"""The project workflow on kind (Argo + Training Operator + KServe), with --quick sizes.

Run after ``make kind-up deploy`` (Argo Workflows installed, chapter 5's cache ConfigMap and
controller Role applied) with ``make test-kind`` or ``pytest -m kind tests/project``; skipped
with the reason when there is no cluster.
"""

import pytest

from chapters.project import config, manifests
from dmlp.argo import load, submit
from dmlp.argo.submit import GROUP, PLURAL, VERSION
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
# The project's --quick sizes; `make smoke` passes the same (scripts/lib.sh).
QUICK = {name: str(value) for name, value in config.SIZES["quick"].items()}
DIRECTORY = manifests.GENERATOR.directory  # manifests/project


def test_the_project_workflow_trains_selects_and_serves_on_kind(api):  # noqa: F811
    if not has_kserve():
        pytest.skip("KServe is not installed in the cluster")
    deadline = Deadline()
    kubectl("apply", "-f", str(DIRECTORY / "rbac.yaml"), deadline=deadline)
    custom, core = api.CustomObjectsApi(), api.CoreV1Api()
    body = submit.prepare(load(DIRECTORY / "workflow.yaml"), QUICK, generate_name=True)
    submitted = submit.submit(custom, body, NAMESPACE)
    try:
        done = submit.follow(custom, NAMESPACE, submitted, deadline.left(), poll=5)
        if not done.succeeded:
            logs = submit.failure_logs(core, custom, NAMESPACE, done.workflow)
            pytest.fail(f"{submitted} {done.phase}:\n" + "\n".join(logs))
        phases = {n["displayName"]: n["phase"] for n in submit.steps(done.workflow)}
        assert sum(k.startswith("train(") and v == "Succeeded" for k, v in phases.items()) == 3
    finally:
        custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, submitted)
    kubectl("wait", "--for=condition=Ready", "inferenceservice/fashion-mnist-project",
            f"--timeout={int(deadline.left())}s", deadline=deadline)  # fmt: skip
    classes = classes_from("project", "http://fashion-mnist-project-predictor",
                           "fashion-mnist-project", deadline)  # fmt: skip
    assert len(classes) == 20 and all(0 <= c < 10 for c in classes)
