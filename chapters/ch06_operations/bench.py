"""Chapter 6 benchmarks for ``make bench``: each scheduling policy on the same seeded job stream.

A pure simulation, so the figures are the same on every machine and every run.
"""

from __future__ import annotations

from chapters.ch06_operations.cluster_sim import summarise
from chapters.ch06_operations.scheduling import POLICIES, Settings, simulate, workload
from dmlp.example.bench import case


@case("ch06.scheduling")
def scheduling(quick: bool) -> dict:
    """Utilisation, mean job completion time and worst wait per policy (simulated minutes)."""
    settings = Settings(num_jobs=100 if quick else 400)
    jobs = workload(settings)
    figures, ratios = {}, {}
    for policy in POLICIES:
        s = summarise(simulate(settings, policy, jobs))
        figures[f"{policy}: utilisation"] = s["utilisation"]
        figures[f"{policy}: jobs done"] = s["jobs_done"]
        if s["jobs_done"] == s["jobs"]:
            figures[f"{policy}: mean JCT (min)"] = s["mean_jct"] / 60
            figures[f"{policy}: worst wait (min)"] = s["worst_wait"] / 60
        else:  # deadlocked: no finite completion time or wait to report (JSON has no infinity)
            figures[f"{policy}: deadlocked at (s)"] = s["deadlock_at"]
            figures[f"{policy}: held idle (worker-h)"] = s["wasted_worker_seconds"] / 3600
    ratios["elastic / gang utilisation"] = (
        figures["elastic: utilisation"] / figures["gang: utilisation"]
    )
    return {
        "config": {
            "num_workers": settings.num_workers,
            "num_jobs": settings.num_jobs,
            "team_weights": list(settings.team_weights),
            "load": settings.load,
            "seed": settings.seed,
        },
        "figures": figures,
        "ratios": ratios,
    }
