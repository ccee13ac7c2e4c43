"""Launching, measuring and drawing ``elasticity.py`` (chapter 3, section 3.4).

What a cluster does to the job happens here, on this machine. Parameter server: the launcher
SIGKILLs the last worker after one round and starts it again after a later one (the same task
and address, as a restarted pod). All-reduce: the job is stopped when an epoch begins (SIGKILL to
every worker: what ends a deleted pod, since TensorFlow catches SIGTERM in an all-reduce worker)
and started again with another number of workers on the same backup folder. The tasks' reports
and marker lines come back here as phases, tables, the claim and the pictures. This module
receives the pattern module's name and settings; it never imports it."""

from __future__ import annotations

import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from chapters.common import distributed as dist
from dmlp.example import cli, report
from dmlp.example.settings import Settings  # elasticity.Settings: passed in, not imported
from dmlp.launch.supervisor import TaskFailed
from dmlp.launch.tfcluster import LocalCluster, cluster_spec

# ---------------------------------------------------------------------------- parameter server


@dataclass
class Phase:
    """A stretch of the run with one number of workers: what it did, and how fast."""

    name: str
    workers: int
    start: float  # seconds since the first round began
    end: float
    steps_by_worker: list[int]
    examples_per_s: float

    @property
    def steps(self) -> int:
        return sum(self.steps_by_worker)


@dataclass
class PsRun:
    phases: list[Phase]  # two workers, one (the last one away), two again
    victim: int  # index of the worker that left and came back
    left_at: float  # seconds since the first round began
    restarted_at: float
    rounds: list[dict]  # per round: start, end (seconds), by_worker, loss
    steps_scheduled: int
    optimizer_steps: int  # updates the ps task applied: every finished step counts once or more
    longest_pause: float  # seconds: the longest time between two rounds' ends (after round 0)

    @property
    def rejoined_steps(self) -> int:
        return self.phases[-1].steps_by_worker[self.victim]


def run_ps(settings: Settings, module: str, log) -> PsRun:
    """The parameter-server job: a worker leaves after one round and returns after another."""
    out = str(Path(settings.out, "parameter_server"))
    job = settings.replace(part="ps", out=out)
    dist.clear_reports(out)
    spec = cluster_spec(num_workers=settings.num_workers, num_ps=1, chief=True)
    victim = f"worker-{settings.num_workers - 1}"
    cluster = LocalCluster(spec, module, job.argv(), verbose=settings.verbose)
    events: dict[str, float] = {}
    back: list[int] = []  # rounds the returned worker ran steps in

    def on_line(task: str, line: str) -> None:
        if task != "chief-0" or not line.startswith("ROUND "):
            return
        number = int(line.split()[1].rstrip(":"))
        by_worker = [int(n) for n in line.split("[")[1].split("]")[0].split(",")]
        if number == settings.leave_at_round:
            cluster.kill(victim)  # SIGKILL: a lost node
            events["left"] = time.time()
            log(f"SIGKILL {victim} after round {number}: it leaves (the coordinator's "
                "UnavailableError for it is the intended effect)")  # fmt: skip
        if number == settings.return_at_round:
            events["restarted"] = time.time()
            cluster.start_task(victim)  # the same task and address, as a restarted pod
            log(f"{victim} started again after round {number}")
        elif "restarted" in events and by_worker[-1]:
            back.append(number)
            if len(back) == 1:
                log(f"{victim} rejoined: it ran steps in round {number}")
            if len(back) == settings.rounds_back:  # enough: the coordinator ends this round
                cluster.kill("chief-0", signal.SIGTERM)

    cluster.on_line = on_line
    log(
        f"parameter server: 1 ps, {settings.num_workers} workers, rounds of "
        f"{settings.steps_per_epoch} steps; {victim} leaves after round {settings.leave_at_round}"
        f" and is started again after round {settings.return_at_round}"
    )
    with cluster:
        cluster.wait(settings.timeout, tasks=["chief-0"])  # the servers never exit by themselves
    chief = dist.read_reports(out, ["chief-0"])["chief-0"]
    return measure_ps(settings, chief, events)


