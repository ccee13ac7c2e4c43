"""The first check of a workflow: each field has the type Argo's Workflow schema gives it.

Argo reads a Workflow into Go structs, so a list where a mapping belongs, a number where a
name belongs or a misspelled field (``withItem``) never reaches its controller: ``kubectl
create`` refuses it against the CRD's schema (strict field validation), ``argo submit`` and
``argo lint`` when decoding it. The same schema, Argo v4.1.2's full CRD vendored in
``manifests/schemas/`` and read as ``make validate`` reads it (:mod:`dmlp.kube.crd`), is
checked here before anything else reads the workflow, so every later check may trust the types,
and a wrong one is a one-line error naming the field, never a traceback.
"""

from __future__ import annotations

import json
from functools import cache

from dmlp.kube.crd import SCHEMAS, describe, format_path, to_json_schema, unknown_fields

_FILES = {
    "Workflow": "argoproj.io_v1alpha1_Workflow.json",
    "WorkflowTemplate": "argoproj.io_v1alpha1_WorkflowTemplate.json",
}
_LONGEST = 160  # characters of a value quoted in a message


@cache
def _validator(kind: str):
    from jsonschema import Draft7Validator

    doc = json.loads((SCHEMAS / _FILES[kind]).read_text())
    return Draft7Validator(to_json_schema(doc["schema"]["properties"]["spec"]))


def problems(data: dict) -> tuple[str | None, str | None]:
    """The first field of ``data["spec"]`` the schema refuses, in one line naming its template,
    from one validation: ``(about a type or a field name, about a value)``.

    The first is for before the later checks, which rely on the types; the second for after
    them: patterns, enums, bounds that no check before said in Argo's own words.
    """
    if not isinstance(data.get("kind"), str) or data["kind"] not in _FILES:
        return f"kind must be {' or '.join(_FILES)}, not {_quoted(data.get('kind'))}", None
    if not isinstance(data.get("spec"), dict):
        return f"spec must be a mapping, not {_kind(data.get('spec'))}", None
    spec = data["spec"]
    found: dict[bool, list] = {False: [], True: []}
    for err in _validator(data["kind"]).iter_errors(spec):
        found[_is_value(err)].append(err)
    first = {
        values: min(errors, key=lambda err: [str(part) for part in err.absolute_path], default=None)
        for values, errors in found.items()
    }
    structure = _message(spec, first[False]) if first[False] else _items_problem(spec)
    return structure, first[True] and _message(spec, first[True])


def _message(spec: dict, err) -> str:
    where, rest = _where(spec, list(err.absolute_path))
    if unknown_fields(err):  # in the mapping at `rest`
        return f"{where}: {format_path(rest) + ': ' if rest else ''}{describe(err)[1]}"
    if err.validator == "required":  # the missing field is the last part of describe's path
        field, why = describe(err)
        return f"{where}: {format_path([*rest, field.rsplit('.', 1)[-1]])}: {why}"
    return f"{where}: {format_path(rest) or 'it'} {_why(err)}"


def _is_value(err) -> bool:
    """Whether ``err`` is about a value (a pattern, an enum, a bound), not a type or a field."""
    if err.validator == "anyOf":
        return not all("type" in branch for branch in err.validator_value)
    return err.validator not in ("type", "additionalProperties", "required")


def _where(spec: dict, parts: list) -> tuple[str, list]:
    """``template 'x', step 'y'`` for a path into the templates, and the rest of the path."""
    if len(parts) < 2 or parts[0] != "templates" or not isinstance(parts[1], int):
        return "workflow spec", parts
    t = spec["templates"][parts[1]]
    where, rest = f"template {_name(t, f'spec.templates[{parts[1]}]')}", parts[2:]
    if len(rest) >= 3 and rest[0] == "steps" and all(isinstance(x, int) for x in rest[1:3]):
        return f"{where}, step {_name(t['steps'][rest[1]][rest[2]], '?')}", rest[3:]
    if len(rest) >= 3 and rest[:2] == ["dag", "tasks"] and isinstance(rest[2], int):
        return f"{where}, task {_name(t['dag']['tasks'][rest[2]], '?')}", rest[3:]
    return where, rest


def _name(node, fallback: str) -> str:
    name = node.get("name") if isinstance(node, dict) else None
    return repr(name) if isinstance(name, str) and name else fallback


def _items_problem(spec: dict) -> str | None:
    """``withItems`` is open in the schema (any JSON) but a list in Go (``[]Item``)."""
    for i, t in enumerate(spec.get("templates") or []):
        calls = {
            f"steps[{j}][{k}]": step
            for j, group in enumerate(t.get("steps") or [])
            for k, step in enumerate(group or [])
        }
        for j, task in enumerate((t.get("dag") or {}).get("tasks") or []):
            calls[f"dag.tasks[{j}]"] = task
        for where, call in calls.items():
            items = call.get("withItems")
            if items is not None and not isinstance(items, list):
                why = f"withItems must be a list, not {_kind(items)} {_quoted(items)}"
                return f"template {_name(t, f'spec.templates[{i}]')} {where}: {why}"
    return None


def _why(err) -> str:
    """``must be ...`` for a type; jsonschema's own words for a value."""
    if err.validator in ("type", "anyOf"):
        wanted = err.validator_value
        if err.validator == "anyOf":
            wanted = [branch["type"] for branch in wanted]
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"must be {wanted}, not {_kind(err.instance)} {_quoted(err.instance)}"
    if err.validator == "enum":
        return (
            f"is {_quoted(err.instance)}, not one of {', '.join(map(_quoted, err.validator_value))}"
        )
    return f"is {_quoted(err.instance)}: {err.message.split(' ', 1)[-1][:_LONGEST]}"


def _kind(value) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}
    return names.get(type(value), "null" if value is None else f"a {type(value).__name__}")


def _quoted(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."
