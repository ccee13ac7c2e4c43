"""Chapter 6, section 6.2 "Scheduling patterns": who gets the cluster's workers, and when.

Claim: scheduling whole jobs (gang scheduling) removes the deadlock that pod-by-pod scheduling
runs into; weighted fair share gives each team its share; priority with preemption starts urgent
jobs within the preemption grace period; elastic jobs fill idle workers and shrink for new ones.

Five policies run on the same seeded stream of distributed training jobs from several teams, in
a SimPy discrete-event simulation of a cluster of C workers (``cluster_sim.py``). On Kubernetes
the same policies are Volcano's (``manifests/ch06/``): gang = a PodGroup's ``minAvailable``, fair
share = a weighted ``Queue`` per team, priority = ``PriorityClass`` + the preempt action.

Run: python -m chapters.ch06_operations.scheduling [--num-workers 16] [--num-jobs 400]
"""

from __future__ import annotations

import dataclasses

from chapters.ch06_operations.cluster_sim import (
    DRAINING,
    POD_INTERVAL,
    RUNNING,
    Cluster,
    Job,
    make_jobs,
    summarise,
    team_weights,
)
from chapters.ch06_operations.scheduling_report import claims, plot, report
from dmlp.example import cli
from dmlp.example.report import Claim
from dmlp.example.settings import CommonSettings, option


def pods_fifo(c: Cluster) -> None:
    """No gang: each pod is placed on its own, oldest pod first (what kube-scheduler does)."""
    pods = [(j.arrival + i * POD_INTERVAL, j.id, j) for j in c.pending()
            for i in range(j.held, j.pods_created(c.now))]  # fmt: skip
    for _, _, job in sorted(pods, key=lambda p: p[:2]):
        if c.free == 0:
            return
        c.place(job, 1)
        if job.held == job.workers:  # the last pod is in: the job can compute
            c.start(job, job.workers)


def gang(c: Cluster) -> None:
    """All or nothing: a job starts when all its workers fit; later jobs that fit may pass."""
    for job in sorted(c.pending(), key=lambda j: j.arrival):
        if job.workers <= c.free:
            c.start(job, job.workers)


def fair_share(weights: dict[str, int]):
    """Gang + weighted fair share: the team with the least service per unit of weight so far
    goes first; if its next job does not fit, the free workers wait for it (no one jumps ahead)."""

    def policy(c: Cluster) -> None:
        while waiting := {j.team: j for j in sorted(c.pending(), key=lambda j: -j.arrival)}:
            team = min(waiting, key=lambda t: (c.usage[t] / weights[t], -weights[t]))
            job = waiting[team]
            if job.workers > c.free:
                return  # the free workers are kept for this team's job
            c.start(job, job.workers)

    return policy


def priority_preemption(c: Cluster) -> None:
    """Gang + priority order; a job that does not fit evicts lower-priority jobs to make room."""
    reserved = 0  # workers promised to blocked jobs ahead in the order
    coming = sum(j.held for j in c.active(DRAINING))  # freed when those drains finish
    for job in sorted(c.pending(), key=lambda j: (-j.priority, j.arrival)):
        if job.workers <= c.free - reserved:
            c.start(job, job.workers)
            continue
        victims = sorted((j for j in c.victims() if j.priority < job.priority),
                         key=lambda j: (j.priority, -j.started_at))  # fmt: skip
        room = c.free + coming - reserved
        if room < job.workers <= room + sum(v.held for v in victims):
            for victim in victims:
                if room >= job.workers:
                    break
                c.preempt(victim)
                coming += victim.held
                room += victim.held
        if room >= job.workers:  # room is on its way: keep it for this job
            reserved += job.workers


def elastic(c: Cluster) -> None:
    """Gang at a job's minimum size; shrink running jobs to admit new ones; grow into idle."""
    for job in sorted(c.pending(), key=lambda j: j.arrival):
        running = sorted(c.active(), key=lambda j: j.min_workers - j.held)  # most spare first
        spare = sum(j.held - j.min_workers for j in running)
        if c.free < job.min_workers <= c.free + spare:
            for other in running:
                give = min(other.held - other.min_workers, job.min_workers - c.free)
                if give > 0:
                    c.resize(other, other.held - give)  # restart from checkpoint, smaller
        if job.min_workers <= c.free:
            c.start(job, job.min_workers)
    if not c.pending():
        for job in sorted(c.active(RUNNING), key=lambda j: j.started_at):
            if extra := min(c.free, job.max_workers - job.held):
                c.resize(job, job.held + extra)  # restart from checkpoint, bigger