def measure_ps(settings: Settings, chief: dict, events: dict[str, float]) -> PsRun:
    """Cut the coordinator's rounds into phases by what the launcher did and who ran steps."""
    rounds, victim = chief["rounds"], settings.num_workers - 1
    t0 = rounds[0]["start"]
    for r in rounds:
        r["start"], r["end"] = r["start"] - t0, r["end"] - t0
    left, restarted = events["left"] - t0, events["restarted"] - t0
    # Back: the first round after the restart in which the returned worker ran a step.
    back = next(
        (i for i, r in enumerate(rounds) if r["end"] > restarted and r["by_worker"][victim]),
        len(rounds),
    )
    away = next((i for i, r in enumerate(rounds) if r["end"] > left), len(rounds))
    # Round 0 pays for tracing and start-up: the phases' speeds begin after it.
    cuts = [("before", 1, away), ("away", away, back), ("back", back, len(rounds))]
    phases = []
    for name, first, stop in cuts:
        part = rounds[first:stop]
        start = rounds[first - 1]["end"]  # phases tile the time line
        end = part[-1]["end"] if part else start
        by_worker = [sum(r["by_worker"][w] for r in part) for w in range(settings.num_workers)]
        workers = settings.num_workers - (name == "away")
        seconds = end - start
        speed = sum(by_worker) * settings.batch_size / seconds if seconds > 0 else 0.0
        phases.append(Phase(name, workers, start, end, by_worker, speed))
    pause = max(b["end"] - a["end"] for a, b in zip(rounds, rounds[1:], strict=False))
    return PsRun(phases, victim, left, restarted, rounds, chief["steps_scheduled"],
                 chief["optimizer_steps"], pause)  # fmt: skip


# ---------------------------------------------------------------------------- all-reduce


@dataclass
class Run:
    """One run of the all-reduce job: its workers, the epochs they finished, their shards."""

    workers: int
    first_epoch: int | None  # the epoch worker-0 began with: 0, or where the backup resumed
    epochs: list[int]  # the epochs worker-0 finished
    times: dict[str, float]  # start, training (its first epoch began), end: seconds
    epoch_ends: list[float]  # seconds, as ``times``: since the first run started
    examples_per_s: float  # after the run's first epoch (which pays for tracing)
    exit_codes: dict[str, int]
    shards: dict[str, list[int]]  # worker -> the example ids of its shard
    shard_counts: list[int]  # the number of shards each worker was told to cut
    num_examples: int  # the data the shards split

    @property
    def shards_split_the_data(self) -> bool:
        """One shard per worker of this run, pairwise disjoint, together every example once."""
        ids = sorted(i for shard in self.shards.values() for i in shard)
        return (
            len(self.shards) == self.workers
            and set(self.shard_counts) == {self.workers}
            and ids == list(range(self.num_examples))
        )


def run_all_reduce(settings: Settings, module: str, log) -> list[Run]:
    """Run the job on --num-workers, stop it when --stop-at-epoch begins, run it again on
    --new-num-workers with the same backup folder."""
    root = Path(settings.out, "all_reduce")
    backup = root / "backup"
    shutil.rmtree(backup, ignore_errors=True)  # a fresh demo, not a leftover backup
    runs, t0 = [], time.time()
    for number, workers in enumerate((settings.num_workers, settings.new_num_workers), 1):
        out = root / f"run-{number}"
        dist.clear_reports(out)
        job = settings.replace(part="all-reduce", out=str(out), backup_dir=str(backup))
        cluster = LocalCluster(cluster_spec(num_workers=workers), module, job.argv(),
                               verbose=settings.verbose)  # fmt: skip
        watch = EpochWatch(cluster, t0, settings.stop_at_epoch if number == 1 else None)
        cluster.on_line = watch.on_line
        log(f"all-reduce run {number}: {workers} workers, BackupAndRestore in {backup}")
        start = time.time() - t0
        with cluster:
            codes = cluster.wait(settings.timeout, fail_fast=number > 1)
        if number == 1 and not watch.stopped:
            raise TaskFailed("all-reduce run 1", 1, cluster.lines()[-8:])
        marks = dist.epoch_marks(cluster.lines("worker-0"))
        reports = dist.read_reports(out)
        ends, per_epoch = watch.ends, settings.steps_per_epoch * settings.batch_size * workers
        speed = (len(ends) - 1) * per_epoch / (ends[-1] - ends[0]) if len(ends) > 1 else 0.0
        times = {"start": start, "training": watch.began or start, "end": time.time() - t0}
        runs.append(
            Run(workers, marks.first, marks.ended, times, ends, speed, codes,
                shards={name: r["ids"] for name, r in reports.items()},
                shard_counts=[r["workers"] for r in reports.values()],
                num_examples=max(r["examples"] for r in reports.values()))
        )  # fmt: skip
        done = "stopped (SIGKILL to every worker)" if number == 1 else "finished"
        log(f"run {number} {done}: worker-0 finished epochs {marks.ended}")
    return runs


