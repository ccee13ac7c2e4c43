"""The repository's manifests pass the checks the cluster would make, and each known-bad manifest is
rejected for the right reason, with the file, the object and the field path in the message."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from dmlp.kube import validate as mf
from dmlp.kube.versions import pinned

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
HAS_KUBECTL = shutil.which("kubectl") is not None
RENDERERS = [
    "python",
    pytest.param(
        "kubectl",
        marks=pytest.mark.skipif(
            not HAS_KUBECTL, reason="kubectl not installed: the Python renderer is tested instead"
        ),
    ),
]


# ----------------------------------------------------------------------------- the repository


@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_manifest_in_the_repository_is_valid(renderer):
    report = mf.validate(MANIFESTS, renderer=renderer)
    assert report.problems == [], "\n".join(map(str, report.problems))
    assert report.objects >= 14


@pytest.mark.skipif(not HAS_KUBECTL, reason="kubectl not installed")
def test_python_renderer_matches_kubectl_kustomize():
    def objects(renderer):
        found = mf.renderings(MANIFESTS, renderer)
        return sorted((json.dumps(i.doc, sort_keys=True) for r in found for i in r.items), key=len)

    assert objects("python") == objects("kubectl")
    # every object kubectl rendered is traced back to the file that defines it
    for rendering in mf.renderings(MANIFESTS, "kubectl"):
        for item in rendering.items:
            assert Path(item.file).name != "kustomization.yaml", item.label
            names = {
                d["metadata"]["name"] for d in yaml.safe_load_all(Path(item.file).read_text()) if d
            }
            assert item.name in names, (item.label, item.file)


def test_make_validate_runs_this_validator_on_the_manifests():
    makefile = (ROOT / "Makefile").read_text()
    assert "-m dmlp.kube.validate manifests" in makefile


def test_vendored_schemas_come_from_the_pinned_tags():
    pins = pinned()
    tags = {
        "kubeflow/trainer": pins["TRAINING_OPERATOR_VERSION"],
        "kserve/kserve": pins["KSERVE_VERSION"],
        "argoproj/argo-workflows": pins["ARGO_WORKFLOWS_VERSION"],
        "volcano-sh/volcano": pins["VOLCANO_VERSION"],
    }
    kinds = set()
    for path in sorted((MANIFESTS / "schemas").glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["source"]["tag"] == tags[doc["source"]["repo"]], path
        Draft7Validator.check_schema(mf.to_json_schema(doc["schema"]))
        kinds.add(doc["kind"])
    assert kinds >= {"TFJob", "InferenceService", "Workflow", "Queue", "PodGroup"}


def test_kustomize_overlay_references_every_chapter():
    overlay = yaml.safe_load((MANIFESTS / "overlays/kind/kustomization.yaml").read_text())
    chapters = {p.name for p in MANIFESTS.iterdir() if p.name.startswith("ch")}
    assert {Path(r).name for r in overlay["resources"]} >= chapters | {"base"}


def containers(doc):
    return [
        node
        for path, node in mf.walk(doc)
        if path and path[-1] in ("containers", "initContainers") and isinstance(node, list)
        for node in node
    ]


def parser_of(module: str):
    mod = importlib.import_module(module)
    return mod.Settings.parser()


def test_container_commands_run_real_modules_with_accepted_flags():
    checked = 0
    for rendering in mf.renderings(MANIFESTS, "python"):
        for item in rendering.items:
            for container in containers(item.doc):
                command = container.get("command", [])
                if command[:2] != ["python", "-m"]:
                    continue
                module = command[2]
                assert importlib.util.find_spec(module), f"{item.file}: no module {module}"
                parser_of(module).parse_args(container.get("args", []))  # exits on a bad flag
                checked += 1
    assert checked >= 3


def test_the_smoke_client_flags_are_accepted():
    """scripts/smoke.sh and tests/kind run the chapter 4 client with these flags."""
    smoke = (ROOT / "scripts/smoke.sh").read_text()
    flags = ["--dataset", "synthetic", "--num-examples", "20", "--print-classes"]
    assert " ".join(flags) in smoke
    args = ["--url", "http://x", "--model-name", "fashion-mnist-tf", *flags]
    parsed = parser_of("chapters.ch04_model_serving.client").parse_args(args)
    assert parsed.print_classes and parsed.model_name == "fashion-mnist-tf"


# ----------------------------------------------------------------------------- schema conversion


def test_openapi_extensions_become_strict_json_schema():
    schema = mf.to_json_schema(
        {
            "type": "object",
            "properties": {
                "port": {"x-kubernetes-int-or-string": True},
                "maybe": {"type": "string", "nullable": True, "enum": ["a"]},
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"known": {"type": "string"}},
                },
                "either": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "anyOf": [{"properties": {"a": {}}, "required": ["a"]}],
                },
            },
        }
    )
    ok = {"port": "http", "maybe": None, "free": {"known": "x", "other": 1}, "either": {"a": "x"}}
    assert list(Draft7Validator(schema).iter_errors(ok)) == []
    assert not Draft7Validator(schema).is_valid({"port": 80, "maybe": "b"})
    assert not Draft7Validator(schema).is_valid({"port": [80]})
    assert not Draft7Validator(schema).is_valid({"either": {"a": "x", "b": 1}})
    assert not Draft7Validator(schema).is_valid({"typo": 1})


# ----------------------------------------------------------------------------- known-bad objects

POD = """
      template:
        metadata: {labels: {app: x}}
        spec:
          containers:
            - name: {container}
              image: {image}
