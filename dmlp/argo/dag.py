"""Run a ``dag`` template: each task starts as soon as what it depends on has finished.

As Argo v4.1.2 does it (``workflow/controller/dag.go``):

* ``dependencies: [a, b]`` means ``depends: a && b``; a bare ``a`` means
  ``(a.Succeeded || a.Skipped || a.Daemoned)``; ``.AnySucceeded`` and ``.AllFailed`` look at
  the items of a fan-out (false for a task without a loop), ``.AllFailed`` at Failed items only
  (``evaluateDependsLogic``);
* a task whose ``depends`` is false is Omitted; a task whose ``when`` cannot be evaluated is
  Error, and the other tasks carry on (``executeDAGTask``);
* only the targets (``dag.target``, else every task no other task depends on) and the tasks they
  depend on run;
* the DAG's phase comes from the branches that reach its targets (:mod:`dmlp.argo.graph`), with
  ``failFast`` (default true) as in ``assessDAGPhase``.
"""

from __future__ import annotations

import threading

from dmlp.argo import expr, graph, outputs, steps
from dmlp.argo.records import FAILED, NodeRecord
from dmlp.argo.tasks import dag_targets, task_needs, with_ancestors

_RESULT_PHASE = {"Errored": "Error"}  # a depends result and the node phase it tests


def run_dag(engine, t: dict, record: NodeRecord, scope: dict):
    """``(phase, message, outputs)`` of a DAG template; ``engine`` runs the tasks."""
    ledger, nodes = engine.ledger, engine.ledger.nodes
    record.phase, record.children, record.outbound = "Running", [], []
    scope = dict(scope)
    slots = engine.boundary_slots(t)
    tasks = {task["name"]: task for task in t["dag"]["tasks"]}
    needs = {name: task_needs(task) for name, task in tasks.items()}
    try:  # the controller reads the template with its inputs substituted (executeDAG)
        target = expr.substitute(str(t["dag"].get("target") or ""), scope)
    except (expr.MissingVariable, expr.ExpressionError) as err:
        return "Error", f"dag.target: {err}", {}
    targets = dag_targets(t["dag"], target)
    unknown = [name for name in targets if name not in tasks]
    if unknown:  # validateDAGTargets' message, for a target that was a parameter
        return "Error", f"dag.target: target {unknown[0]!r} is not defined", {}
    wanted = with_ancestors(targets, needs)
    done: dict[str, NodeRecord] = {}
    pending = [name for name in tasks if name in wanted]
    running: dict[str, threading.Thread] = {}
    outcome: dict[str, NodeRecord] = {}
    changed = threading.Event()

    def state(name: str, result: str) -> bool:
        node = done[name]
        if result in ("AnySucceeded", "AllFailed"):
            kids = [nodes[c].phase for c in node.children] if node.type == "TaskGroup" else []
            if result == "AnySucceeded":
                return "Succeeded" in kids
            return bool(kids) and all(phase == "Failed" for phase in kids)
        if result == "Daemoned":
            return False
        return node.phase == _RESULT_PHASE.get(result, result)

    def ancestors(name: str) -> set[str]:
        return with_ancestors(needs[name], needs)

    def place(name: str, node: NodeRecord) -> None:
        """Record the task's node, after the outbound nodes of what it depends on."""
        deps = needs[name]
        before = [o for d in deps for o in graph.outbound(nodes, done[d].id)]
        graph.follow(nodes, before if deps else [record.id], node.id)
        done[name] = node

    def not_run(name: str, phase: str, message: str) -> None:
        task = tasks[name]
        node = ledger.new_node(f"{record.id}.{name}", name, task["template"], "Skipped", record.id)
        place(name, ledger.finish(node, phase, message))
        outputs.publish(engine, scope, "tasks", task, node)

    def start(name: str) -> None:
        def work() -> None:
            try:
                outcome[name] = _run_task(engine, tasks[name], record, scope, slots)
            finally:
                changed.set()

        running[name] = threading.Thread(target=work, daemon=True)
        running[name].start()

    while True:
        ready = True
        while ready and not engine.cancel.is_set():  # a task not run can make others ready
            ready = [n for n in pending if all(dep in done for dep in needs[n])]
            for name in ready:
                pending.remove(name)
                try:
                    go = expr.evaluate_depends(_depends(tasks[name]), state)
                except expr.ExpressionError as err:
                    not_run(name, "Error", f"depends: {err}")
                    continue
                unread = outputs.failed_aggregates(scope, "tasks", ancestors(name))
                if unread:  # buildLocalScopeFromTask fails for this task, run or omitted
                    not_run(name, "Error", unread)
                elif go:
                    start(name)
                else:
                    not_run(name, "Omitted", "omitted: depends condition not met")
        if not running:
            break  # everything that could start has finished (or the run is cancelled)
        changed.wait(0.1)
        changed.clear()
        for name, thread in list(running.items()):
            if not thread.is_alive():
                thread.join()
                del running[name]
                place(name, outcome[name])
    record.outbound = [done[name].id for name in targets if name in done]
    target_ids = {name: f"{record.id}.{name}" for name in targets}
    cancelled = engine.cancel.is_set()
    fail_fast = t["dag"].get("failFast", True) is not False
    phase = graph.dag_phase(nodes, record.id, target_ids, fail_fast, shutdown=cancelled)
    if cancelled:
        return "Failed", "cancelled", {}
    if phase == "Succeeded":
        unread = outputs.failed_aggregates(scope, "tasks", tasks)
        return ("Error", unread, {}) if unread else ("Succeeded", "", {})
    failed = [n for n in done.values() if n.phase in FAILED]
    if phase not in FAILED or not failed:  # cannot happen: every wanted task has a node
        return "Error", f"the DAG's phase could not be decided ({phase})", {}
    return phase, f"task {failed[0].name!r} {failed[0].phase}: {failed[0].message}", {}


def _depends(task: dict) -> str:
    """The task's ``depends``, or its ``dependencies`` joined by ``&&`` (``ancestry.go``)."""
    if "depends" in task:
        return str(task["depends"])
    return " && ".join(task.get("dependencies") or [])


def _run_task(engine, task: dict, record: NodeRecord, scope: dict, slots) -> NodeRecord:
    """One task whose dependencies allow it: plan its items, then run them."""
    try:
        items = steps.plan(task, scope)
    except steps.CALL_ERRORS as err:
        ledger = engine.ledger
        node = ledger.new_node(
            f"{record.id}.{task['name']}", task["name"], task["template"], "Skipped", record.id
        )
        ledger.finish(node, "Error", str(err))
        outputs.publish(engine, scope, "tasks", task, node)
        return node
    return steps.call(engine, task, record, items, scope, "tasks", slots)
