"""The project workflow (9.4): its generated YAML is valid for the cluster, and the laptop's version
differs from Argo's in the serving step only (tests/test_generated.py: the YAML is current)."""

import copy
from pathlib import Path

import yaml

from chapters.common.models import MODEL_TYPES
from chapters.project import manifests, workflow
from dmlp.argo import spec
from dmlp.kube import validate as validation
from dmlp.kube.versions import pinned

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = manifests.GENERATOR.directory
PATH = DIRECTORY / "workflow.yaml"  # generated: tests/test_generated.py checks it is current


def templates() -> dict[str, dict]:
    data = yaml.safe_load(PATH.read_text())
    return {t["name"]: t for t in data["spec"]["templates"]}


def rendered(manifest: str, **values: str) -> dict:
    """A resource step's manifest with its {{...}} filled in as Argo would."""
    scope = {
        "workflow.name": "project",
        "workflow.parameters.num_workers": "2",
        "workflow.parameters.num_replicas": "2",
        "workflow.parameters.run_dir": "project",
        "inputs.parameters.model_type": "batch_norm",
        "inputs.parameters.job": "batch-norm",
        "inputs.parameters.data": "/data/project/data/ingest-0",
        **values,
    }
    text = manifest
    for key in list(scope):
        text = text.replace("{{" + key + "}}", scope[key])
    text = text.replace("{{workflow.parameters.", "{{").replace("{{", "").replace("}}", "")
    return yaml.safe_load(text)


def test_the_tfjob_step_creates_a_valid_2_worker_tfjob_and_waits_inside_resource():
    train = templates()["train"]
    resource = train["resource"]
    assert resource["action"] == "create" and resource["setOwnerReference"] is True
    assert resource["successCondition"].startswith("status.replicaStatuses.Worker.succeeded ==")
    assert resource["failureCondition"] == "status.replicaStatuses.Worker.failed > 0"
    assert "successCondition" not in train  # the book's defect: it sat outside `resource:`
    job = rendered(resource["manifest"])
    schemas = validation.load_schemas()
    assert validation.check_object(job, validation.KUBERNETES_VERSION, schemas) == []
    worker = job["spec"]["tfReplicaSpecs"]["Worker"]
    assert worker["replicas"] == 2
    args = worker["template"]["spec"]["containers"][0]["args"]
    assert "--model-type=batch_norm" in args  # the third job trains batch_norm
    assert "--tfrecords=/data/project/data/ingest-0" in args


def test_ingestion_writes_where_training_and_selection_read():
    tasks = {t["name"]: t for t in templates()["pipeline"]["dag"]["tasks"]}
    value = {
        name: {p["name"]: p["value"] for p in tasks[name]["arguments"]["parameters"]}["data"]
        for name in ("ingest", "train", "select")
    }
    assert len(set(value.values())) == 1
    assert "{{tasks.fingerprint.outputs.result}}" in value["train"]
    assert [i["model_type"] for i in tasks["train"]["withItems"]] == list(MODEL_TYPES)
    assert tasks["select"]["depends"] == "train.AnySucceeded || train.Failed"
    assert tasks["serve"]["depends"] == "select"


def test_the_inference_service_is_kserve_standard_tf_runtime_from_versions_env():
    serve = templates()["serve"]["resource"]
    assert "Loaded" in serve["successCondition"] and "FailedToLoad" in serve["failureCondition"]
    isvc = rendered(serve["manifest"])
    assert validation.check_object(isvc, validation.KUBERNETES_VERSION,
                                   validation.load_schemas()) == []  # fmt: skip
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    model = isvc["spec"]["predictor"]["model"]
    assert model["runtimeVersion"] == pinned()["TF_SERVING_VERSION"]
    assert model["modelFormat"]["name"] == "tensorflow"
    assert model["storageUri"] == "pvc://dmlp-data/project/served/fashion-mnist"


def test_memoized_ingestion_uses_chapter_5s_cache_and_the_project_service_account():
    data = yaml.safe_load(PATH.read_text())
    assert data["spec"]["serviceAccountName"] == "dmlp-project"
    memo = templates()["ingest"]["memoize"]
    assert memo["cache"]["configMap"] == {"name": "dmlp-workflow-cache"}
    cache = yaml.safe_load((DIRECTORY.parent / "ch05" / "cache-configmap.yaml").read_text())
    assert cache["metadata"]["name"] == "dmlp-workflow-cache"


def test_rbac_grants_what_the_steps_do():
    docs = list(yaml.safe_load_all((DIRECTORY / "rbac.yaml").read_text()))
    rules = {r["resources"][0]: set(r["verbs"]) for d in docs if d["kind"] == "Role"
             for r in d["rules"]}  # fmt: skip
    assert {"create", "patch"} <= rules["workflowtaskresults"]
    assert {"create", "get", "watch"} <= rules["tfjobs"]
    assert {"create", "get", "patch", "watch"} <= rules["inferenceservices"]
    account = next(d for d in docs if d["kind"] == "ServiceAccount")
    assert account["metadata"]["name"] == "dmlp-project"
    listed = yaml.safe_load((DIRECTORY / "kustomization.yaml").read_text())["resources"]
    assert set(listed) == {"../base", "rbac.yaml", "workflow.yaml"}  # base: the PVC it mounts


def test_make_validate_finds_nothing_but_the_pvc_that_base_provides():
    problems = validation.validate_path(DIRECTORY)
    assert [p for p in problems if "dmlp-data" not in str(p)] == []
    pvc = yaml.safe_load((DIRECTORY.parent / "base" / "pvc.yaml").read_text())
    assert pvc["metadata"]["name"] == "dmlp-data"


def test_the_laptop_runs_the_same_workflow_but_the_serving_step():
    argo_version = workflow.WORKFLOW.to_dict()
    laptop = workflow.for_laptop()
    spec.check(laptop)  # the local runner accepts every template
    a = {t["name"]: t for t in argo_version["spec"]["templates"]}
    b = {t["name"]: t for t in laptop["spec"]["templates"]}
    assert set(a) == set(b)
    assert [n for n in a if a[n] != b[n]] == ["serve"]
    assert b["serve"]["container"]["command"] == ["python", "-m", "chapters.project.inference"]
    rest = copy.deepcopy(laptop)
    rest["spec"]["templates"] = []
    argo_rest = copy.deepcopy(argo_version)
    argo_rest["spec"]["templates"] = []
    assert rest == argo_rest


def test_the_pods_script_steps_need_no_file_outside_the_image():
    """The image has chapters/ but not versions.env: the runner's module must not read it."""
    import subprocess
    import sys

    entries = {t["script"]["args"][3] for t in templates().values()
               if "hera.workflows.runner" in (t.get("script") or {}).get("args", [])}  # fmt: skip
    assert entries == {"chapters.project.steps:ingest", "chapters.project.steps:select"}
    code = "import sys, chapters.project.steps; print('chapters.project.workflow' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)  # fmt: skip
    assert proc.stdout.strip() == "False"
