"""The shape of a DAG template: which tasks a task waits for, which tasks it runs for, cycles,
and which steps or tasks are loops.

Read as Argo v4.1.2 reads them (``workflow/common/ancestry.go`` ``GetTaskDependencies``,
``workflow/controller/dag.go`` ``findLeafTaskNames``, ``workflow/validate/validate.go``
``verifyNoCycles``); used by the check before the run (:mod:`dmlp.argo.spec`) and by the run
itself (:mod:`dmlp.argo.dag`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dmlp.argo import expr


def looped(call: Mapping[str, Any]) -> bool:
    """Whether a step or task is a loop: a non-empty ``withItems`` or ``withParam``
    (``ShouldExpand``); ``withItems: []`` is a call that runs once."""
    return bool(call.get("withItems")) or bool(call.get("withParam"))


def task_needs(task: Mapping[str, Any]) -> list[str]:
    """The tasks a DAG task waits for: the names in its ``depends``, else its ``dependencies``."""
    if "depends" in task:
        return expr.depends_names(str(task["depends"]))
    return list(task.get("dependencies") or [])


def dag_targets(dag: Mapping[str, Any], target: str | None = None) -> list[str]:
    """The tasks a DAG runs for: ``target`` (default: the DAG's own; split on each single
    space, so two spaces give an empty name), else every task that no other task depends on
    (``executeDAG``, ``findLeafTaskNames`` in ``dag.go``; ``validateDAGTargets``)."""
    target = dag.get("target") if target is None else target
    if target:
        return str(target).split(" ")
    tasks = dag.get("tasks") or []
    needed = {need for task in tasks for need in task_needs(task)}
    return sorted({task.get("name") for task in tasks} - needed)


def with_ancestors(targets: list[str], needs: Mapping[str, list[str]]) -> set[str]:
    """``targets`` and every task they depend on, directly or not."""
    found: set[str] = set()
    todo = list(targets)
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(needs.get(name, []))
    return found


def find_cycle(edges: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in ``task -> its dependencies`` as a list of names (first == last), or ``None``."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in edges.get(node, []):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state and (found := visit(node)):
            return found
    return None
