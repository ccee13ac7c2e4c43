"""A Kubernetes object as compact YAML text, for the ``manifest`` of an Argo resource template.

Argo substitutes ``{{...}}`` in a resource manifest as text, before the YAML is parsed, so a
placeholder that stands for a number must be written bare (``replicas: {{...num_workers}}``
becomes ``replicas: 2``) while ``yaml.safe_dump`` would quote it (``'2'``, a string the API
server refuses). :func:`dump` writes a plain dict as YAML a reader can scan, and writes
:class:`Bare` values as they are. The layout, in the order it is tried:

* a mapping of scalars, a list of scalars, or a list of such mappings goes on one line in flow
  style (``requests: {cpu: 100m, memory: 512Mi}``) if the line fits in :data:`WIDTH` columns, else
  alone on the next line, else in block style;
* everything else is block style, list items indented under their key;
* a string is plain when YAML reads it back as the same string, else double-quoted (``"1"``).

Introduced in chapter 9 (the project workflow's TFJob); used with :mod:`dmlp.kube.tfjob`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

WIDTH = 100  # the longest line :func:`dump` writes in flow style (the repository's line length)
INDENT = 2


class Bare(str):
    """A value :func:`dump` writes unquoted, such as an Argo placeholder standing for a number."""


def dump(doc: dict) -> str:
    """``doc`` as compact YAML text, one trailing newline."""
    return "".join(line + "\n" for line in _mapping(doc, 0))


def _scalar(value: Any, flow: bool) -> str:
    if isinstance(value, Bare):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    wrapped = f"[{text}]" if flow else f"- {text}"  # where the value will stand
    try:
        plain = text != "" and yaml.safe_load(wrapped) == [text]
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _flat(value: Any) -> bool:
    """A mapping or list of scalars, or a list of such mappings: one line in flow style."""
    if isinstance(value, dict):
        return all(_is_scalar(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_scalar(v) or (isinstance(v, dict) and _flat(v)) for v in value)
    return False


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value, flow=True)


def _mapping(doc: dict, indent: int) -> list[str]:
    lines = []
    pad = " " * indent
    for key, value in doc.items():
        head = f"{pad}{key}:"
        if _is_scalar(value):
            lines.append(f"{head} {_scalar(value, flow=False)}")
            continue
        if _flat(value):
            inline = _flow(value)
            if len(head) + 1 + len(inline) <= WIDTH:
                lines.append(f"{head} {inline}")
                continue
            if indent + INDENT + len(inline) <= WIDTH:
                lines += [head, " " * (indent + INDENT) + inline]
                continue
        lines.append(head)
        if isinstance(value, dict):
            lines += _mapping(value, indent + INDENT)
        else:
            lines += _sequence(value, indent + INDENT)
    return lines


def _sequence(items: list, indent: int) -> list[str]:
    lines = []
    pad = " " * indent
    for item in items:
        if isinstance(item, dict):
            first, *rest = _mapping(item, indent + INDENT)
            lines += [f"{pad}- {first.lstrip()}", *rest]
        elif isinstance(item, list):
            lines.append(f"{pad}- {_flow(item)}")
        else:
            lines.append(f"{pad}- {_scalar(item, flow=False)}")
    return lines
