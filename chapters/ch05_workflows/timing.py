"""Timing of a run: overlap, critical path, a text timeline and a Gantt chart (chapter 5)."""

from __future__ import annotations

import os
from pathlib import Path

from dmlp.argo.records import NodeRecord, WorkflowResult
from dmlp.argo.spec import task_needs
from dmlp.example import cli


def overlapping(nodes: list[NodeRecord]) -> bool:
    """True when every node was running at one same moment (latest start < earliest end)."""
    if len(nodes) < 2:
        return False
    return max(n.started for n in nodes) < min(n.finished for n in nodes)


def critical_path(data: dict, result: WorkflowResult) -> tuple[list[str], float]:
    """The longest chain of measured step times through the entrypoint DAG (or steps groups).

    A fanned-out task counts as its slowest child. Returns ``(task names, seconds)``.
    """
    templates = {t["name"]: t for t in data["spec"]["templates"]}
    entry = templates[data["spec"]["entrypoint"]]
    root = result.name

    def seconds(name: str) -> float:
        node = result.node(f"{root}.{name}")
        kids = [n for n in result.nodes.values() if n.parent == node.id]
        return max((k.duration for k in kids), default=node.duration) if kids else node.duration

    if "steps" in entry:  # a chain of groups: the slowest member of each
        path, total = [], 0.0
        for group in entry["steps"]:
            slowest = max(group, key=lambda s: seconds(s["name"]))
            path.append(slowest["name"])
            total += seconds(slowest["name"])
        return path, total
    tasks = {t["name"]: t for t in entry["dag"]["tasks"]}
    best: dict[str, tuple[float, list[str]]] = {}

    def longest(name: str) -> tuple[float, list[str]]:
        if name not in best:
            deps = task_needs(tasks[name])
            before = max((longest(d) for d in deps), default=(0.0, []))
            best[name] = (before[0] + seconds(name), [*before[1], name])
        return best[name]

    total, path = max(longest(name) for name in tasks)
    return path, total


def timeline(result: WorkflowResult, width: int = 48) -> str:
    """One text bar per step: where it ran between the workflow's start and end."""
    leaves = [n for n in result.leaves() if n.started is not None]
    end = max((n.finished or 0.0 for n in leaves), default=0.0) or 1.0
    label = max((len(n.name) for n in leaves), default=4)
    lines = []
    for n in leaves:
        a = int(round(n.started / end * width))
        b = max(a + 1, int(round((n.finished or n.started) / end * width)))
        mark = "=" if n.phase == "Succeeded" else "." if n.phase in ("Skipped", "Omitted") else "x"
        if n.cache == "hit":
            mark = "c"
        bar = " " * a + mark * (b - a)
        lines.append(f"{n.name:<{label}} |{bar:<{width}}| {n.started:5.1f}-{n.finished or 0:5.1f}s")
    lines.append(f"{'':<{label}}  0s{'':<{width - 6}}{end:5.1f}s")
    return "\n".join(lines)


def gantt(result: WorkflowResult, path: str | os.PathLike, title: str) -> Path:
    """A PNG Gantt chart of the run: one bar per step, coloured by template."""
    leaves = [n for n in result.leaves() if n.started is not None]

    def draw(ax) -> None:
        templates = sorted({n.template for n in leaves})
        colours = {t: f"C{i}" for i, t in enumerate(templates)}
        for row, n in enumerate(reversed(leaves)):
            ax.barh(
                row,
                max(n.duration, 0.02),
                left=n.started,
                color=colours[n.template],
                hatch="//" if n.cache == "hit" else None,
                edgecolor="black",
                linewidth=0.5,
            )
        ax.set_yticks(range(len(leaves)))
        ax.set_yticklabels([n.name for n in reversed(leaves)])
        ax.set_xlabel("seconds since the workflow started")
        from matplotlib.patches import Patch

        handles = [Patch(color=c, label=t) for t, c in colours.items()]
        if any(n.cache == "hit" for n in leaves):
            handles.append(
                Patch(facecolor="white", edgecolor="black", hatch="//", label="cache hit")
            )
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=len(handles),
            fontsize="small",
            frameon=False,
        )
        ax.set_xlim(left=0)

    return cli.save_plot(draw, path, title)