class EpochWatch:
    """An ``on_line`` hook: when worker-0 begins training and ends each epoch; with ``stop_at``,
    SIGKILL every worker once it begins that epoch (what ends a deleted pod in the end)."""

    def __init__(self, cluster: LocalCluster, t0: float, stop_at: int | None):
        self.cluster, self.t0, self.stop_at = cluster, t0, stop_at
        self.began: float | None = None
        self.ends: list[float] = []
        self.stopped = False

    def on_line(self, task: str, line: str) -> None:
        if task != "worker-0":
            return
        if line.startswith("EPOCH_END "):
            self.ends.append(time.time() - self.t0)
        elif line == f"EPOCH_BEGIN {self.stop_at}" and not self.stopped:
            self.stopped = True
            for name in self.cluster.tasks:
                self.cluster.kill(name)
        elif line.startswith("EPOCH_BEGIN ") and self.began is None:
            self.began = time.time() - self.t0


# ---------------------------------------------------------------------------- summary


@dataclass
class Result:
    ps: PsRun | None
    all_reduce: list[Run] | None
    pictures: list[str]
    claim: report.Claim | None = None  # what the summary printed, and whether it held


def ps_held(ps: PsRun) -> bool:
    """Training went on while the worker was away, no step was lost, and it ran steps again."""
    before, away, _ = ps.phases
    done = sum(sum(r["by_worker"]) for r in ps.rounds)
    every_step = done == ps.steps_scheduled <= ps.optimizer_steps
    gone = away.steps_by_worker[ps.victim] == 0 < away.steps
    never_stopped = ps.longest_pause < (away.end - away.start) / 2
    worked = before.steps_by_worker[ps.victim] > 0 and ps.rejoined_steps > 0
    return every_step and gone and never_stopped and worked


def all_reduce_held(settings: Settings, runs: list[Run]) -> bool:
    """Resumed at the first unfinished epoch, no epoch twice, each run's shards split the data."""
    first, second = runs
    return (
        first.epochs == list(range(settings.stop_at_epoch))
        and second.first_epoch == len(first.epochs)
        and sorted(first.epochs + second.epochs) == list(range(settings.num_epochs))
        and all(code == 0 for code in second.exit_codes.values())
        and first.shards_split_the_data
        and second.shards_split_the_data
    )


def summarise_ps(ps: PsRun) -> tuple[str, dict]:
    victim, away = f"worker-{ps.victim}", ps.phases[1]
    rows = [
        (p.name, p.workers, round(p.end - p.start, 1), " / ".join(map(str, p.steps_by_worker)),
         p.examples_per_s)
        for p in ps.phases
    ]  # fmt: skip
    headers = ["phase", "workers", "seconds", "steps by worker", "examples/s"]
    cli.print_table(rows, headers, title=f"Parameter server: {victim} leaves, then rejoins")
    text = (
        f"parameter server: {' -> '.join(str(p.workers) for p in ps.phases)} workers at "
        f"{' / '.join(f'{p.examples_per_s:,.0f}' for p in ps.phases)} examples/s; training never "
        f"stopped ({away.steps} steps in the {away.end - away.start:.1f} s {victim} was away, "
        f"at most {ps.longest_pause:.1f} s between rounds, all {ps.steps_scheduled} steps done) "
        f"and {victim} ran {ps.rejoined_steps} steps after it rejoined"
    )
    figures = {
        "examples_per_s": [round(p.examples_per_s) for p in ps.phases],
        "steps_while_away": away.steps,
        "rejoined_steps": ps.rejoined_steps,
    }
    return text, figures


def summarise_all_reduce(runs: list[Run]) -> tuple[str, dict]:
    rows = [
        (i, r.workers, r.first_epoch, ", ".join(map(str, r.epochs)),
         " / ".join(str(len(s)) for s in r.shards.values()), r.examples_per_s)
        for i, r in enumerate(runs, 1)
    ]  # fmt: skip
    headers = ["run", "workers", "began at epoch", "epochs finished", "shard sizes", "examples/s"]
    cli.print_table(rows, headers, title="All-reduce: stopped, then run again on another count")
    first, second = runs
    text = (
        f"all-reduce: stopped after epochs {first.epochs} on {first.workers} workers, resumed "
        f"from its backup at epoch {second.first_epoch} on {second.workers} (epochs "
        f"{second.epochs}: none twice), each run's shards disjoint and covering all "
        f"{second.num_examples:,} examples ({len(first.shards)}, then {len(second.shards)})"
    )
    figures = {"resumed_at": second.first_epoch, "epochs_per_run": [len(r.epochs) for r in runs]}
    return text, figures


