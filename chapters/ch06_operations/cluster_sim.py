"""The simulation plumbing behind ``scheduling.py`` (chapter 6, section 6.2).

A SimPy model of a cluster of C identical workers (one worker = one pod slot) and a seeded stream
of distributed training jobs. Each job is a SimPy process: it waits to be started, runs its
remaining work (worker-seconds) at one unit per worker per second, and can be interrupted by the
scheduler to be preempted (it drains for a grace period, keeps the work up to its last checkpoint
and waits again) or resized (elastic: it restarts from a checkpoint with a new number of workers,
paying a restart cost). All allocation bookkeeping happens here, synchronously; a *policy* is a
function ``policy(cluster)`` called after every arrival, pod creation, completion and drain, that
decides with :meth:`Cluster.place`, :meth:`Cluster.start`, :meth:`Cluster.preempt` and
:meth:`Cluster.resize`.

Every change is recorded as a step of a timeline; :func:`summarise` integrates it into
utilisation, wasted worker-seconds, per-team shares, waits and completion times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import simpy

PENDING, RUNNING, RESIZING, DRAINING, DONE = "pending", "running", "resizing", "draining", "done"
POD_INTERVAL = 1.0  # seconds between two pods of a job created by the operator (non-gang view)


@dataclasses.dataclass(eq=False)
class Job:
    """A distributed training job: ``workers`` pods for ``duration`` seconds (at full size)."""

    id: int
    team: str
    workers: int
    duration: float
    priority: int  # 0 normal, 1 high
    arrival: float
    min_workers: int  # elastic range; min == max == workers for a rigid job
    max_workers: int
    # state, kept by the cluster
    work_left: float = 0.0
    held: int = 0  # workers allocated to the job (pods placed)
    size: int = 0  # workers it computes with while running
    state: str = PENDING
    started_at: float | None = None
    since: float = 0.0  # when it last (re)started
    finished_at: float | None = None
    preemptions: int = 0
    resizes: int = 0
    lost: float = 0.0  # worker-seconds redone after a preemption

    def __post_init__(self) -> None:
        self.work_left = self.workers * self.duration

    def pods_created(self, now: float) -> int:
        return min(self.workers, int((now - self.arrival) / POD_INTERVAL + 1e-9) + 1)


def team_weights(weights: tuple[int, ...]) -> dict[str, int]:
    """``(3, 2, 1)`` -> ``{"team-a": 3, "team-b": 2, "team-c": 1}``."""
    return {f"team-{chr(97 + i)}": w for i, w in enumerate(weights)}


def make_jobs(
    num_jobs: int,
    num_workers: int,
    weights: dict[str, int],
    load: float,
    high_fraction: float,
    seed: int,
) -> list[Job]:
    """A seeded stream: one large job per team at t=0 (a Monday-morning burst), then Poisson
    arrivals offering ``load`` times the cluster's capacity."""
    rng = np.random.default_rng(seed)
    teams = list(weights)
    big = min(num_workers, num_workers // len(teams) + 2)  # > C/T: T of them cannot all fit
    jobs = []
    for i, team in enumerate(teams[:num_jobs]):
        jobs.append(_job(i, team, big, float(rng.uniform(900, 1800)), 0, i * 0.1, num_workers))
    sizes = [w for w in (1, 2, 4, 8) if w <= num_workers // 2] or [1]
    mean_work = np.mean(sizes) * 600.0
    t = 1.0
    for i in range(len(jobs), num_jobs):
        t += float(rng.exponential(mean_work / (load * num_workers)))
        workers = int(rng.choice(sizes))
        duration = float(rng.uniform(200, 1000))
        priority = int(rng.random() < high_fraction)
        jobs.append(_job(i, teams[int(rng.integers(len(teams)))], workers, duration, priority, t,
                         num_workers))  # fmt: skip
    return jobs


def _job(i, team, workers, duration, priority, arrival, capacity) -> Job:
    return Job(
        i, team, workers, duration, priority, arrival,
        min_workers=max(1, workers // 2), max_workers=min(capacity, 2 * workers),
    )  # fmt: skip


class Cluster:
    """C workers, the jobs on them, and the SimPy processes that move time forward."""

    def __init__(
        self,
        size: int,
        jobs: list[Job],
        policy: Callable[[Cluster], None],
        grace: float = 30.0,
        resize_cost: float = 10.0,
        checkpoint_every: float = 60.0,
    ):
        self.env = simpy.Environment()
        self.size, self.free = size, size
        self.jobs = [dataclasses.replace(j) for j in jobs]  # fresh state for every policy
        self.policy = policy
        self.grace, self.resize_cost, self.checkpoint_every = grace, resize_cost, checkpoint_every
        self.arrived: list[Job] = []
        self.timeline: list[tuple] = []
        self.usage = dict.fromkeys(dict.fromkeys(j.team for j in jobs), 0.0)  # see _record
        self.events = {"preempted": 0, "shrunk": 0, "grown": 0}
        self._wake: dict[int, simpy.Event] = {}
        self._process: dict[int, simpy.Process] = {}
        self._kick = self.env.event()
        self.env.process(self._arrivals())
        self.env.process(self._scheduler())

    # ---------------------------------------------------------------- what policies see and do

    @property
    def now(self) -> float:
        return self.env.now

    def pending(self) -> list[Job]:
        return [j for j in self.arrived if j.state == PENDING]

    def active(self, *states: str) -> list[Job]:
        return [j for j in self.arrived if j.state in (states or (RUNNING, RESIZING))]

    def victims(self) -> list[Job]:
        """Running jobs that may be preempted (not those started in this very instant)."""
        return [j for j in self.active(RUNNING) if j.since < self.now]

    def place(self, job: Job, pods: int) -> None:
        """Bind ``pods`` more pods of ``job`` to free workers (pod-by-pod scheduling)."""
        assert 0 < pods <= self.free and job.held + pods <= job.workers
        job.held += pods
        self.free -= pods

    def start(self, job: Job, size: int) -> None:
        """Run ``job`` on ``size`` workers (those it already holds plus free ones)."""
        assert job.state == PENDING and size - job.held <= self.free
        self.free -= size - job.held
        job.held = job.size = size
        job.state = RUNNING
        job.started_at = self.now if job.started_at is None else job.started_at
        job.since = self.now
        self._wake[job.id].succeed()

    def preempt(self, job: Job) -> None:
        """Ask a running job to stop; its workers free up after the grace period."""
        job.state = DRAINING
        job.preemptions += 1
        self.events["preempted"] += 1
        self._process[job.id].interrupt("preempt")

    def resize(self, job: Job, size: int) -> None:
        """Restart an elastic job from its checkpoint on ``size`` workers."""
        assert job.min_workers <= size <= job.max_workers and size - job.held <= self.free
        self.events["shrunk" if size < job.held else "grown"] += 1
        self.free -= size - job.held
        job.held = job.size = size
        job.state = RESIZING
        job.resizes += 1
        self._process[job.id].interrupt("resize")

    # ---------------------------------------------------------------- SimPy processes

    def run(self) -> Cluster:
        self.env.run()
        return self

    def _arrivals(self):
        for job in sorted(self.jobs, key=lambda j: j.arrival):
            yield self.env.timeout(job.arrival - self.now)
            self.arrived.append(job)
            self._wake[job.id] = self.env.event()
            self._process[job.id] = self.env.process(self._life(job, self._wake[job.id]))
            self.env.process(self._pod_creation(job))
            self._decide()

    def _pod_creation(self, job: Job):
        """The operator creates a job's pods one by one; each new pod is a scheduling event."""
        for _ in range(job.workers - 1):
            yield self.env.timeout(POD_INTERVAL)
            if job.state == PENDING:
                self._decide()

    def _until(self, started: simpy.Event):
        """Wait to be started; a resize that lands before the job's first step changes nothing
        but its size (the job has not begun computing yet)."""
        while True:
            try:
                yield started
                return
            except simpy.Interrupt:
                continue

    def _life(self, job: Job, started: simpy.Event):
        yield from self._until(started)
        pause = 0.0
        while True:
            began, seg_size = None, job.size
            try:
                if pause:
                    yield self.env.timeout(pause)
                    pause = 0.0
                job.state, began, seg_size = RUNNING, self.now, job.size
                self._record()
                yield self.env.timeout(job.work_left / job.size)
                job.work_left, job.state, job.finished_at = 0.0, DONE, self.now
                self.free += job.held
                job.held = 0
                self._decide()
                return
            except simpy.Interrupt as why:
                done = (self.now - began) * seg_size if began is not None else 0.0
                if why.cause == "resize":  # a controlled restart: checkpoint first, keep it all
                    job.work_left -= done
                    pause = self.resize_cost
                    continue
                kept = math.floor((self.now - (began or self.now)) / self.checkpoint_every)
                kept_work = kept * self.checkpoint_every * seg_size
                job.work_left -= kept_work
                job.lost += done - kept_work
                self._record()
                yield self.env.timeout(self.grace)
                self.free += job.held
                job.held, job.state = 0, PENDING
                started = self._wake[job.id] = self.env.event()
                self._decide()
                yield from self._until(started)

    def _decide(self) -> None:
        """Wake the scheduler: it decides once the processes of this instant have moved."""
        if not self._kick.triggered:
            self._kick.succeed()

    def _scheduler(self):
        while True:
            yield self._kick
            self._kick = self.env.event()
            self.policy(self)
            self._record()

    def _record(self) -> None:
        if self.timeline and len(self.timeline[-1][5]) == len(self.usage):
            # while every team has work waiting, integrate what each one holds (fair share)
            last_time, last_held = self.timeline[-1][:2]
            for team, workers in last_held.items():
                self.usage[team] += workers * (self.now - last_time)
        held = dict.fromkeys(self.usage, 0)
        useful = partial = overhead = 0
        waiting = set()
        for j in self.arrived:
            held[j.team] += j.held
            if j.state == RUNNING:
                useful += j.held
            elif j.state == PENDING:
                partial += j.held
                waiting.add(j.team)
            elif j.state in (RESIZING, DRAINING):
                overhead += j.held
        self.timeline.append((self.now, held, useful, partial, overhead, frozenset(waiting)))


def summarise(cluster: Cluster) -> dict:
    """Integrate the timeline: utilisation, waste, shares while every team waits, waits, JCTs."""
    tl = cluster.timeline
    end = max([j.finished_at for j in cluster.jobs if j.finished_at] + [tl[-1][0]])
    teams = list(tl[0][1])
    useful = partial = backlogged = 0.0
    share_time = dict.fromkeys(teams, 0.0)
    for (t0, held, use, part, _over, waiting), nxt in zip(tl, tl[1:] + [(end,)], strict=True):
        dt = nxt[0] - t0
        useful += use * dt
        partial += part * dt
        if set(waiting) == set(teams):  # every team has work waiting: shares are contended
            backlogged += dt
            for team in teams:
                share_time[team] += held[team] * dt
    total = sum(share_time.values())
    finished = [j for j in cluster.jobs if j.finished_at is not None]
    waits = [
        (j.started_at if j.started_at is not None else math.inf) - j.arrival for j in cluster.jobs
    ]
    # High-priority jobs that found room: lower-priority work they could preempt. (One that
    # arrives while other high-priority jobs fill the cluster must wait for them.)
    high = [w for j, w in zip(cluster.jobs, waits, strict=True)
            if j.priority > 0 and _peers(cluster.jobs, j) + j.workers <= cluster.size]  # fmt: skip
    deadlock = next(
        (t for t, _h, use, part, over, _w in tl if use == 0 and over == 0 and part == cluster.size),
        None,
    )
    return {
        "utilisation": useful / (cluster.size * end) if end else 0.0,
        "mean_jct": float(np.mean([j.finished_at - j.arrival for j in finished]))
        if finished
        else math.inf,
        "worst_wait": max(waits),
        "worst_high_priority_wait": max(high) if high else 0.0,
        "high_priority_jobs_with_room": len(high),
        "jobs_done": len(finished),
        "jobs": len(cluster.jobs),
        "wasted_worker_seconds": partial,
        "lost_worker_seconds": sum(j.lost for j in cluster.jobs),
        "deadlock_at": deadlock,
        "makespan": end,
        "backlogged_seconds": backlogged,
        "shares": {t: (s / total if total else 0.0) for t, s in share_time.items()},
        **cluster.events,
    }


def _peers(jobs: list[Job], job: Job) -> int:
    """Workers wanted, when ``job`` arrives, by earlier jobs of its priority or higher."""
    t = job.arrival
    return sum(
        k.workers
        for k in jobs
        if k is not job and k.priority >= job.priority and k.arrival <= t
        and (k.finished_at is None or k.finished_at > t)
    )  # fmt: skip


def busy_series(cluster: Cluster) -> tuple[list[float], list[int], list[int]]:
    """(times, useful workers, workers held by jobs that cannot run) for a step plot."""
    return (
        [row[0] for row in cluster.timeline],
        [row[2] for row in cluster.timeline],
        [row[3] for row in cluster.timeline],
    )
