"""What Argo v4.1.2 refuses in a workflow's names, arguments and inputs, before anything runs.

Each function reads one part as ``workflow/validate/validate.go`` does and gives the first
problem as a message (``None`` if there is none); :mod:`dmlp.argo.spec` raises it as an
:class:`~dmlp.argo.spec.InvalidWorkflow`, so ``make validate`` and the runner refuse alike:

* names (``validateWorkflowFieldNames``): templates, steps and DAG tasks are ``a-z A-Z 0-9 -``
  starting with a letter or digit, at most 128 characters; parameters and artifacts may also
  hold ``_``; every list has each name once;
* arguments (``validateArgumentsValues``): each parameter has a ``value`` (or a ``valueFrom``
  naming a ``configMapKeyRef``, an ``event`` or ``supplied``), within its ``enum`` if it has one;
  each artifact a ``from`` or a location;
* outputs (``validateOutputs``, ``validateOutputParameter``): each output parameter has a
  ``value`` or one kind of ``valueFrom``, the kind its template can give;
* inputs (``validateInputs``): a leaf template's input artifacts have a path, a steps or DAG
  template's have none, and none has ``from``;
* a call (``ProcessArgs``, ``SubstituteParams`` in ``workflow/common/util.go``): every input
  parameter of the template called gets a value (an argument, a ``value`` or a ``default``),
  every input artifact that is not optional an argument.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

FIELD_NAME = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9]*")  # workflowFieldNameFmt
PARAMETER_NAME = re.compile(r"[-a-zA-Z0-9_]+")  # paramOrArtifactNameRegex
MAX_NAME = 128  # workflowFieldMaxLength
_TAG = re.compile(r"\{\{.*?\}\}")
_FILLED = re.compile(r"\{\{\s*(inputs|workflow)\.[^{}]*\}\}")  # what ProcessArgs fills in
LEAVES = ("script", "container", "containerSet", "resource", "data", "http", "plugin", "suspend")
# ArtifactLocation.Get: where an artifact argument may come from besides ``from``
LOCATIONS = ("artifactory", "azure", "git", "gcs", "hdfs", "http", "oss", "raw", "s3", "plugin")
VALUE_FROM = ("path", "jqFilter", "jsonPath", "parameter", "expression")  # validateOutputParameter
# validateOutputs: the valueFrom each kind of template can give
OUTPUT_FROM = {
    "container": ("path",),
    "containerSet": ("path",),
    "script": ("path",),
    "resource": ("jqFilter", "jsonPath"),
    "steps": ("parameter", "expression"),
    "dag": ("parameter", "expression"),
}


def names(items, what: str, parameters: bool = False, steps: bool = False) -> str | None:
    """The first name in ``items`` that is missing, malformed or repeated."""
    seen: set[str] = set()
    for i, item in enumerate(items or []):
        name = str((item or {}).get("name") or "")
        if not name:
            return f"{what}[{i}].name is required"
        if steps:  # isValidStepName: a {{...}} in a step's name is checked as one letter
            name = _TAG.sub("x", name)
        if parameters:
            valid = PARAMETER_NAME.fullmatch(name)
        else:
            valid = FIELD_NAME.fullmatch(name) and len(name) <= MAX_NAME
        if not valid:
            allowed = "letters, digits, '-'" + (" or '_'" if parameters else ", not first")
            return f"{what} name {name!r} is invalid: {allowed}"
        if name in seen:
            return f"{what} name {name!r} is not unique"
        seen.add(name)
    return None


def arguments(args: Mapping | None, what: str, allow_empty: bool = False) -> str | None:
    """A parameter of ``args`` (``arguments`` of a call or of the workflow) Argo refuses."""
    args = args or {}
    found = names(args.get("parameters"), f"{what} parameter", parameters=True)
    found = found or names(args.get("artifacts"), f"{what} artifact", parameters=True)
    if found:
        return found
    for p in args.get("parameters") or []:
        value, value_from = p.get("value"), p.get("valueFrom")
        if value is None and value_from is None and not allow_empty:
            return f"{what} parameter {p['name']!r} has no value"
        if value_from is not None and (
            not any(value_from.get(k) is not None for k in ("configMapKeyRef", "event", "supplied"))
            or any(value_from.get(k) for k in ("path", "jsonPath", "parameter", "expression"))
        ):
            return (
                f"{what} parameter {p['name']!r}: valueFrom only allows default, "
                "configMapKeyRef and supplied"
            )
        enum = p.get("enum")
        if enum is not None and not enum:
            return f"{what} parameter {p['name']!r}: enum should contain at least one value"
        if enum is not None and value is not None:
            if str(value) not in [str(v) for v in enum]:
                return f"{what} parameter {p['name']}={value!r} is not one of {enum}"
    for a in args.get("artifacts") or []:
        if not a.get("from") and not any(a.get(k) is not None for k in (*LOCATIONS, "key")):
            return f"{what} artifact {a['name']!r}: from, artifact location, or key is required"
    return None


def outputs(t: Mapping, kind: str) -> str | None:
    """What ``validateOutputs`` refuses in the output parameters of ``t``, a ``kind`` template."""
    for p in (t.get("outputs") or {}).get("parameters") or []:
        where = f"output parameter {p['name']!r}"
        value_from = p.get("valueFrom")
        if value_from is not None and p.get("value") is not None:
            return f"{where} has both valueFrom and value specified, choose one"
        if p.get("value") is not None:
            continue
        if value_from is None:
            return f"{where} does not have valueFrom or value specified"
        given = [k for k in VALUE_FROM if value_from.get(k)]
        given += ["supplied"] if value_from.get("supplied") is not None else []
        if len(given) != 1:
            problem = "type unspecified" if not given else "has multiple types"
            return f"{where}: valueFrom {problem}: choose one of {', '.join(VALUE_FROM)}"
        wanted = OUTPUT_FROM.get(kind)
        if wanted and given[0] not in wanted:
            return (
                f"{where}: valueFrom.{' or '.join(wanted)} must be specified for {kind} templates"
            )
    return None


def inputs(t: Mapping) -> str | None:
    """What ``validateInputs`` refuses in a template's declared inputs (and outputs' names)."""
    leaf = any(kind in t for kind in LEAVES)
    for io in ("inputs", "outputs"):
        section = t.get(io) or {}
        for kind in ("parameters", "artifacts"):
            items = section.get(kind)
            if io == "outputs":  # validateOutputs reads them once the inputs are filled in
                items = [
                    {**item, "name": _FILLED.sub("x", str(item.get("name") or ""))}
                    for item in items or []
                ]
            found = names(items, f"{io} {kind[:-1]}", parameters=True)
            if found:
                return found
    for a in (t.get("inputs") or {}).get("artifacts") or []:
        if "from" in a:
            return f"input artifact {a['name']!r}: 'from' is not valid in inputs"
        if leaf and not a.get("path"):
            return f"input artifact {a['name']!r} has no path"
        if not leaf and a.get("path"):
            return f"input artifact {a['name']!r}: a path is only valid in a leaf template"
    return None


def unsupplied(t: Mapping, args: Mapping | None) -> str | None:
    """An input of ``t`` that a call with ``args`` leaves without a value."""
    args = args or {}
    given = {p.get("name") for p in args.get("parameters") or []}
    for p in (t.get("inputs") or {}).get("parameters") or []:
        if p["name"] not in given and not any(k in p for k in ("value", "default", "valueFrom")):
            return f"input parameter {p['name']!r} of template {t['name']!r} had no value"
    given = {a.get("name") for a in args.get("artifacts") or []}
    for a in (t.get("inputs") or {}).get("artifacts") or []:
        located = set(a) - {"name", "path", "optional", "mode", "recurseMode", "archive", "from"}
        if a["name"] not in given and not a.get("optional") and not located:
            return f"input artifact {a['name']!r} of template {t['name']!r} was not supplied"
    return None
