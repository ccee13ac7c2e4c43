"""JSON as Argo's controller reads and writes it: Go's ``encoding/json``, not Python's ``json``.

Argo v4.1.2 builds a loop's aggregated outputs and a ``{{item}}`` of a map or list with
``json.Marshal`` (``workflow/controller/operator.go``, ``processAggregateNodeOutputs``,
``aggregatedJSONValueList``, ``processItem``). Go writes JSON differently from Python:

* ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026``; other non-ASCII stays
  as it is;
* a value decoded into ``any`` holds its numbers as ``float64``: ``1.0`` is written ``1``,
  ``1e-7`` stays ``1e-7``, and integers past 2**53 lose their last digits;
* a ``json.RawMessage`` (a step's result kept as an ``Item``) is only compacted: its map keys keep
  their order and its numbers their spelling (``1.50``);
* ``NaN`` and ``Infinity`` are not JSON.

:func:`loads` decodes as ``json.Unmarshal(text, &any)`` does, :func:`dumps` writes as
``json.Marshal`` does, and :func:`compact` gives a raw message back as ``json.Marshal`` writes it.
Each raises :class:`ValueError` where Go returns an error.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from dmlp.argo.golang import format_float

_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPED = re.compile("[<>&\u2028\u2029]")


def _refuse(word: str):
    raise ValueError(f"invalid character {word[0]!r} looking for beginning of value")


def _float64(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"json: cannot unmarshal number {text} into a float64")
    return value


def loads(text: str) -> Any:
    """``json.Unmarshal([]byte(text), &v)`` with ``v any``: every number a float."""
    return json.loads(text, parse_float=_float64, parse_int=_float64, parse_constant=_refuse)


def escape_html(text: str) -> str:
    """``<``, ``>``, ``&``, U+2028 and U+2029 written as Go's encoder writes them in a string."""
    return _ESCAPED.sub(lambda match: _HTML[match.group()], text)


def unescape_html(text: str) -> str:
    """What Argo's ``util/json.Fix`` undoes: ``<``, ``>`` and ``&`` back as they were."""
    return text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def dumps(value: Any) -> str:
    """``json.Marshal(value)``: compact, map keys sorted, floats as Go writes a float64."""
    if isinstance(value, dict):
        pairs = sorted((str(key), item) for key, item in value.items())
        return "{" + ",".join(f"{dumps(key)}:{dumps(item)}" for key, item in pairs) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"json: unsupported value: {format_float(value)}")
        return re.sub(r"e-0(\d)$", r"e-\1", format_float(value, -6, 21))
    return escape_html(json.dumps(value, ensure_ascii=False))


def compact(text: str) -> str:
    """A JSON text as ``json.Marshal`` writes it back from a ``json.RawMessage``: whitespace out,
    ``<``, ``>`` and ``&`` escaped, everything else (key order, numbers) as written."""
    json.loads(text, parse_constant=_refuse)  # Go's syntax check: ValueError if not JSON
    out, in_string, escaped = [], False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in " \t\n\r":
            continue
        out.append(char)
    return escape_html("".join(out))
