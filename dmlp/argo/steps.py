"""Run a ``steps`` template, and one call of a template from a step or a DAG task.

A ``steps`` template is a list of groups: the groups run in sequence, the members of a group run
together (each in a thread, within the template's ``parallelism``). One call expands its loop
(``withItems``/``withParam``: one child node per item, under a TaskGroup node), evaluates its
``when``, substitutes its arguments and runs the template through the engine; its outputs are
then published to the caller's scope as ``steps.<name>.outputs...`` (or ``tasks.<name>...``).

Each function takes the :class:`~dmlp.argo.engine.Engine` running the workflow as ``engine``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from dmlp.argo import expr
from dmlp.argo.records import FAILED, NodeRecord
from dmlp.example.errors import UsageError


def run_steps(engine, t: dict, record: NodeRecord, scope: dict):
    """``(phase, message, outputs)`` of a steps template: its groups one after the other."""
    record.phase = "Running"
    scope = dict(scope)
    for group in t["steps"] or []:
        nodes = in_parallel(
            engine, [(lambda c=c: call(engine, c, record, scope, "steps")) for c in group], record
        )
        failed = [n for n in nodes if n.phase in FAILED]
        if failed:
            return (
                "Failed",
                f"step {failed[0].name!r} {failed[0].phase}: {failed[0].message}",
                {},
            )
        if engine.cancel.is_set():
            return "Failed", "cancelled", {}
    return "Succeeded", "", {}


def expand(call: dict, scope: dict) -> list[tuple[str, dict]]:
    """``[(display name, scope with item)]`` for a step/task, one per item of a loop."""
    if "withItems" in call:
        items = call["withItems"]
    elif "withParam" in call:
        raw = expr.substitute(str(call["withParam"]), scope)
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise UsageError(f"withParam of {call['name']!r} is not a JSON list: {raw[:80]}")
    else:
        return [(call["name"], scope)]
    out = []
    for i, item in enumerate(items):
        item_scope = dict(scope)
        if isinstance(item, dict):
            item_scope["item"] = json.dumps(item, separators=(",", ":"))
            for k, v in item.items():
                item_scope[f"item.{k}"] = _text(v)
            label = ",".join(f"{k}:{_text(v)}" for k, v in item.items())
        else:
            item_scope["item"] = _text(item)
            label = _text(item)
        out.append((f"{call['name']}({i}:{label})", item_scope))
    return out


def call(engine, call: dict, parent: NodeRecord, scope: dict, prefix: str) -> NodeRecord:
    """Run one step/task (its loop, its ``when``) and publish its outputs under ``prefix``."""
    ledger = engine.ledger
    try:
        expanded = expand(call, scope)
    except (UsageError, expr.MissingVariable) as err:
        node = ledger.new_node(
            f"{parent.id}.{call['name']}", call["name"], call["template"], "Pod", parent.id
        )
        return ledger.finish(node, "Error", str(err))
    looped = "withItems" in call or "withParam" in call
    if not looped:
        node = one(engine, call, parent.id, expanded[0][0], expanded[0][1])
        publish(scope, prefix, call["name"], [node], looped=False)
        return node
    group = ledger.new_node(
        f"{parent.id}.{call['name']}",
        call["name"],
        call["template"],
        "TaskGroup",
        parent.id,
        running=True,
    )
    children = in_parallel(
        engine,
        [(lambda n=n, s=s: one(engine, call, group.id, n, s, parent.id)) for n, s in expanded],
        parent,
    )
    failed = [c for c in children if c.phase in FAILED]
    publish(scope, prefix, call["name"], children, looped=True)
    group.outputs = {"children": [c.id for c in children]}
    if failed:
        return ledger.finish(group, "Failed", f"{failed[0].name}: {failed[0].message}", quiet=True)
    return ledger.finish(group, "Succeeded", "", quiet=True)


def one(
    engine, call: dict, parent_id: str, name: str, scope: dict, id_prefix: str | None = None
) -> NodeRecord:
    """One node of a call (one item of a loop): its ``when``, its arguments, its template."""
    ledger = engine.ledger
    node_id = f"{id_prefix or parent_id}.{name}"
    if "when" in call:
        try:
            condition = expr.substitute(str(call["when"]), scope)
            go = expr.evaluate_when(condition)
        except (expr.MissingVariable, expr.ExpressionError) as err:
            node = ledger.new_node(node_id, name, call["template"], "Pod", parent_id)
            return ledger.finish(node, "Error", f"when: {err}")
        if not go:
            node = ledger.new_node(node_id, name, call["template"], "Skipped", parent_id)
            return ledger.finish(node, "Skipped", f"when '{condition}' evaluated false")
    arguments = call.get("arguments") or {}
    try:
        params = {
            p["name"]: expr.substitute(str(p.get("value", "")), scope)
            for p in arguments.get("parameters") or []
        }
        arts = {
            a["name"]: expr.substitute(str(a.get("from", "")), scope)
            for a in arguments.get("artifacts") or []
        }
    except expr.MissingVariable as err:
        node = ledger.new_node(node_id, name, call["template"], "Pod", parent_id)
        return ledger.finish(node, "Error", f"arguments: {err}")
    return engine.execute(call["template"], node_id, params, arts, parent_id, name)


def in_parallel(engine, jobs: list, parent: NodeRecord) -> list[NodeRecord]:
    """Run ``jobs`` (callables returning records) in threads; the template's parallelism."""
    t = engine.templates[parent.template]
    limit = t.get("parallelism")
    slots = threading.BoundedSemaphore(int(limit)) if limit else None
    results: list[NodeRecord | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def work(i: int, job) -> None:
        if not engine.take(slots):
            return
        try:
            results[i] = job()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)
            engine.cancel.set()
        finally:
            if slots is not None:
                slots.release()

    threads = [threading.Thread(target=work, args=(i, j), daemon=True) for i, j in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.1)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def publish(scope: dict, prefix: str, name: str, nodes: list, looped: bool) -> None:
    """Put a call's outputs (a loop's: aggregated as JSON lists) into the caller's ``scope``."""
    base = f"{prefix}.{name}"
    if not looped:
        node = nodes[0]
        outputs = node.outputs or {}
        if "result" in outputs:
            scope[f"{base}.outputs.result"] = outputs["result"]
        for pname, value in (outputs.get("parameters") or {}).items():
            scope[f"{base}.outputs.parameters.{pname}"] = value
        for aname, path in (outputs.get("artifacts") or {}).items():
            scope[f"{base}.outputs.artifacts.{aname}"] = path
        if "exitCode" in outputs:
            scope[f"{base}.exitCode"] = outputs["exitCode"]
        scope[f"{base}.status"] = node.phase
        return
    ok = [n for n in nodes if n.phase == "Succeeded"]
    results = [_json_or_text(n.outputs["result"]) for n in ok if "result" in (n.outputs or {})]
    scope[f"{base}.outputs.result"] = json.dumps(results)
    maps = [n.outputs.get("parameters") or {} for n in ok if n.outputs.get("parameters")]
    scope[f"{base}.outputs.parameters"] = json.dumps(maps)
    for pname in {k for m in maps for k in m}:
        scope[f"{base}.outputs.parameters.{pname}"] = json.dumps(
            [m[pname] for m in maps if pname in m]
        )
    scope[f"{base}.status"] = "Succeeded" if len(ok) == len(nodes) else "Failed"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