def summarise(settings: Settings, ps: PsRun | None, runs: list[Run] | None) -> Result:
    """The tables, the pictures, one claim for both parts; the paths and the book section."""
    texts, figures, pictures, held = [], {}, [], True
    if ps is not None:
        text, found = summarise_ps(ps)
        texts, held = [*texts, text], held and ps_held(ps)
        figures |= found
        pictures.append(str(plot_ps(settings, ps)))
    if runs is not None:
        text, found = summarise_all_reduce(runs)
        texts, held = [*texts, text], held and all_reduce_held(settings, runs)
        figures |= found
        pictures.append(str(plot_all_reduce(settings, runs)))
    claim = report.finish("3.4", "; ".join(texts), held, pictures, f"{settings.out}/", **figures)
    return Result(ps, runs, pictures, claim)


# ---------------------------------------------------------------------------- pictures


def _workers_axis(ax, most: int) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_ylim(0, most + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("workers")


def plot_ps(settings: Settings, ps: PsRun) -> Path:
    """Workers running steps over time, with each round's examples/s and each phase's mean."""

    def draw(ax) -> None:
        times = [r["end"] for r in ps.rounds]
        edges = [p.start for p in ps.phases] + [ps.phases[-1].end]
        ax.stairs([p.workers for p in ps.phases], edges, color="tab:blue", linewidth=2,
                  label="workers in the job")  # fmt: skip
        active = [sum(n > 0 for n in r["by_worker"]) for r in ps.rounds]
        ax.plot(times, active, "o", color="tab:blue", alpha=0.4, label="workers that ran steps")
        ax.axvline(ps.left_at, color="red", linestyle="--", label=f"worker-{ps.victim} killed")
        ax.axvline(ps.restarted_at, color="green", linestyle="--", label="... started again")
        _workers_axis(ax, settings.num_workers)
        ax.set_xlabel("seconds since the first round began")
        ax.legend(loc="lower left", fontsize="small")
        speed = ax.twinx()
        per_round = [
            sum(r["by_worker"]) * settings.batch_size / (r["end"] - r["start"]) for r in ps.rounds
        ]
        speed.plot(times, per_round, color="tab:gray", linewidth=1, alpha=0.6)
        for p in ps.phases:
            speed.hlines(p.examples_per_s, p.start, p.end, color="tab:orange", linewidth=2)
            speed.annotate(f"{p.examples_per_s:,.0f}/s", ((p.start + p.end) / 2, p.examples_per_s),
                           ha="center", va="bottom", color="tab:orange")  # fmt: skip
        speed.set_ylim(0, max(per_round) * 1.3)
        speed.set_ylabel("examples/s (grey: per round; orange: per phase)")

    title = f"Parameter server: worker-{ps.victim} leaves and rejoins; training goes on"
    return cli.save_plot(draw, Path(settings.out, "ps_workers_over_time.png"), title)


def plot_all_reduce(settings: Settings, runs: list[Run]) -> Path:
    """The job's worker count over time (dotted: starting up), each finished epoch marked."""

    def draw(ax) -> None:
        for r in runs:
            t = r.times
            ax.hlines(r.workers, t["start"], t["training"], color="tab:blue", linestyle=":")
            ax.hlines(r.workers, t["training"], t["end"], color="tab:blue", linewidth=2)
            ax.plot(r.epoch_ends, [r.workers] * len(r.epoch_ends), "|", color="k", markersize=12)
            for epoch, end in zip(r.epochs, r.epoch_ends, strict=False):
                ax.annotate(str(epoch), (end, r.workers), xytext=(0, 8),
                            textcoords="offset points", ha="center")  # fmt: skip
            middle = (t["start"] + t["end"]) / 2
            ax.annotate(f"{r.workers} workers: {r.examples_per_s:,.0f} examples/s",
                        (middle, 0.4), ha="center", color="tab:orange")  # fmt: skip
        stopped, resumed = runs[0].times["end"], runs[1].times["training"]
        ax.annotate("stopped", (stopped, runs[0].workers), xytext=(4, -14),
                    textcoords="offset points", color="red")  # fmt: skip
        ax.annotate(f"resumed at epoch {runs[1].first_epoch}", (resumed, runs[1].workers),
                    xytext=(0, -14), textcoords="offset points", color="green")  # fmt: skip
        _workers_axis(ax, max(r.workers for r in runs))
        ax.set_xlabel("seconds (dotted: processes starting; | = an epoch finished)")

    title = "All-reduce: stopped, then resumed from BackupAndRestore on another worker count"
    return cli.save_plot(draw, Path(settings.out, "all_reduce_workers_over_time.png"), title)
