"""What ``event_driven`` measured, as figures, a timeline table and a plot (chapter 4.4)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from dmlp.example import cli
from dmlp.example.report import finish


@dataclasses.dataclass
class Run:
    """One pool's run: (t, events in flight, workers) every tick; (arrival, latency s) per event."""

    mode: str
    timeline: list[tuple[float, int, int]] = dataclasses.field(default_factory=list)
    latencies: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def p99_ms(self, start: float = 0.0, end: float = math.inf) -> float:
        """p99 latency of the events that arrived in [start, end)."""
        chosen = [latency for t, latency in self.latencies if start <= t < end]
        return float(np.percentile(chosen, 99)) * 1000 if chosen else math.nan

    def workers(self, start: float = 0.0, end: float = math.inf) -> int:
        """The most workers between ``start`` and ``end``."""
        return max((w for t, _, w in self.timeline if start <= t < end), default=0)


@dataclasses.dataclass
class Result:
    arrivals: list[float]
    runs: dict[str, Run]  # "fixed" and "autoscaled"
    spike: tuple[float, float]  # (start, end) seconds
    spike_p99_ms: dict[str, float]  # p99 latency of the events that arrived in the spike
    most_workers: int  # the autoscaled pool's largest size
    workers_before_spike: int  # its largest size before the spike began
    final_workers: int  # its size at the end
    plot: Path

    @property
    def claim_holds(self) -> bool:
        """Under the spike the autoscaled pool's p99 is below the fixed pool's."""
        return self.spike_p99_ms["autoscaled"] < self.spike_p99_ms["fixed"]

    @classmethod
    def of(cls, arrivals, fixed: Run, auto: Run, start: float, end: float, out: Path) -> Result:
        runs = {"fixed": fixed, "autoscaled": auto}
        plot = draw(runs, out / "ch04_event_driven.png", start, end)
        return cls(
            arrivals=arrivals,
            runs=runs,
            spike=(start, end),
            spike_p99_ms={mode: run.p99_ms(start, end) for mode, run in runs.items()},
            most_workers=auto.workers(),
            workers_before_spike=auto.workers(0, start),
            final_workers=auto.timeline[-1][2],
            plot=plot,
        )


def report(settings, result: Result) -> None:
    start, end = result.spike
    rows = [
        (mode, len(run.latencies), run.p99_ms(), result.spike_p99_ms[mode], run.workers(),
         run.timeline[-1][2])
        for mode, run in result.runs.items()
    ]  # fmt: skip
    cli.print_table(
        rows,
        ["pool", "events", "p99 ms", "p99 in spike ms", "most workers", "workers at end"],
        title=f"Event-driven processing: {len(result.arrivals)} events",
    )
    cli.print_table(timeline_rows(result.runs, start, end), TIMELINE, title="Timeline")
    fixed, auto = result.spike_p99_ms["fixed"], result.spike_p99_ms["autoscaled"]
    finish(
        "4.4",
        f"under the spike the autoscaled pool's p99 was {auto:.0f} ms against "
        f"{fixed:.0f} ms for a fixed pool of {settings.fixed_workers}: "
        f"{'lower' if result.claim_holds else 'NOT lower'}. It had {result.workers_before_spike} "
        f"worker(s) before the spike, grew to {result.most_workers} (max "
        f"{settings.max_workers}) and shrank back to {result.final_workers}.",
        result.claim_holds,
        pictures=[result.plot],
        wrote=str(result.plot),
        spike_p99_ms_fixed=fixed,
        spike_p99_ms_autoscaled=auto,
        most_workers=result.most_workers,
    )


TIMELINE = [
    "t s",
    "spike",
    "fixed: in flight",
    "fixed: workers",
    "auto: in flight",
    "auto: workers",
]


def timeline_rows(runs: dict[str, Run], start: float, end: float, step: float = 0.5) -> list:
    """One row per ``step`` seconds: events in flight and workers of each pool."""

    def at(run: Run, t: float) -> tuple[int, int]:
        sample = min(run.timeline, key=lambda s: abs(s[0] - t))
        return sample[1], sample[2]

    last = max(run.timeline[-1][0] for run in runs.values())
    return [
        (f"{i * step:.1f}", "*" if start <= i * step < end else "",
         *at(runs["fixed"], i * step), *at(runs["autoscaled"], i * step))
        for i in range(math.floor(last / step) + 1)
    ]  # fmt: skip


def draw(runs: dict[str, Run], path: Path, start: float, end: float) -> Path:
    def plot(ax) -> None:
        for mode, run in runs.items():
            times, in_flight = [s[0] for s in run.timeline], [s[1] for s in run.timeline]
            ax.plot(times, in_flight, label=f"{mode}: events in flight")
        auto = runs["autoscaled"].timeline
        ax.step([s[0] for s in auto], [s[2] for s in auto], where="post", linestyle="--",
                label="autoscaled: workers")  # fmt: skip
        ax.axvspan(start, end, alpha=0.15, label="spike")
        ax.set_xlabel("seconds")
        ax.set_ylabel("events in flight / workers")
        ax.legend()

    return cli.save_plot(plot, path, "Event-driven processing: fixed vs autoscaled pool")
