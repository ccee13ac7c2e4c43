"""Chapter 5, section 5.3 "Synchronous and asynchronous patterns".

Claim: the same five-step pipeline finishes sooner asynchronously. Run synchronously (Argo
``steps``: each group waits for the slowest member of the group before it), a fast branch idles
behind a slow one; run asynchronously (an Argo ``dag``), each step starts as soon as what it needs
is done, so the whole run takes about its critical path, the longest chain of dependent steps.

Steps do simulated work (a sleep of ``units x --unit-seconds``) plus a tiny real computation, so
the example is quick and the numbers are easy to check by hand:

    fetch-a (1) -> train-a (3) \\
                                 pick-best (0.5)     sync:  3 + 3 + 0.5 = 6.5 units
    fetch-b (3) -> train-b (1) /                     async: max(1+3, 3+1) + 0.5 = 4.5 units

Run: python -m chapters.ch05_workflows.sync_async [--unit-seconds 0.5]
"""

from dataclasses import dataclass, field
from pathlib import Path

from hera.workflows import DAG, Steps, Workflow, script

from chapters.ch05_workflows import timing
from dmlp import argo
from dmlp.argo import conventions
from dmlp.example import cli, report
from dmlp.example.settings import CommonSettings, option

# step: (units of work, the steps it needs)
PIPELINE: dict[str, tuple[float, list[str]]] = {
    "fetch-a": (1, []),
    "fetch-b": (3, []),
    "train-a": (3, ["fetch-a"]),
    "train-b": (1, ["fetch-b"]),
    "pick-best": (0.5, ["train-a", "train-b"]),
}


@dataclass(frozen=True)
class Settings(CommonSettings):
    unit_seconds: float = option(0.5, "seconds of simulated work per unit", minimum=0.05)


@script(**conventions.script_options(cpu="100m", memory="64Mi", data=False))
def work(step: str, units: float, unit_seconds: float):
    import hashlib
    import json
    import time

    time.sleep(units * unit_seconds)  # the simulated work
    digest = hashlib.sha256(step.encode() * 100_000).hexdigest()[:12]  # a tiny real one
    print(json.dumps({"step": step, "units": units, "digest": digest}))


def arguments(step: str) -> dict:
    return {"step": step, "units": PIPELINE[step][0], **conventions.from_workflow("unit_seconds")}


def levels() -> list[list[str]]:
    """Steps grouped by depth: what a synchronous run executes group after group."""
    depth: dict[str, int] = {}
    for step, (_, needs) in PIPELINE.items():  # PIPELINE lists a step after what it needs
        depth[step] = 1 + max((depth[n] for n in needs), default=-1)
    return [[s for s in PIPELINE if depth[s] == d] for d in range(max(depth.values()) + 1)]


DEFAULTS = conventions.defaults(Settings(), "unit_seconds")

with Workflow(**conventions.workflow_options("sync-pipeline", data=False), entrypoint="pipeline",
              arguments=DEFAULTS) as SYNC:  # fmt: skip
    with Steps(name="pipeline") as steps:
        for group in levels():
            with steps.parallel():  # a group: starts together, ends when its slowest step ends
                for step in group:
                    work(name=step, arguments=arguments(step))

with Workflow(**conventions.workflow_options("async-pipeline", data=False), entrypoint="pipeline",
              arguments=DEFAULTS) as ASYNC:  # fmt: skip
    with DAG(name="pipeline"):
        tasks = {step: work(name=step, arguments=arguments(step)) for step in PIPELINE}
        for step, (_, needs) in PIPELINE.items():
            for need in needs:
                tasks[need] >> tasks[step]  # each step waits only for what it needs


# ---------------------------------------------------------------------------- the example


@dataclass
class Result:
    sync_seconds: float
    async_seconds: float
    critical_path: list[str]
    critical_path_seconds: float
    ideal_sync_units: float
    ideal_async_units: float
    async_started_early: bool  # train-a started before fetch-b (the slow member) ended
    sync_waited: bool  # in the sync run every step waited for the whole group before it
    steps: dict[str, list[tuple]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    claim: report.Claim | None = None


def main(settings: Settings) -> Result:
    out = cli.writable_dir(Path(settings.out) / "ch05" / "sync-async")
    runs = {}
    for name, definition in (("sync", SYNC), ("async", ASYNC)):
        runs[name] = argo.run(
            definition, conventions.defaults(settings, "unit_seconds"), echo=settings.verbose
        ).raise_for_status()
    sync, asynchronous = runs["sync"], runs["async"]
    path, path_seconds = timing.critical_path(ASYNC.to_dict(), asynchronous)
    units = {s: u for s, (u, _) in PIPELINE.items()}
    groups = levels()
    ideal_sync = sum(max(units[s] for s in group) for group in groups)
    finish: dict[str, float] = {}  # earliest finish of each step, in units, with no waiting
    for step, (cost, needs) in PIPELINE.items():
        finish[step] = cost + max((finish[n] for n in needs), default=0.0)
    ideal_async = max(finish.values())

    def node(run, step):
        return run.node(f"{run.name}.{step}")

    early = node(asynchronous, "train-a").started < node(asynchronous, "fetch-b").finished
    waited = all(
        node(sync, later).started >= max(node(sync, s).finished for s in group)
        for group, next_group in zip(groups, groups[1:], strict=False)
        for later in next_group
    )
    rows = [
        ("synchronous (steps)", ideal_sync * settings.unit_seconds, sync.seconds),
        ("asynchronous (dag)", ideal_async * settings.unit_seconds, asynchronous.seconds),
        (f"critical path {' -> '.join(path)}", ideal_async * settings.unit_seconds, path_seconds),
    ]
    cli.print_table(rows, ["run", "simulated work s", "end to end s"], "Sync vs async")
    for name, run in runs.items():
        print(f"\n{name} timeline:\n" + timing.timeline(run))
    pngs = [
        str(timing.gantt(run, out / f"{name}.png", f"{name}: {run.seconds:.1f}s end to end"))
        for name, run in runs.items()
    ]
    claim = report.finish(
        "5.3",
        f"asynchronous {asynchronous.seconds:.1f}s vs synchronous {sync.seconds:.1f}s end to end; "
        f"the async run took {asynchronous.seconds / max(path_seconds, 1e-9):.2f}x its critical "
        f"path ({path_seconds:.1f}s); train-a started before fetch-b ended: "
        f"{'yes' if early else 'NO'}.",
        early and waited and asynchronous.seconds < sync.seconds,
        pictures=pngs,
        wrote=", ".join(pngs),
        sync_seconds=round(sync.seconds, 2),
        async_seconds=round(asynchronous.seconds, 2),
        critical_path_seconds=round(path_seconds, 2),
    )
    return Result(
        sync.seconds,
        asynchronous.seconds,
        path,
        path_seconds,
        ideal_sync,
        ideal_async,
        early,
        waited,
        {name: run.rows() for name, run in runs.items()},
        pngs,
        claim,
    )


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