"""
TFJOB = """
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: job, namespace: dmlp}
spec:
  runPolicy: {cleanPodPolicy: None}
  tfReplicaSpecs:
    Worker:
      replicas: 2
      restartPolicy: OnFailure
      template:
        spec:
          containers:
            - {name: tensorflow, image: "dmlp:dev"}
"""
ISVC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: isvc, namespace: dmlp}
spec:
  predictor:
    model:
      modelFormat: {name: tensorflow}
      runtimeVersion: "2.20.0"
      storageUri: pvc://data/model
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: dmlp}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: dmlp}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "dmlp:dev"
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: dmlp}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""
WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, namespace: dmlp}
spec:
  entrypoint: main
  templates:
    - name: main
      container: {image: "dmlp:dev", command: [python, --version]}
"""
QUEUE = """
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: research}
spec: {weight: 1, reclaimable: true, capability: {cpu: "2"}}
"""


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD = {
    # CRD schemas: unknown fields, required, enum-free typos, types
    "isvc-field-from-a-newer-sdk": (
        edit(ISVC, "  predictor:", "  tracing: {}\n  predictor:"),
        "InferenceService dmlp/isvc",
        "spec.tracing",
        "unknown field 'tracing'",
    ),
    "isvc-typo": (
        edit(ISVC, "runtimeVersion", "runtimeversion"),
        "InferenceService dmlp/isvc",
        "spec.predictor.model.runtimeversion",
        "did you mean 'runtimeVersion'",
    ),
    "isvc-no-predictor": (
        edit(ISVC, "  predictor:\n    model:", "  explainer:\n    model:"),
        "InferenceService dmlp/isvc",
        "spec.predictor",
        "required field is missing",
    ),
    "isvc-replicas-not-a-number": (
        edit(ISVC, "  predictor:", "  predictor:\n    minReplicas: one"),
        "InferenceService dmlp/isvc",
        "spec.predictor.minReplicas",
        "'one' is not of type 'integer'",
    ),
    "tfjob-container-typo": (
        edit(TFJOB, 'image: "dmlp:dev"}', 'image: "dmlp:dev", resource: {}}'),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.template.spec.containers[0].resource",
        "did you mean 'resources'",
    ),
    "tfjob-port-as-list": (
        edit(TFJOB, 'image: "dmlp:dev"}', 'image: "dmlp:dev", ports: [{containerPort: [1]}]}'),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.template.spec.containers[0].ports[0].containerPort",
        "is not of type 'integer'",
    ),
    "workflow-unknown-template-field": (
        edit(WORKFLOW, "    - name: main", "    - name: main\n      retries: 2\n      podGc: {}"),
        "Workflow dmlp/wf",
        "spec.templates[0].podGc",
        "unknown field 'podGc'",
    ),
    "workflow-int-or-string-as-list": (
        edit(WORKFLOW, "    - name: main", "    - name: main\n      retryStrategy: {limit: [2]}"),
        "Workflow dmlp/wf",
        "spec.templates[0].retryStrategy.limit",
        "is not valid under any of the given schemas",
    ),
    "queue-weight-string": (
        edit(QUEUE, "weight: 1", "weight: heavy"),
        "Queue research",
        "spec.weight",
        "'heavy' is not of type 'integer'",
    ),
    "unknown-version-of-a-known-kind": (
        edit(TFJOB, "kubeflow.org/v1", "kubeflow.org/v2"),
        "TFJob dmlp/job",
        "apiVersion",
        "TFJob is served as kubeflow.org/v1",
    ),
    "unknown-custom-kind": (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
        "Widget w",
        "",
        "no schema for example.com/v1 Widget",
    ),
    # core kinds: kubernetes-validate --strict
    "deployment-typo": (
        edit(DEPLOYMENT, "  selector: {matchLabels", "  replica: 2\n  selector: {matchLabels"),
        "Deployment dmlp/web",
        "spec.replica",
        "unknown field 'replica' (did you mean 'replicas'?)",
    ),
    "service-without-name": (
        "apiVersion: v1\nkind: Service\nmetadata: {}\n",
        "Service",
        "metadata.name",
        "required field is missing",
    ),
    # operator webhook rules
    "tfjob-container-not-named-tensorflow": (
        edit(TFJOB, "name: tensorflow", "name: trainer"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.template.spec.containers",
        "needs a container named 'tensorflow'",
    ),
    "tfjob-replica-type": (
        edit(TFJOB, "    Worker:", "    Workers:"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Workers",
        "unknown replica type 'Workers' (did you mean 'Worker'?)",
    ),
    "tfjob-two-chiefs": (
        edit(TFJOB, "    Worker:", "    Chief:" + TFJOB.split("    Worker:")[1] + "    Master:"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs",
        "at most one Chief or Master",
    ),
    "tfjob-restart-policy": (
        edit(TFJOB, "restartPolicy: OnFailure", "restartPolicy: Sometimes"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.restartPolicy",
        "'Sometimes' is not one of",
    ),
    "tfjob-clean-pod-policy": (
        edit(TFJOB, "cleanPodPolicy: None", "cleanPodPolicy: Never"),
        "TFJob dmlp/job",
        "spec.runPolicy.cleanPodPolicy",
        "'Never' is not one of",
    ),
    "tfjob-name-not-dns-1035": (
        edit(TFJOB, "name: job,", "name: 3job,"),
        "TFJob dmlp/3job",
        "metadata.name",
        "DNS-1035",
    ),
    # cross-references
    "hpa-target-missing": (
        DEPLOYMENT + "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: h, namespace: dmlp}\nspec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: webb}\n"
        "  minReplicas: 1\n  maxReplicas: 2\n",
        "HorizontalPodAutoscaler dmlp/h",
        "spec.scaleTargetRef",
        "no Deployment named 'webb'",
    ),
    "service-selects-nothing": (
        edit(DEPLOYMENT, "  selector: {app: web}", "  selector: {app: wen}"),
        "Service dmlp/web",
        "spec.selector",
        "selects no pod template's labels",
    ),
    "pvc-not-defined": (
        edit(ISVC, "pvc://data/model", "pvc://dmlp-data/model"),
        "InferenceService dmlp/isvc",
        "spec.predictor.model.storageUri",
        "PersistentVolumeClaim 'dmlp-data' is not defined",
    ),
    "pod-volume-pvc-not-defined": (
        edit(
            TFJOB,
            '            - {name: tensorflow, image: "dmlp:dev"}',
            '            - {name: tensorflow, image: "dmlp:dev"}\n'
            "          volumes: [{name: d, persistentVolumeClaim: {claimName: gone}}]",
        ),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.template.spec.volumes[0].persistentVolumeClaim.claimName",
        "PersistentVolumeClaim 'gone' is not defined",
    ),
    "configmap-not-defined": (
        edit(
            DEPLOYMENT,
            "          ports:",
            "          envFrom: [{configMapRef: {name: cfg}}]\n          ports:",
        ),
        "Deployment dmlp/web",
        "spec.template.spec.containers[0].envFrom[0].configMapRef.name",
        "ConfigMap 'cfg' is not defined",
    ),
    "service-account-not-defined": (
        edit(WORKFLOW, "  entrypoint: main", "  entrypoint: main\n  serviceAccountName: runner"),
        "Workflow dmlp/wf",
        "spec.serviceAccountName",
        "ServiceAccount 'runner' is not defined",
    ),
    "image-latest": (
        edit(WORKFLOW, '"dmlp:dev"', "python:latest"),
        "Workflow dmlp/wf",
        "spec.templates[0].container.image",
        "uses ':latest'",
    ),
    "image-untagged": (
        edit(DEPLOYMENT, '"dmlp:dev"', "nginx"),
        "Deployment dmlp/web",
        "spec.template.spec.containers[0].image",
        "has no tag",
    ),
    "not-yaml": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n",
        "",
        "",
        "not valid YAML line",
    ),
}


@pytest.mark.parametrize("text", [TFJOB, ISVC, DEPLOYMENT, WORKFLOW, QUEUE], ids=str.split)
def test_the_good_examples_are_valid(tmp_path, text):
    (tmp_path / "good.yaml").write_text(text)
    assert mf.validate_path(tmp_path / "good.yaml") == []


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_manifest_is_rejected_for_the_right_reason(tmp_path, case):
    text, obj, path, needle = BAD[case]
    file = tmp_path / f"{case}.yaml"
    file.write_text(textwrap.dedent(text))
    problems = mf.validate_path(file)
    assert problems, f"{case} was accepted"
    matching = [p for p in problems if needle in p.message and p.obj == obj and p.path == path]
    assert matching, "\n".join(map(str, problems))
    assert str(matching[0]).startswith(f"{file}: ")


# ----------------------------------------------------------------------------- kustomizations


def write_kustomization(tmp_path, resources, extra=""):
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: {json.dumps(resources)}\nnamespace: dmlp\n{extra}"
    )


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_kustomization_with_a_missing_resource(tmp_path, renderer):
    (tmp_path / "there.yaml").write_text(DEPLOYMENT)
    write_kustomization(tmp_path, ["there.yaml", "missing.yaml"])
    problems = mf.validate_path(tmp_path, renderer=renderer)
    assert len(problems) == 1 and "missing.yaml" in problems[0].message, problems
    assert problems[0].file.endswith("kustomization.yaml")


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_rendered_object_is_reported_with_its_own_file(tmp_path, renderer):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "web.yaml").write_text(edit(DEPLOYMENT, '"dmlp:dev"', "nginx"))
    (tmp_path / "app" / "kustomization.yaml").write_text("resources: [web.yaml]\n")
    write_kustomization(tmp_path, ["app"], "images: [{name: dmlp, newTag: v2}]\n")
    problems = mf.validate_path(tmp_path, renderer=renderer)
    assert [(Path(p.file).name, p.obj, p.message[:14]) for p in problems] == [
        ("web.yaml", "Deployment dmlp/web", "image 'nginx' ")
    ]


def test_the_cross_references_span_the_whole_rendering(tmp_path):
    (tmp_path / "isvc.yaml").write_text(ISVC.split("---")[0])
    (tmp_path / "pvc.yaml").write_text(ISVC.split("---")[1])
    write_kustomization(tmp_path, ["isvc.yaml", "pvc.yaml"])
    assert mf.validate_path(tmp_path, renderer="python") == []


def test_a_yaml_file_left_out_of_its_kustomization(tmp_path):
    (tmp_path / "there.yaml").write_text(QUEUE)
    (tmp_path / "forgotten.yaml").write_text(QUEUE)
    write_kustomization(tmp_path, ["there.yaml"])
    problems = mf.validate_path(tmp_path, renderer="python")
    assert [Path(p.file).name for p in problems] == ["forgotten.yaml"]
    assert "not listed in" in problems[0].message


def test_the_python_renderer_names_what_it_cannot_do(tmp_path):
    (tmp_path / "there.yaml").write_text(QUEUE)
    write_kustomization(tmp_path, ["there.yaml"], "configMapGenerator: [{name: c}]\n")
    problems = mf.validate_path(tmp_path, renderer="python")
    assert [(p.path, p.message) for p in problems] == [
        ("configMapGenerator", "not understood without kubectl: install kubectl")
    ]


def test_cli_exit_codes(tmp_path):
    from tests.conftest import run_module

    ok = run_module("dmlp.kube.validate", str(MANIFESTS), timeout=120)
    assert ok.returncode == 0 and "0 problem(s)" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "bad.yaml").write_text(BAD["tfjob-replica-type"][0])
    bad = run_module("dmlp.kube.validate", str(tmp_path), timeout=120)
    assert bad.returncode == 1 and "INVALID" in bad.stdout and "Traceback" not in bad.stderr
    missing = run_module("dmlp.kube.validate", str(tmp_path / "nope"), timeout=120)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# ----------------------------------------------------------------------------- capacity

