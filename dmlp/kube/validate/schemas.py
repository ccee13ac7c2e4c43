"""Stage 2, schemas: every field of every object is one the cluster's API accepts.

Core kinds go through ``kubernetes-validate --strict`` (Kubernetes :data:`KUBERNETES_VERSION`). A
custom resource is checked with ``jsonschema`` against the OpenAPI v3 schema of its CRD at the
pinned operator release, vendored in ``manifests/schemas/`` (``scripts/refresh-schemas.py``). The
schema is made strict as the API server is: ``required``, ``enum``, int-or-string, ``nullable``,
``x-kubernetes-preserve-unknown-fields``; any other unknown field is an error (the API server
would prune it silently). A new kind needs only a schema file there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from dmlp.kube.crd import SCHEMAS, describe, to_json_schema, unknown_fields

KUBERNETES_VERSION = "1.36.0"

# metadata is left open in every CRD schema (the API server checks it as ObjectMeta).
METADATA_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string"},
        "generateName": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
}


@dataclass(frozen=True)
class Schema:
    api_version: str
    kind: str
    scope: str
    source: str  # "owner/repo@tag:path"
    validator: Any


@cache
def load_schemas(directory: Path = SCHEMAS) -> dict[tuple[str, str], Schema]:
    """Every vendored CRD schema, by (apiVersion, kind)."""
    from jsonschema import Draft7Validator

    schemas = {}
    for path in sorted(Path(directory).glob("*.json")):
        doc = json.loads(path.read_text())
        schema = to_json_schema(doc["schema"])
        schema.setdefault("properties", {})["metadata"] = METADATA_SCHEMA
        schema.setdefault("required", [])
        for key in ("apiVersion", "kind", "metadata", "spec"):
            if key in schema["properties"] and key not in schema["required"]:
                schema["required"].append(key)
        src = doc["source"]
        schemas[(doc["apiVersion"], doc["kind"])] = Schema(
            doc["apiVersion"],
            doc["kind"],
            doc["scope"],
            f"{src['repo']}@{src['tag']}:{src['path']}",
            Draft7Validator(schema),
        )
    return schemas


def schema_errors(schema: Schema, doc: dict) -> list[tuple[str, str]]:
    found = []
    for err in schema.validator.iter_errors(doc):
        found += [describe(err, extra) for extra in unknown_fields(err)] or [describe(err)]
    return sorted(set(found))


def shape(doc: Any) -> list[tuple[str, str]]:
    """What makes ``doc`` no Kubernetes object at all (not a mapping, no kind, no name)."""
    if not isinstance(doc, dict):
        return [("", f"a manifest must be a mapping, got {type(doc).__name__}")]
    missing = [k for k in ("apiVersion", "kind", "metadata") if k not in doc]
    if missing:
        return [("", f"missing {', '.join(missing)}")]
    if not isinstance(doc["metadata"], dict) or not doc["metadata"].get("name"):
        return [("metadata.name", "required field is missing")]
    return []


def check(doc: dict, version: str, schemas: dict) -> list[tuple[str, str]]:
    """``(field path, message)`` for every field of ``doc`` (a :func:`shape`-valid object) that
    its schema refuses: the vendored CRD schema, else Kubernetes ``version``'s own."""
    key = (doc["apiVersion"], doc["kind"])
    if key in schemas:
        return schema_errors(schemas[key], doc)
    same_kind = sorted(api for api, kind in schemas if kind == doc["kind"])
    if same_kind:
        return [("apiVersion", f"{doc['kind']} is served as {', '.join(same_kind)} here")]
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [describe(err)]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            (
                "",
                f"no schema for {key[0]} {key[1]}: vendor its CRD schema in manifests/schemas "
                "(scripts/refresh-schemas.py)",
            )
        ]
    return []
