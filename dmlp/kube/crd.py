"""A CRD's OpenAPI v3 schema as a strict JSON Schema, and its errors as a field path and a reason.

Shared by the validator's schema stage (:mod:`dmlp.kube.validate.schemas`, ``make validate``) and
the local Argo runner's first check (:mod:`dmlp.argo.shape`), so both read a Workflow the same
way. The schemas are vendored in ``manifests/schemas/`` (``scripts/refresh-schemas.py``).
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[2] / "manifests" / "schemas"


def format_path(parts) -> str:
    """``("spec", "ports", 0, "port")`` as ``spec.ports[0].port``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def to_json_schema(node: dict, spine: bool = True) -> dict:
    """An OpenAPI v3 (structural) CRD schema as a strict JSON Schema.

    ``spine`` is False inside allOf/anyOf/oneOf/not, whose branches only add value checks: a field
    list there must not forbid the fields the spine declares.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: to_json_schema(sub, spine) for name, sub in value.items()}
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value, spine and key != "not")
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub, False) for sub in value]
        elif key.startswith("x-kubernetes-") or key in ("nullable", "format", "default"):
            continue  # handled below, or annotations the validator must not misread
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if spine and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


def unknown_fields(err) -> list[str]:
    if err.validator != "additionalProperties" or err.validator_value is not False:
        return []
    return sorted(set(err.instance) - set(err.schema.get("properties", {})))


def describe(err, extra: str | None = None) -> tuple[str, str]:
    """A jsonschema error as (field path, message), naming the field itself where possible."""
    path = list(err.absolute_path)
    extra = extra or next(iter(unknown_fields(err)), None)
    if extra is not None:
        known = set(err.schema.get("properties", {}))
        close = difflib.get_close_matches(extra, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return format_path([*path, extra]), f"unknown field {extra!r}{hint}"
    if err.validator == "required":
        missing = re.match(r"'([^']+)'", err.message)
        return format_path(
            [*path, missing.group(1) if missing else "?"]
        ), "required field is missing"
    return format_path(path), err.message
