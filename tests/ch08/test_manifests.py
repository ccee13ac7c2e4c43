"""manifests/ch08: valid, listed with the RBAC their resource steps need, runnable locally
(tests/test_generated.py checks that they are what the Python generates)."""

import pytest
import yaml

from chapters.ch08_basics import kubeflow_tfjob, manifests
from dmlp import argo
from dmlp.kube import validate as validation

DIRECTORY = manifests.GENERATOR.directory
WORKFLOW_FILES = sorted(name for name, file in manifests.files().items() if file.hera)


def test_the_kustomization_lists_every_file_and_rbac_for_the_resource_steps():
    listed = yaml.safe_load((DIRECTORY / "kustomization.yaml").read_text())["resources"]
    assert set(manifests.files()) | {"rbac.yaml"} == set(listed)
    rules = yaml.safe_load_all((DIRECTORY / "rbac.yaml").read_text())
    granted = {res: set(r["verbs"]) for d in rules if d["kind"] == "Role" for r in d["rules"]
               for res in r["resources"]}  # fmt: skip
    assert {"create", "get"} <= granted["configmaps"] and {"create", "get"} <= granted["tfjobs"]
    for name in WORKFLOW_FILES:
        spec = yaml.safe_load((DIRECTORY / name).read_text())["spec"]
        assert spec["serviceAccountName"] == "dmlp-workflow"  # manifests/ch05/rbac.yaml
        assert "podGC" in spec and all("podGC" not in t for t in spec["templates"])


def test_every_chapter_8_manifest_passes_validation():
    problems = validation.validate_path(DIRECTORY.parent)  # the kind overlay includes ch05, ch08
    assert [str(p) for p in problems if "/ch08/" in p.file] == []


def test_the_tfjob_inside_the_workflow_is_the_tfjob_and_valid():
    data = yaml.safe_load((DIRECTORY / "tfjob-workflow.yaml").read_text())
    resource = data["spec"]["templates"][0]["resource"]
    assert resource["successCondition"] == "status.replicaStatuses.Worker.succeeded == 2"
    assert resource["failureCondition"] == "status.replicaStatuses.Worker.failed > 0"
    embedded = yaml.safe_load(resource["manifest"].replace("{{workflow.name}}", "wf")
                              .replace("{{workflow.parameters.train_steps}}", "20"))  # fmt: skip
    schemas = validation.load_schemas()
    assert validation.check_object(embedded, validation.KUBERNETES_VERSION, schemas) == []
    standalone = yaml.safe_load((DIRECTORY / "tfjob.yaml").read_text())
    assert standalone["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] == 2
    assert standalone == kubeflow_tfjob.tfjob("tensorflow-basics", "/data/ch08/tfjob")


QUICK = sorted(set(WORKFLOW_FILES) - {"resource-template.yaml", "tfjob-workflow.yaml"})


@pytest.mark.parametrize("name", QUICK)
def test_every_quick_workflow_file_runs_locally_end_to_end(name):
    result = argo.run(DIRECTORY / name, quiet=True)
    assert result.phase == "Succeeded", result.message
    assert result.leaves() and all(n.phase in ("Succeeded", "Skipped") for n in result.leaves())


def test_the_resource_file_needs_a_cluster_and_says_so():
    with pytest.raises(argo.UnsupportedWorkflow, match="resource kind 'ConfigMap'"):
        argo.run(DIRECTORY / "resource-template.yaml", quiet=True)