CHAPTER_CPU_BUDGET = 1.0  # README, "Capacity budget": each chapter within 1 CPU of requests
CHAPTER_MEMORY_BUDGET_GIB = 5.0


def quantity(value) -> float:
    """CPU in cores or memory in GiB, from a Kubernetes quantity."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**-20, "Mi": 2**-10, "Gi": 1.0}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def peak_requests(items) -> tuple[float, float]:
    """Requests of a chapter with every autoscaler at its maximum (init containers excluded:
    they finish before the server starts)."""
    maxima = {
        i.doc["spec"]["scaleTargetRef"]["name"]: i.doc["spec"]["maxReplicas"]
        for i in items
        if i.kind == "HorizontalPodAutoscaler"
    }
    cpu = memory = 0.0
    for item in items:
        spec, pods = item.doc.get("spec") or {}, []
        if item.kind == "TFJob":
            pods = [(r["replicas"], r["template"]["spec"]) for r in spec["tfReplicaSpecs"].values()]
        elif item.kind in ("Deployment", "StatefulSet"):
            count = maxima.get(item.name, spec.get("replicas", 1))
            pods = [(count, spec["template"]["spec"])]
        elif item.kind == "InferenceService":
            predictor = spec["predictor"]
            containers = predictor.get("containers") or [predictor["model"]]
            pods = [(predictor.get("maxReplicas", 1), {"containers": containers})]
        for count, pod in pods:
            for container in pod["containers"]:
                requests = container["resources"]["requests"]
                cpu += count * quantity(requests["cpu"])
                memory += count * quantity(requests["memory"])
    return cpu, memory


@pytest.mark.parametrize("chapter", ["ch03", "ch04"])
def test_each_chapter_fits_the_documented_budget(chapter):
    cpu, memory = peak_requests(mf.render_python(MANIFESTS / chapter).items)
    assert cpu <= CHAPTER_CPU_BUDGET and memory <= CHAPTER_MEMORY_BUDGET_GIB, (cpu, memory)
    assert cpu > 0.3  # the workloads ask for something: requests are set, not forgotten
