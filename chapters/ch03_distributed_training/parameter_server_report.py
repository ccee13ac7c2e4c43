"""The result, loss plot and summary of ``parameter_server.py`` (chapter 3, section 3.2)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from chapters.common import distributed as dist
from dmlp.example import cli, report


@dataclass(frozen=True)
class Result:
    placement: list[dict]  # variable, shard, shape, device
    losses: list[float]  # per epoch
    probes_before: list[tuple[int, float]]  # (optimizer step, sum of weights) read by workers
    probes_after: list[tuple[int, float]]
    coordinator_view: tuple[int, float]
    workers_agree: bool  # every probe after training read the coordinator's values
    steps_applied: int  # optimizer steps on the ps: every worker's updates in one counter
    examples_per_s: float
    tasks_lost: list[str]
    plot: str
    claim: report.Claim | None = None  # what the summary printed, and whether it held


def read_result(
    out: str, steps_per_epoch: int, tasks_lost: list[str], title: str, marks: dict | None
) -> Result:
    """The coordinator's report (``<out>/reports/chief-0.json``) as a Result, its losses plotted
    under ``title`` (``marks``: epochs to label, as {label: epoch})."""
    r = dist.read_reports(out, ["chief-0"])["chief-0"]
    after = [tuple(p) for p in r["probes_after"]]
    view = tuple(r["coordinator_view"])
    return Result(
        placement=r["placement"],
        losses=r["losses"],
        probes_before=[tuple(p) for p in r["probes_before"]],
        probes_after=after,
        coordinator_view=view,
        workers_agree=set(after) == {view},
        steps_applied=view[0],
        examples_per_s=dist.steady_examples_per_s(
            r["epoch_seconds"], steps_per_epoch, r["global_batch_size"]
        ),
        tasks_lost=tasks_lost,
        plot=str(
            dist.plot_losses(
                Path(out, "loss.png"),
                {"coordinator (all workers' steps)": (r["epochs"], r["losses"])},
                title,
                marks=marks,
            )
        ),
    )


def summarise(result: Result, num_ps: int, num_workers: int, steps: int, out: str) -> Result:
    """Where the variables live, the losses, the probes, then the closing lines; ``steps``: the
    optimizer steps the job ran. Returns ``result`` with its claim."""
    rows = [
        (
            p["variable"],
            p["shard"],
            "x".join(map(str, p["shape"])),
            p["device"].replace("/replica:0", "").replace("/device:CPU:0", ""),
        )
        for p in result.placement
    ]
    cli.print_table(
        rows,
        ["variable", "shard", "shape", "device"],
        title=f"Where the variables live ({num_ps} ps tasks)",
    )
    cli.print_table(
        list(enumerate(result.losses)),
        ["epoch", "loss"],
        title=f"Training on {num_workers} workers",
    )
    print(
        f"\nWorkers read (optimizer step, sum of all weights) from the ps tasks: before training "
        f"{sorted(set(result.probes_before))}, after {sorted(set(result.probes_after))}; the "
        f"coordinator reads {result.coordinator_view}. Throughput: "
        f"{result.examples_per_s:,.0f} examples/s after the first epoch."
    )
    sharded = sorted({p["variable"] for p in result.placement if p["shard"] != "-"})
    claim = report.finish(
        "3.2",
        f"{', '.join(sharded) or 'no variable'} is split across the ps tasks, and every worker "
        f"reads the one updated copy ({result.steps_applied} steps of {steps} landed in one "
        f"counter); loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}",
        bool(sharded) and result.workers_agree and result.steps_applied == steps,
        pictures=[result.plot],
        wrote=f"{Path(out, 'saved_model', '1')}, {result.plot}, {out}/reports/",
        sharded=", ".join(sharded),
        steps_applied=result.steps_applied,
        final_loss=round(result.losses[-1], 4),
    )
    return replace(result, claim=claim)