POLICIES = ("pods-fifo", "gang", "fair-share", "priority", "elastic")


@dataclasses.dataclass(frozen=True)
class Settings(CommonSettings):
    out: str = option("out/ch06_scheduling", "directory for the plots")
    num_workers: int = option(16, "workers (pod slots) in the cluster", minimum=8, maximum=1024)
    num_jobs: int = option(400, "training jobs in the seeded stream", minimum=3, maximum=5000)
    team_weights: tuple[int, ...] = option((3, 2, 1), "one weight per team (fair share)", minimum=1)
    load: float = option(1.2, "offered work / cluster capacity while jobs arrive", minimum=0.1)
    high_priority_fraction: float = option(
        0.1, "fraction of jobs that are high priority", minimum=0, maximum=1
    )
    preemption_grace: float = option(30.0, "seconds a preempted job takes to stop", minimum=0)
    resize_cost: float = option(10.0, "seconds an elastic job loses per resize", minimum=0)
    checkpoint_every: float = option(60.0, "seconds between a job's checkpoints", minimum=1)
    share_tolerance: float = option(0.03, "allowed |share - weighted share|", minimum=0)
    policies: tuple[str, ...] = option(POLICIES, "policies to compare", choices=POLICIES)

    def check(self) -> None:
        if len(self.team_weights) < 2:
            raise cli.UsageError("--team-weights needs at least two teams, e.g. 3,2,1")
        if len(self.team_weights) > 26:
            raise cli.UsageError("--team-weights: at most 26 teams")
        if self.num_jobs < len(self.team_weights):
            raise cli.UsageError("--num-jobs must be at least the number of teams")


@dataclasses.dataclass
class Result:
    stats: dict[str, dict]
    claims: dict
    paths: list[str]
    claim: Claim


def simulate(settings: Settings, policy: str, jobs: list[Job]) -> Cluster:
    weights = teams(settings)
    decide = {
        "pods-fifo": pods_fifo,
        "gang": gang,
        "fair-share": fair_share(weights),
        "priority": priority_preemption,
        "elastic": elastic,
    }[policy]
    if policy != "elastic":  # rigid jobs: exactly the workers they ask for
        jobs = [dataclasses.replace(j, min_workers=j.workers, max_workers=j.workers) for j in jobs]
    return Cluster(
        settings.num_workers,
        jobs,
        decide,
        grace=settings.preemption_grace,
        resize_cost=settings.resize_cost,
        checkpoint_every=settings.checkpoint_every,
    ).run()


def teams(settings: Settings) -> dict[str, int]:
    return team_weights(settings.team_weights)


def workload(settings: Settings) -> list[Job]:
    return make_jobs(
        settings.num_jobs,
        settings.num_workers,
        teams(settings),
        settings.load,
        settings.high_priority_fraction,
        settings.seed,
    )


def main(settings: Settings) -> Result:
    log = cli.Progress("ch06.scheduling", quiet=False)
    jobs = workload(settings)
    log(f"{len(jobs)} jobs from {len(settings.team_weights)} teams on {settings.num_workers} "
        f"workers, seed {settings.seed}")  # fmt: skip
    clusters, stats = {}, {}
    for policy in settings.policies:
        clusters[policy] = simulate(settings, policy, jobs)
        stats[policy] = summarise(clusters[policy])
        log(f"{policy}: {stats[policy]['jobs_done']}/{len(jobs)} jobs done")
    s = settings
    found = claims(stats, teams(s), s.share_tolerance, s.preemption_grace)
    out = cli.writable_dir(s.out)
    paths = [str(p) for p in plot(out, clusters, stats, found["target_shares"])]
    claim = report(stats, found, paths, num_jobs=s.num_jobs, num_workers=s.num_workers,
                   share_tolerance=s.share_tolerance, grace=s.preemption_grace)  # fmt: skip
    return Result(stats, found, paths, claim)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
