"""Run a ``steps`` template, and one call of a template from a step or a DAG task.

A ``steps`` template is a list of groups: the groups run in sequence, the members of a group run
together (each in a thread). A call first *plans* its nodes (:func:`plan`): its loop
(``withItems``/``withParam``) gives one node per item, each item's ``when`` decides whether it
runs, and its arguments are substituted; then the nodes run through the engine, a loop's items
under a TaskGroup node. Its outputs are then published to the caller's scope as
``steps.<name>.outputs...`` (or ``tasks.<name>...``), a loop's aggregated as Argo does.

As in Argo's ``executeStepGroup`` (``workflow/controller/steps.go``), a group whose loop cannot be
expanded starts nothing and ends Error; a ``when`` that cannot be evaluated makes its step Error,
starts no step after it in the group and ends the group Error; a group with a Failed or Error
step ends Failed; and a steps template ends Failed at its first unsuccessful group.

Each function takes the :class:`~dmlp.argo.engine.Engine` running the workflow as ``engine``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from dmlp.argo import expr, gojson, graph, outputs
from dmlp.argo.records import FAILED, NodeRecord
from dmlp.argo.tasks import looped
from dmlp.example.errors import UsageError

CALL_ERRORS = (UsageError, expr.MissingVariable, expr.ExpressionError)


@dataclass
class Planned:
    """One node a step or task becomes (one item of its loop), with its fate decided."""

    name: str  # display name: "train", or "train(0:cnn)" for an item
    scope: dict
    skip: str = ""  # why it is skipped: its `when` evaluated false
    error: str = ""  # why it cannot run: a `when` or an argument that cannot be read
    parameters: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)


def run_steps(engine, t: dict, record: NodeRecord, scope: dict):
    """``(phase, message, outputs)`` of a steps template: its groups one after the other."""
    nodes = engine.ledger.nodes
    record.phase, record.children, record.outbound = "Running", [], []
    slots = engine.boundary_slots(t)
    scope = dict(scope)
    before = [record.id]
    for i, group in enumerate(t["steps"] or []):
        sg = engine.ledger.new_node(
            f"{record.id}[{i}]", f"[{i}]", t["name"], "StepGroup", record.id, running=True
        )
        graph.follow(nodes, before, sg.id)
        phase, message = _run_group(engine, group or [], sg, record, scope, slots)
        engine.ledger.finish(sg, phase, message, quiet=True)
        record.outbound = list(sg.children)
        if phase in FAILED:
            return "Failed", message, {}
        unread = outputs.failed_aggregates(scope, "steps", [s["name"] for s in group or []])
        if unread:  # executeSteps returns the error: the steps node is Error
            return "Error", unread, {}
        if engine.cancel.is_set():
            return "Failed", "cancelled", {}
        before = graph.after_steps_group(nodes, sg.id)
    return "Succeeded", "", {}


def _run_group(engine, group: list, sg: NodeRecord, record: NodeRecord, scope: dict, slots):
    """``(phase, message)`` of one group of steps, started in order as ``executeStepGroup`` does."""
    planned = []
    for step in group:
        try:
            planned.append((step, plan(step, scope)))
        except CALL_ERRORS as err:
            return "Error", f"step {step['name']!r}: {err}"
    started, error = [], None
    for step, items in planned:
        kept = []
        for item in items:
            kept.append(item)
            if item.error:
                error = f"step {item.name!r} Error: {item.error}"
                break
        started.append((step, kept))
        if error:
            break
    jobs = [
        (lambda s=s, k=k: call(engine, s, record, k, scope, "steps", slots)) for s, k in started
    ]
    ran = []
    for node in in_parallel(engine, jobs):
        items = [engine.ledger.nodes[c] for c in node.children] if _looped(node) else [node]
        for item in items:
            graph.follow(engine.ledger.nodes, [sg.id], item.id)
        ran += items
    if error:
        return "Error", error
    failed = [n for n in ran if n.phase in FAILED]
    if failed:
        return "Failed", f"step {failed[0].name!r} {failed[0].phase}: {failed[0].message}"
    return "Succeeded", ""


def _looped(node: NodeRecord) -> bool:
    return node.type == "TaskGroup"


def expand(call: dict, scope: dict) -> list[tuple[str, dict]]:
    """``[(display name, scope with item)]`` for a step/task, one per item of a loop."""
    if not looped(call):
        return [(call["name"], scope)]
    if call.get("withItems"):
        items = call["withItems"]
    else:
        raw = expr.substitute(str(call["withParam"]), scope)
        try:
            items = json.loads(raw)
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise UsageError(f"withParam value could not be parsed as a JSON list: {raw[:80]}")
    out = []
    for i, item in enumerate(items):
        item_scope = dict(scope)
        if isinstance(item, dict):  # processItem: each value printed, the labels sorted
            item_scope["item"] = gojson.dumps(item)
            for k, v in item.items():
                item_scope[f"item.{k}"] = _text(v)
            label = ",".join(sorted(f"{k}:{_text(v)}" for k, v in item.items()))
        else:  # a list item is json.Marshal'd, a string given as it is, a number printed
            item_scope["item"] = (
                gojson.dumps(item) if isinstance(item, list)
                else item if isinstance(item, str) else _text(item)
            )  # fmt: skip
            label = _text(item)
        label = label.replace("(", "").replace(")", "")  # generateNodeName
        out.append((f"{call['name']}({i}:{label})", item_scope))
    return out


def plan(call: dict, scope: dict) -> list[Planned]:
    """The nodes of one step/task: its items, each with its ``when`` and its arguments.

    A loop that cannot be expanded raises (the caller records the error).
    """
    out = []
    for name, item_scope in expand(call, scope):
        item = Planned(name, item_scope)
        out.append(item)
        if "when" in call:
            try:
                condition = expr.substitute(str(call["when"]), item_scope)
                go = expr.evaluate_when(condition)
            except (expr.MissingVariable, expr.ExpressionError) as err:
                item.error = f"when: {err}"
                continue
            if not go:
                item.skip = f"when '{condition}' evaluated false"
                continue
        try:
            item.parameters, item.artifacts = _arguments(call, item_scope)
        except (expr.MissingVariable, expr.ExpressionError) as err:
            item.error = f"arguments: {err}"
    return out


def _arguments(call: dict, scope: dict) -> tuple[dict, dict]:
    """The call's arguments, substituted; one that names an absent output stays absent.

    An argument that is exactly ``{{...}}`` naming the output of a skipped or omitted node that
    declares no default is :data:`~dmlp.argo.expr.ABSENT`: the input's own default applies
    (``markAbsentOptionalArgs`` in ``workflow/controller/scope.go``, ``ProcessArgs``).
    """
    arguments = call.get("arguments") or {}
    params = {}
    for p in arguments.get("parameters") or []:
        value = str(p.get("value", ""))
        absent = expr.names_absent(value, scope)
        params[p["name"]] = expr.ABSENT if absent else expr.substitute(value, scope)
    arts = {
        a["name"]: expr.substitute(str(a.get("from", "")), scope)
        for a in arguments.get("artifacts") or []
    }
    return params, arts


def launch(engine, call: dict, item: Planned, parent_id: str, id_prefix: str, slots) -> NodeRecord:
    """Run one planned node: skipped, an error, or its template through the engine."""
    ledger = engine.ledger
    node_id = f"{id_prefix}.{item.name}"
    if item.error or item.skip:
        node = ledger.new_node(node_id, item.name, call["template"], "Skipped", parent_id)
        return ledger.finish(node, "Error" if item.error else "Skipped", item.error or item.skip)
    return engine.execute(
        call["template"], node_id, item.parameters, item.artifacts, parent_id, item.name, slots
    )


def call(
    engine, call: dict, parent: NodeRecord, items: list[Planned], scope: dict, prefix: str, slots
) -> NodeRecord:
    """Run a planned step/task and publish its outputs under ``prefix`` (``steps``/``tasks``).

    A loop's items run together under a TaskGroup node, which ends with the phase of its last
    unsuccessful item (``executeDAGTask`` in ``dag.go``); a loop over no items is one Skipped
    node, "Skipped, empty params".
    """
    ledger = engine.ledger
    if not looped(call):
        node = launch(engine, call, items[0], parent.id, parent.id, slots)
        outputs.publish(engine, scope, prefix, call, node)
        return node
    node_id = f"{parent.id}.{call['name']}"
    if not items:
        node = ledger.new_node(node_id, call["name"], call["template"], "Skipped", parent.id)
        ledger.finish(node, "Skipped", "Skipped, empty params")
        outputs.publish(engine, scope, prefix, call, node)
        return node
    group = ledger.new_node(
        node_id, call["name"], call["template"], "TaskGroup", parent.id, running=True
    )
    children = in_parallel(
        engine, [(lambda i=i: launch(engine, call, i, group.id, parent.id, slots)) for i in items]
    )
    group.children = [c.id for c in children]
    phase, message = "Succeeded", ""
    for child in children:
        if child.phase in FAILED:
            phase, message = child.phase, f"{child.name}: {child.message}"
    ledger.finish(group, phase, message, quiet=True)
    outputs.publish_loop(engine, scope, prefix, call, group, children, parent)
    return group


def in_parallel(engine, jobs: list) -> list[NodeRecord]:
    """Run ``jobs`` (callables returning records) in threads, in order of the list."""
    results: list[NodeRecord | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def work(i: int, job) -> None:
        try:
            results[i] = job()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(err)
            engine.cancel.set()

    threads = [threading.Thread(target=work, args=(i, j), daemon=True) for i, j in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.1)
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _text(value: Any) -> str:
    """``fmt.Sprintf("%v", item)`` of a ``wfv1.Item``: ``Item.String`` gives its JSON with a
    string's quotes taken off, its escapes (``\\"``, ``\\\\``, ``\\n``) kept, and ``util/json.Fix``
    undoes Go's ``<``, ``>``, ``&`` escapes."""
    text = gojson.unescape_html(gojson.dumps(value))
    return text[1:-1] if text.startswith('"') else text
