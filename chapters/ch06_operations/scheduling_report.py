"""Claims, plots and the summary table of ``scheduling.py`` (chapter 6, section 6.2)."""

from __future__ import annotations

from pathlib import Path

from chapters.ch06_operations.cluster_sim import Cluster, busy_series
from dmlp.example import cli
from dmlp.example import report as claims_report


def claims(
    stats: dict[str, dict], weights: dict[str, int], share_tolerance: float, grace: float
) -> dict:
    """The figures each policy's claim rests on; ``weights``: each team's fair-share weight,
    ``grace``: the seconds a preempted job takes to stop."""
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
        out["fair_share_within_tolerance"] = out["fair_share_error"] <= share_tolerance
    if "priority" in stats:
        out["high_priority_worst_wait"] = stats["priority"]["worst_high_priority_wait"]
        out["high_priority_within_grace"] = out["high_priority_worst_wait"] <= grace + 1e-9
    if "elastic" in stats and "gang" in stats:
        e, g = stats["elastic"], stats["gang"]
        out["elastic_utilisation_gain"] = e["utilisation"] - g["utilisation"]
        out["elastic_shrunk"], out["elastic_grown"] = e["shrunk"], e["grown"]
    out["checks"] = checks(out)
    return out


def checks(found: dict) -> dict[str, bool]:
    """Each part of the claim that this run measured, and whether it held. A part whose policies
    did not run is absent, never taken as held."""
    done: dict[str, bool] = {}
    if "pods_wasted" in found:
        wasted = found["pods_deadlock_at"] is not None or found["pods_wasted"] > 0
        done["pod-by-pod scheduling deadlocks or holds idle workers"] = wasted
    if "gang_policies_deadlocked" in found:
        done["no gang policy deadlocks"] = not found["gang_policies_deadlocked"]
    if "fair_share_within_tolerance" in found:
        done["fair share within tolerance"] = found["fair_share_within_tolerance"]
    if "high_priority_within_grace" in found:
        done["high priority starts within the grace period"] = found["high_priority_within_grace"]
    if "elastic_utilisation_gain" in found:
        done["elastic raises utilisation over gang"] = found["elastic_utilisation_gain"] > 0
    return done


def plot(out: Path, clusters: dict[str, Cluster], stats: dict[str, dict], target: dict) -> list:
    """The timeline and the teams' shares in ``out``; ``target``: each team's share by weight
    (from :func:`claims`)."""

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
        for i, team in enumerate(target):
            ax.bar([k + i * 0.25 for k in range(len(names))],
                   [stats[n]["shares"][team] for n in names], width=0.25, label=team)  # fmt: skip
        for share in target.values():
            ax.axhline(share, ls=":", lw=1, color="grey")
        ax.set_xticks([k + 0.25 for k in range(len(names))], names)
        ax.set(ylabel="share of workers while every team waits")
        ax.legend(fontsize=7)

    return [
        cli.save_plot(timeline, out / "ch06_scheduling_timeline.png", "Workers doing useful work"),
        cli.save_plot(shares, out / "ch06_scheduling_shares.png", "Team shares (dotted: weights)"),
    ]


def report(
    stats: dict,
    found: dict,
    paths: list[str],
    *,
    num_jobs: int,
    num_workers: int,
    share_tolerance: float,
    grace: float,
) -> claims_report.Claim:
    """The table, then the closing lines (the pictures are ``paths``)."""
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
        title=f"Scheduling {num_jobs} jobs on {num_workers} workers",
    )
    parts = []
    if "pods_deadlock_at" in found:
        when = found["pods_deadlock_at"]
        wasted = found["pods_wasted"] / 3600
        parts.append(
            f"pod-by-pod deadlocked at t={when:.0f} s holding all {num_workers} workers "
            f"idle ({wasted:.1f} worker-h)"
            if when is not None
            else f"pod-by-pod held {wasted:.1f} worker-h idle"
        )
    if "gang_policies_wasted" in found:
        parts.append(f"gang policies wasted {found['gang_policies_wasted']:.0f} worker-s")
    if "fair_share_error" in found:
        parts.append(
            f"fair share within {found['fair_share_error']:.3f} of the weights "
            f"(tolerance {share_tolerance})"
        )
    if "high_priority_worst_wait" in found:
        parts.append(
            f"high priority started within {found['high_priority_worst_wait']:.0f} s "
            f"(grace {grace:.0f} s)"
        )
    if "elastic_utilisation_gain" in found:
        parts.append(f"elastic +{found['elastic_utilisation_gain']:.2f} utilisation over gang "
                     f"({found['elastic_shrunk']} shrinks)")  # fmt: skip
    measured = found["checks"]
    held = bool(measured) and all(measured.values())
    print()
    figures = {k: v for k, v in found.items() if k not in ("target_shares", "checks")}
    figures["parts_measured"] = len(measured)
    figures["parts_failed"] = [name for name, ok in measured.items() if not ok]
    return claims_report.finish("6.2", "; ".join(parts) + ".", held, paths, **figures)
