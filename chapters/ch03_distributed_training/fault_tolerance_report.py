"""Outcomes, the loss plot and the summary of ``fault_tolerance.py`` (chapter 3, section 3.4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chapters.common import distributed as dist
from dmlp.example import cli, report


@dataclass
class Attempt:
    exit_codes: dict[str, int]
    first_epoch: int | None  # where worker-0 began: 0, or where the backup let it resume
    epochs: list[int]  # the epochs worker-0 finished
    losses: list[float]


@dataclass
class CollectiveOutcome:
    attempts: list[Attempt] = field(default_factory=list)
    killed_after: int | None = None  # epochs finished when the worker was killed
    final_loss: float = float("nan")
    uninterrupted_losses: list[float] = field(default_factory=list)  # unless --no-compare
    identical_after_resume: bool = False  # every worker's weights equal after the restart
    backup_left: bool = True  # a finished run deletes its backup

    @property
    def resumed_at(self) -> int | None:  # the epoch the last (successful) attempt began at
        return self.attempts[-1].first_epoch if self.attempts else None

    @property
    def uninterrupted_final_loss(self) -> float | None:
        return self.uninterrupted_losses[-1] if self.uninterrupted_losses else None

    @property
    def no_progress_lost(self) -> bool:
        return self.killed_after is not None and self.resumed_at == self.killed_after > 0


@dataclass
class PsOutcome:
    killed: bool
    tasks_lost: list[str]
    epochs_completed: int
    losses: list[float]
    plot: str = ""  # its loss curve, the kill marked


@dataclass
class Result:
    collective: CollectiveOutcome | None
    ps: PsOutcome | None
    plot: str | None
    claim: report.Claim | None = None  # what the summary printed, and whether it held


def plot(out: str, collective: CollectiveOutcome | None, marks: dict[str, int]) -> str | None:
    """Each all-reduce attempt's losses (and the uninterrupted run's) in ``out``; ``marks``: the
    kill, as {label: epoch}."""
    if collective is None:
        return None
    curves = {f"attempt {i + 1}": (a.epochs, a.losses) for i, a in enumerate(collective.attempts)}
    if collective.uninterrupted_losses:
        n = len(collective.uninterrupted_losses)
        curves["uninterrupted"] = (list(range(n)), collective.uninterrupted_losses)
    return str(
        dist.plot_losses(
            Path(out, "loss_with_kill.png"),
            curves,
            "All-reduce with BackupAndRestore: a worker killed, the job resumed",
            marks=marks,
        )
    )


def summarise(result: Result, kill_at_epoch: int, num_epochs: int, out: str) -> None:
    """The table of runs, then the closing lines; the claim is kept in ``result.claim``."""
    c, p = result.collective, result.ps
    rows, claims = [], []
    for i, a in enumerate(c.attempts if c else []):
        ok = "ok" if all(v == 0 for v in a.exit_codes.values()) else "failed (killed)"
        rows.append((f"all-reduce attempt {i + 1}", a.first_epoch, len(a.epochs), a.losses[-1], ok))
    if p is not None:
        lost = ", ".join(p.tasks_lost) or "-"
        rows.append(("parameter server", 0, p.epochs_completed, p.losses[-1], f"ok without {lost}"))
    title = f"Fault tolerance: a worker killed during epoch {kill_at_epoch}"
    headers = ["run", "started at epoch", "epochs finished", "last loss", "outcome"]
    cli.print_table(rows, headers, title=title)
    if c is not None:
        claims.append(
            f"the all-reduce job was killed after {c.killed_after} finished epochs and resumed "
            f"at epoch {c.resumed_at} ({'no' if c.no_progress_lost else 'SOME'} progress lost), "
            f"final loss {c.final_loss:.4f}"
        )
        if c.uninterrupted_final_loss is not None:
            gap = abs(c.final_loss - c.uninterrupted_final_loss)
            same = "identical" if gap == 0 else f"a gap of {gap:.2g}"
            claims[-1] += f" vs {c.uninterrupted_final_loss:.4f} uninterrupted ({same})"
    if p is not None:
        claims.append(
            f"the parameter-server job finished {p.epochs_completed} of {num_epochs} "
            f"epochs without {lost}"
        )
    held = (c is None or (c.no_progress_lost and c.identical_after_resume)) and (
        p is None or (p.killed and p.epochs_completed == num_epochs)
    )
    figures = {"resumed_at": c.resumed_at, "final_loss": c.final_loss} if c else {}
    pictures = [path for path in (result.plot, p and p.plot) if path]
    result.claim = report.finish("3.4", "; ".join(claims), held, pictures, f"{out}/", **figures)
