"""Chapter 6, section 6.2 "Scheduling pattern": who gets the cluster's workers, and when.

Claim: scheduling whole jobs (gang scheduling) removes the deadlock that pod-by-pod scheduling
runs into; weighted fair share gives each team its share; priority with preemption starts urgent
jobs within the preemption grace period; elastic jobs fill idle workers and shrink for new ones.

Five policies run on the same seeded stream of distributed training jobs from several teams, in
a SimPy discrete-event simulation of a cluster of C workers (``cluster_sim.py``). On Kubernetes
the same policies are Volcano's (``manifests/ch06/``): gang = a PodGroup's ``minAvailable``, fair
share = a weighted ``Queue`` per team, priority = ``PriorityClass`` + the preempt action.

Run: python -m chapters.ch06_operations.scheduling [--num-workers 16] [--num-jobs 60]
"""

from __future__ import annotations

import dataclasses

from chapters.ch06_operations.cluster_sim import (
    DRAINING,
    POD_INTERVAL,
    RUNNING,
    Cluster,
    Job,
    busy_series,
    make_jobs,
    summarise,
)
from chapters.common import cli
from chapters.common.settings import CommonSettings, option


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
    return {f"team-{chr(97 + i)}": w for i, w in enumerate(settings.team_weights)}


def workload(settings: Settings) -> list[Job]:
    return make_jobs(
        settings.num_jobs,
        settings.num_workers,
        teams(settings),
        settings.load,
        settings.high_priority_fraction,
        settings.seed,
    )


def claims(settings: Settings, stats: dict[str, dict]) -> dict:
    weights = teams(settings)
    target = {t: w / sum(weights.values()) for t, w in weights.items()}
    out: dict = {"target_shares": target}
    for s in stats.values():
        s["share_error"] = max(abs(s["shares"][t] - target[t]) for t in target)
    if "pods-fifo" in stats:
        out["pods_deadlock_at"] = stats["pods-fifo"]["deadlock_at"]
        out["pods_wasted"] = stats["pods-fifo"]["wasted_worker_seconds"]
    for name in ("gang", "fair-share", "priority", "elastic"):
        if name in stats:
            out.setdefault("gang_policies_wasted", 0.0)
            out["gang_policies_wasted"] += stats[name]["wasted_worker_seconds"]
            out["gang_policies_deadlocked"] = out.get("gang_policies_deadlocked", False) or (
                stats[name]["deadlock_at"] is not None
            )
    if "fair-share" in stats:
        out["fair_share_error"] = stats["fair-share"]["share_error"]
        out["fair_share_within_tolerance"] = out["fair_share_error"] <= settings.share_tolerance
    if "priority" in stats:
        out["high_priority_worst_wait"] = stats["priority"]["worst_high_priority_wait"]
        out["high_priority_within_grace"] = (
            out["high_priority_worst_wait"] <= settings.preemption_grace + 1e-9
        )
    if "elastic" in stats and "gang" in stats:
        e, g = stats["elastic"], stats["gang"]
        out["elastic_utilisation_gain"] = e["utilisation"] - g["utilisation"]
        out["elastic_shrunk"], out["elastic_grown"] = e["shrunk"], e["grown"]
    return out


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
    found = claims(settings, stats)
    paths = [str(p) for p in plot(settings, clusters, stats)]
    report(settings, stats, found, paths)
    return Result(stats, found, paths)


def plot(settings: Settings, clusters: dict[str, Cluster], stats: dict[str, dict]) -> list:
    def timeline(ax) -> None:
        for name, cluster in clusters.items():
            times, useful, held = busy_series(cluster)
            line = ax.step([t / 60 for t in times], useful, where="post", label=f"{name}: busy",
                           lw=1)  # fmt: skip
            if any(held):
                ax.step([t / 60 for t in times], held, where="post", ls="--", lw=3,
                        color=line[0].get_color(), label=f"{name}: held, cannot run")  # fmt: skip
        ax.set(xlabel="minutes (the first two hours)", ylabel="workers", xlim=(0, 120))
        ax.legend(fontsize=7, loc="center right")

    def shares(ax) -> None:
        names = list(stats)
        for i, team in enumerate(teams(settings)):
            ax.bar([k + i * 0.25 for k in range(len(names))],
                   [stats[n]["shares"][team] for n in names], width=0.25, label=team)  # fmt: skip
        for share in claims(settings, stats)["target_shares"].values():
            ax.axhline(share, ls=":", lw=1, color="grey")
        ax.set_xticks([k + 0.25 for k in range(len(names))], names)
        ax.set(ylabel="share of workers while every team waits")
        ax.legend(fontsize=7)

    out = cli.writable_dir(settings.out)
    return [
        cli.save_plot(timeline, out / "ch06_scheduling_timeline.png", "Workers doing useful work"),
        cli.save_plot(shares, out / "ch06_scheduling_shares.png", "Team shares (dotted: weights)"),
    ]


def report(settings: Settings, stats: dict, found: dict, paths: list[str]) -> None:
    rows = [
        (name, f"{s['jobs_done']}/{s['jobs']}", s["utilisation"], s["mean_jct"] / 60,
         s["worst_wait"] / 60, s["wasted_worker_seconds"] / 3600, s["share_error"],
         s["preempted"], s["shrunk"] + s["grown"])
        for name, s in stats.items()
    ]  # fmt: skip
    cli.print_table(
        rows,
        [
            "policy",
            "done",
            "utilisation",
            "mean JCT min",
            "worst wait min",
            "held idle worker-h",
            "share error",
            "preempted",
            "resizes",
        ],  # fmt: skip
        title=f"Scheduling {settings.num_jobs} jobs on {settings.num_workers} workers",
    )
    parts = []
    if "pods_deadlock_at" in found:
        when = found["pods_deadlock_at"]
        wasted = found["pods_wasted"] / 3600
        parts.append(
            f"pod-by-pod deadlocked at t={when:.0f} s holding all {settings.num_workers} workers "
            f"idle ({wasted:.1f} worker-h)"
            if when is not None
            else f"pod-by-pod held {wasted:.1f} worker-h idle"
        )
    if "gang_policies_wasted" in found:
        parts.append(f"gang policies wasted {found['gang_policies_wasted']:.0f} worker-s")
    if "fair_share_error" in found:
        parts.append(f"fair share within {found['fair_share_error']:.3f} of the weights")
    if "high_priority_worst_wait" in found:
        parts.append(f"high priority started within {found['high_priority_worst_wait']:.0f} s")
    if "elastic_utilisation_gain" in found:
        parts.append(f"elastic +{found['elastic_utilisation_gain']:.2f} utilisation over gang "
                     f"({found['elastic_shrunk']} shrinks)")  # fmt: skip
    print("\nClaim: " + "; ".join(parts) + ".")
    print("Book: section 6.2, scheduling pattern (gang, fair share, priority, elastic).")
    for path in paths:
        print(f"wrote {path}")


def build_parser():
    return Settings.parser(__doc__)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
