"""Run a ``dag`` template: each task starts as soon as what it depends on has finished.

``dependencies`` wait for the named tasks to succeed (or be skipped); ``depends`` is Argo's
enhanced logic (``a.Succeeded || b.Failed``, ``c.AnySucceeded``, ...). A task whose condition is
false is recorded as Omitted. The DAG fails if a task failed that no other task's ``depends``
handles (``.Failed``, ``.Errored``, ``.AllFailed``), as Argo's ``assessDAGPhase`` decides.
"""

from __future__ import annotations

import threading

from dmlp.argo import expr, spec, steps
from dmlp.argo.records import FAILED, NodeRecord


def run_dag(engine, t: dict, record: NodeRecord, scope: dict):
    """``(phase, message, outputs)`` of a DAG template; ``engine`` runs the tasks."""
    ledger = engine.ledger
    record.phase = "Running"
    scope = dict(scope)
    tasks = {task["name"]: task for task in t["dag"]["tasks"]}
    needs = {name: spec.task_needs(task) for name, task in tasks.items()}
    handled = {
        name.split(".")[0]
        for task in tasks.values()
        for name in str(task.get("depends", "")).replace("(", " ").replace(")", " ").split()
        if name.endswith((".Failed", ".Errored", ".AllFailed"))
    }
    done: dict[str, NodeRecord] = {}
    pending = list(tasks)
    running: dict[str, threading.Thread] = {}
    outcome: dict[str, NodeRecord] = {}
    limit = t.get("parallelism")
    changed = threading.Event()

    def state(name: str, result: str) -> bool:
        node = done[name]
        phase = node.phase
        mapping = {"Errored": "Error"}
        kids = ledger.children(node.id)
        if result == "AnySucceeded":
            return any(k.phase == "Succeeded" for k in kids) or phase == "Succeeded"
        if result == "AllFailed":
            return bool(kids) and all(k.phase in FAILED for k in kids)
        if result == "Daemoned":
            return False
        return phase == mapping.get(result, result)

    def start(name: str) -> None:
        def work() -> None:
            try:
                outcome[name] = steps.call(engine, tasks[name], record, scope, "tasks")
            finally:
                changed.set()

        thread = threading.Thread(target=work, daemon=True)
        running[name] = thread
        thread.start()

    while pending or running:
        if engine.cancel.is_set() and not running:
            break
        for name in list(pending):
            if any(dep not in done for dep in needs[name]):
                continue
            if limit and len(running) >= int(limit):
                break
            pending.remove(name)
            task = tasks[name]
            if "depends" in task:
                go = expr.evaluate_depends(str(task["depends"]), state)
            else:
                go = all(state(d, "Succeeded") or state(d, "Skipped") for d in needs[name])
            if go and not engine.cancel.is_set():
                start(name)
            else:
                node = ledger.new_node(
                    f"{record.id}.{name}", name, task["template"], "Skipped", record.id
                )
                done[name] = ledger.finish(node, "Omitted", "dependencies not satisfied")
        changed.wait(0.1)
        changed.clear()
        for name, thread in list(running.items()):
            if not thread.is_alive():
                thread.join()
                del running[name]
                done[name] = outcome[name]
    failed = [n for name, n in done.items() if n.phase in FAILED and name not in handled]
    if failed:
        return "Failed", f"task {failed[0].name!r} {failed[0].phase}: {failed[0].message}", {}
    if engine.cancel.is_set():
        return "Failed", "cancelled", {}
    return "Succeeded", "", {}
