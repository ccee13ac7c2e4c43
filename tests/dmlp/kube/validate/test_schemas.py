"""Stage 2: the schemas. Vendored CRD schemas come from the pinned releases and become strict
JSON Schema; a field the API server would refuse (or prune) is reported with its path."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator

from dmlp.kube import validate as mf
from dmlp.kube.versions import pinned
from tests.dmlp.kube.validate.samples import (
    DEPLOYMENT,
    GOOD,
    ISVC,
    MANIFESTS,
    QUEUE,
    TFJOB,
    WORKFLOW,
    assert_rejected,
    edit,
)


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


@pytest.mark.parametrize("text", GOOD, ids=str.split)
def test_the_good_examples_are_valid(tmp_path, text):
    (tmp_path / "good.yaml").write_text(text)
    assert mf.validate_path(tmp_path / "good.yaml") == []


# CRD schemas: unknown fields, required, enum-free typos, types
REFUSED = {
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
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_field_the_api_server_refuses_is_reported_with_its_path(tmp_path, case):
    assert_rejected(tmp_path, case, REFUSED[case])
