"""Which node follows which, and the phase of a DAG read from that graph, as Argo v4.1.2 does it.

Argo records, for every node of a run, the nodes that come after it (its ``children``), and the
phase of a DAG is read from that graph, not from the tasks alone
(``workflow/controller/dag.go``, ``assessDAGPhase``):

* the DAG's root tasks follow the DAG node; a task follows the *outbound* nodes of every task it
  depends on, omitted and skipped tasks too; the items of a fan-out follow their TaskGroup;
* a steps template's first group follows the steps node, each later group follows the outbound
  nodes of the steps of the group before (``steps.go``, ``executeSteps``);
* a node's outbound nodes are where its branch ends (``operator.go``, ``getOutboundNodes``): a pod
  or a skipped node is its own, a TaskGroup's are its items', a nested steps or DAG node's are
  those of its last group or its target tasks.

A walk from the DAG node carries a *branch phase*: every node that ran (Succeeded, Failed or
Error) sets it, a skipped or omitted node inherits it. Each target task (by default the tasks no
other task depends on) gets the phase of its branch, Failed or Error winning once seen; the first
failed target, in the order ``dag.target`` lists them (else the leaves by name), decides the
DAG's phase. So a failure that only omits the tasks after it still fails the DAG, and one
followed by a task that ran does not.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from dmlp.argo.records import DONE, FAILED, NodeRecord

OWN_OUTBOUND = ("Pod", "Resource", "Skipped")  # nodes that end their own branch
RAN = ("Succeeded", *FAILED)  # Argo's NodePhase.Completed(): the phases that set a branch


def outbound(nodes: Mapping[str, NodeRecord], node_id: str) -> list[str]:
    """The nodes a branch through ``node_id`` ends at (``getOutboundNodes``)."""
    node = nodes[node_id]
    if node.type in OWN_OUTBOUND:
        return [node.id]
    if node.type == "TaskGroup":
        if not node.children:
            return [node.id]
        return [o for child in node.children for o in outbound(nodes, child)]
    if node.type in ("Steps", "DAG") and node.cache == "hit":
        return [node.id]
    return [o for out in node.outbound for o in outbound(nodes, out)]


def follow(nodes: Mapping[str, NodeRecord], before: Iterable[str], node_id: str) -> None:
    """Record that ``node_id`` comes after each of the nodes ``before``."""
    for parent in before:
        children = nodes[parent].children
        if node_id not in children:
            children.append(node_id)


def after_steps_group(nodes: Mapping[str, NodeRecord], group_id: str) -> list[str]:
    """The nodes the next steps group follows: the outbound nodes of ``group_id``'s steps.

    A group with no steps at all (an empty loop) is followed itself (``executeSteps``).
    """
    group = nodes[group_id]
    if not group.children:
        return [group_id]
    return [o for child in group.children for o in outbound(nodes, child)]


def dag_phase(
    nodes: Mapping[str, NodeRecord],
    boundary: str,
    targets: Mapping[str, str],
    fail_fast: bool = True,
    shutdown: bool = False,
) -> str:
    """The phase of the DAG node ``boundary`` (``assessDAGPhase``); ``Running`` if not decided.

    ``targets`` maps each target task's name to its node id (tasks without a node are unreached),
    in the DAG's order of targets: the first failed one decides.
    """
    if shutdown:
        return "Failed"
    branch_of: dict[str, str] = {targets[name]: "" for name in targets}
    queue: deque[tuple[str, str]] = deque()
    seen: set[tuple[str, str]] = set()

    def add(children: Iterable[str], phase: str) -> None:
        for child in children:
            if (child, phase) not in seen:
                seen.add((child, phase))
                queue.append((child, phase))

    add(nodes[boundary].children, "Succeeded")
    while queue:
        node_id, branch = queue.popleft()
        node = nodes.get(node_id)
        if node is None or node.phase not in DONE:
            return "Running"
        if node.phase in RAN:
            branch = node.phase
        if node_id in branch_of and branch_of[node_id] not in FAILED:
            branch_of[node_id] = branch
        add(node.children, branch)
    result = "Succeeded"
    for name in targets:
        branch = branch_of[targets[name]]
        if branch == "":
            result = "Running"
            if not fail_fast:
                break
        elif branch in FAILED:
            result = branch
            if fail_fast:
                break
    return result
