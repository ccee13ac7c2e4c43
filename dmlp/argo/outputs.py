"""What a step or DAG task leaves in its caller's scope: its outputs, a loop's aggregated.

As Argo v4.1.2 fills that scope (``workflow/controller/operator.go``, ``buildLocalScope`` and
``processAggregateNodeOutputs``; ``workflow/controller/scope.go``):

* one node: ``<prefix>.<name>.outputs.result``, ``.outputs.parameters.P``,
  ``.outputs.artifacts.A``, ``.exitCode``, ``.status``; a skipped or omitted node gives each
  declared output parameter its ``valueFrom.default``, or an absent value
  (:data:`~dmlp.argo.expr.ABSENT`, ``addSkippedNodeOutputsToScope``);
* a loop, from its Succeeded items in item order: ``.outputs.result`` is the JSON list of their
  results, each kept as the JSON it is (an ``Item``: compacted, its key order and numbers as
  printed; an item whose result is not JSON makes the aggregation fail, when the result is used
  at all); ``.outputs.parameters`` the JSON list of their parameter maps;
  ``.outputs.parameters.P`` the JSON list of the values, each decoded if all are JSON lists or
  maps (``aggregatedJSONValueList``: numbers become float64), else the strings. JSON is written
  as Go writes it (:mod:`dmlp.argo.gojson`).
"""

from __future__ import annotations

from dmlp.argo import expr, gojson
from dmlp.argo.records import NodeRecord

FAILED_AGGREGATE = "__aggregate_failed."  # scope key prefix: why a loop's outputs cannot be read


def publish(engine, scope: dict, prefix: str, call: dict, node: NodeRecord) -> None:
    """Put the outputs of one node (a step or task without a loop) in ``scope``."""
    base = f"{prefix}.{call['name']}"
    outputs = node.outputs or {}
    if node.phase in ("Skipped", "Omitted") and not outputs:
        outputs = skipped_outputs(engine.templates[call["template"]])
    if "result" in outputs:
        scope[f"{base}.outputs.result"] = outputs["result"]
    for name, value in (outputs.get("parameters") or {}).items():
        scope[f"{base}.outputs.parameters.{name}"] = value
    for name, path in (outputs.get("artifacts") or {}).items():
        scope[f"{base}.outputs.artifacts.{name}"] = path
    if "exitCode" in outputs:
        scope[f"{base}.exitCode"] = outputs["exitCode"]
    scope[f"{base}.status"] = node.phase


def publish_loop(
    engine, scope: dict, prefix: str, call: dict, group: NodeRecord, items: list, parent
) -> None:
    """Put the aggregated outputs of a loop's ``items`` in ``scope``.

    Argo captures a result only where it is used (``includeScriptOutput``), so an item's result
    that is not JSON fails the aggregation only if ``<prefix>.<name>.outputs.result`` appears in
    the calling template ``parent``; the reason is kept under :data:`FAILED_AGGREGATE`.
    """
    base = f"{prefix}.{call['name']}"
    ok = [n for n in items if n.phase == "Succeeded"]
    used = f"{base}.outputs.result" in gojson.dumps(engine.templates[parent.template])
    results = []
    for node in ok:
        if "result" not in (node.outputs or {}):
            continue
        try:
            results.append(gojson.compact(node.outputs["result"]))
        except ValueError:
            if used:
                scope[f"{FAILED_AGGREGATE}{base}"] = (
                    f"{base}.outputs.result: the result of {node.name} is not JSON "
                    f"({node.outputs['result'][:40]!r}), so Argo cannot aggregate it"
                )
            results.append(gojson.dumps(node.outputs["result"]))
    scope[f"{base}.outputs.result"] = f"[{','.join(results)}]"
    maps = [n.outputs.get("parameters") or {} for n in ok if n.outputs.get("parameters")]
    scope[f"{base}.outputs.parameters"] = gojson.dumps(maps)
    for name in {k for m in maps for k in m}:
        scope[f"{base}.outputs.parameters.{name}"] = aggregated(
            [m[name] for m in maps if name in m]
        )
    scope[f"{base}.status"] = group.phase


def aggregated(values: list[str]) -> str:
    """The JSON list of ``values``: decoded if every one is a JSON list or map, else strings."""
    parsed = []
    for value in values:
        try:
            item = gojson.loads(value)
        except ValueError:
            return gojson.dumps(values)
        if not isinstance(item, list | dict):
            return gojson.dumps(values)
        parsed.append(item)
    return gojson.dumps(parsed)


def failed_aggregates(scope: dict, prefix: str, names) -> str | None:
    """Why the outputs of one of the loops ``names`` cannot be read, or ``None``."""
    for name in names:
        why = scope.get(f"{FAILED_AGGREGATE}{prefix}.{name}")
        if why:
            return why
    return None


def skipped_outputs(t: dict) -> dict:
    """The outputs a skipped or omitted node of template ``t`` stands for: declared defaults."""
    params = {}
    for p in (t.get("outputs") or {}).get("parameters") or []:
        value_from = p.get("valueFrom") or {}
        params[p["name"]] = str(value_from["default"]) if "default" in value_from else expr.ABSENT
    return {"parameters": params} if params else {}
