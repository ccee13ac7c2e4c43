"""What a workflow run leaves behind: one record per node, the run's result, its table.

The vocabulary is Argo's: a node (a step, a task, a group) goes Pending -> Running -> one of
:data:`DONE`; a workflow ends in one of :data:`WORKFLOW_DONE`, the same phases on the cluster
(:mod:`dmlp.argo.submit`) as on this machine. :class:`Ledger` keeps the nodes of a run as they
start and finish, from many threads, with a progress line for each step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dmlp.example import cli

FAILED = ("Failed", "Error")  # Failed: the program failed; Error: anything else went wrong
WORKFLOW_DONE = ("Succeeded", *FAILED)  # the phases that end a workflow
DONE = (*WORKFLOW_DONE, "Skipped", "Omitted")  # the phases that end a node
ROW_HEADERS = ("step", "template", "phase", "start s", "end s", "seconds", "attempts", "note")


class WorkflowFailed(RuntimeError):
    """The workflow ended Failed or Error; the message names the failing step and its cause."""


@dataclass
class NodeRecord:
    """One node of the run, as in Argo's ``status.nodes``: times are seconds since the start."""

    id: str
    name: str
    template: str
    type: str  # Pod, Resource, Steps, StepGroup, DAG, TaskGroup, Skipped
    phase: str = "Pending"
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    message: str = ""
    outputs: dict = field(default_factory=dict)
    cache: str | None = None  # "hit" / "miss" for memoized nodes
    parent: str | None = None
    children: list[str] = field(default_factory=list)  # the nodes that follow (dmlp.argo.graph)
    outbound: list[str] = field(default_factory=list)  # a Steps/DAG node: where its branches end

    @property
    def duration(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started

    @property
    def leaf(self) -> bool:
        return self.type in ("Pod", "Resource")


@dataclass
class WorkflowResult:
    """What :func:`dmlp.argo.run` returns: the phase, the nodes in start order, where files went."""

    name: str
    phase: str
    message: str
    seconds: float
    nodes: dict[str, NodeRecord]
    work_dir: str
    outputs: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    def node(self, name: str) -> NodeRecord:
        """The node whose display name (or id) is ``name``, e.g. ``"train(0:cnn)"``."""
        for record in self.nodes.values():
            if name in (record.name, record.id):
                return record
        raise KeyError(f"no node {name!r}; nodes: {', '.join(r.name for r in self.nodes.values())}")

    def leaves(self) -> list[NodeRecord]:
        """Steps that ran (or were cache hits / skipped), in start order."""
        kinds = ("Pod", "Resource", "Skipped")
        nodes = [r for r in self.nodes.values() if r.type in kinds or r.cache == "hit"]
        return sorted(nodes, key=lambda r: (r.started is None, r.started or 0.0))

    def rows(self) -> list[tuple]:
        """``(step, template, phase, start s, end s, seconds, attempts, note)`` per leaf."""
        return [
            (
                r.name,
                r.template,
                r.phase,
                round(r.started or 0.0, 2),
                round(r.finished or 0.0, 2),
                round(r.duration, 2),
                r.attempts,
                "cache hit" if r.cache == "hit" else r.message[:60],
            )
            for r in self.leaves()
        ]

    def raise_for_status(self) -> WorkflowResult:
        if not self.succeeded:
            raise WorkflowFailed(f"workflow {self.name} {self.phase}: {self.message}")
        return self


def print_summary(result: WorkflowResult, title: str | None = None) -> None:
    """The per-step table: phase, start, end, seconds, attempts, note."""
    cli.print_table(result.rows(), ROW_HEADERS, title or f"Workflow {result.name}: {result.phase}")


class Ledger:
    """The nodes of one run, recorded from many threads; ``log`` gets a line per step's end."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.nodes: dict[str, NodeRecord] = {}
        self.lock = threading.Lock()
        self.start = time.perf_counter()

    def now(self) -> float:
        """Seconds since the run started."""
        return time.perf_counter() - self.start

    def new_node(self, node_id, name, template, kind, parent, running=False) -> NodeRecord:
        """Record a node that starts now (``running``: a group whose children are starting)."""
        phase = "Running" if running else "Pending"
        record = NodeRecord(node_id, name, template, kind, phase, self.now(), parent=parent)
        with self.lock:
            self.nodes[record.id] = record
        return record

    def finish(self, record: NodeRecord, phase: str, message: str, quiet: bool = False):
        """Close a node; steps that ran (or were skipped) get a progress line."""
        record.phase, record.message, record.finished = phase, message, self.now()
        if not quiet and (record.leaf or record.type == "Skipped"):
            note = f": {short(message)}" if message and phase != "Succeeded" else ""
            self.log(f"{phase:<10} {record.id}  {record.duration:.1f}s{note}")
        return record

    def children(self, node_id: str) -> list[NodeRecord]:
        """The nodes recorded so far whose parent is ``node_id``."""
        with self.lock:  # other threads add nodes meanwhile
            return [n for n in self.nodes.values() if n.parent == node_id]


def short(text: str) -> str:
    """``text`` cut to one progress line."""
    return text if len(text) <= 160 else text[:157] + "..."
