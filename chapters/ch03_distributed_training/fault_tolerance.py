"""Chapter 3, section 3.4 "Elasticity and fault-tolerance pattern".

Claim: a training job survives losing a worker without losing finished work.

* All-reduce (MultiWorkerMirroredStrategy) is synchronous: when one worker is SIGKILLed the others
  fail too (``UnavailableError``: the intended effect of the kill). ``BackupAndRestore`` backs up
  every epoch's end, so the restarted job (what a TFJob with ``restartPolicy: OnFailure`` does)
  resumes at the first unfinished epoch, and, since it also continues the same data stream, ends
  with the same loss as a run that was never interrupted. The callback is in the worker this job
  runs, ``collective_communication.backup_and_restore`` (the job's ``--backup-dir``).
* Parameter server (ParameterServerStrategy) is asynchronous: when a worker dies, the coordinator
  reschedules its steps on the remaining workers and the run finishes every epoch.

Run: python -m chapters.ch03_distributed_training.fault_tolerance [--num-epochs 5]
     [--kill-at-epoch 3] [--part both]
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from chapters.ch03_distributed_training import collective_communication as cc
from chapters.ch03_distributed_training import fault_tolerance_report as reporting
from chapters.ch03_distributed_training import parameter_server as ps
from chapters.common import distributed as dist
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option
from dmlp.launch.supervisor import TaskFailed
from dmlp.launch.tfcluster import LocalCluster, cluster_spec


def kill_at(victim: str, watch: str, epoch: int, log, fired: threading.Event):
    """SIGKILL ``victim`` (like a lost node) once ``watch`` begins ``epoch``: a launcher hook."""

    def hook(cluster):
        def on_line(task: str, line: str) -> None:
            if task == watch and line == f"EPOCH_BEGIN {epoch}" and not fired.is_set():
                fired.set()
                threading.Timer(0.1, kill, (cluster,)).start()

        return on_line

    def kill(cluster) -> None:
        cluster.kill(victim)
        log(f"SIGKILL {victim} during epoch {epoch}")

    return hook


def run_collective(settings: Settings, log) -> reporting.CollectiveOutcome:
    """The all-reduce job, a worker SIGKILLed once, restarted from the backup until it succeeds."""
    out = Path(settings.out, "collective")
    backup_dir = out / "backup"
    shutil.rmtree(backup_dir, ignore_errors=True)  # a fresh demo, not a leftover backup
    job = dist.convert(settings, cc.Settings, out=str(out), backup_dir=str(backup_dir))
    outcome = reporting.CollectiveOutcome()
    log(
        f"all-reduce: {settings.num_workers} workers, {settings.num_epochs} epochs; "
        f"{settings.victim} will be killed during epoch {settings.kill_at_epoch}"
    )
    reference: dict = {}
    if not settings.no_compare:  # the same job without a kill, in the background, for comparison
        plain = dist.convert(settings, cc.Settings, out=str(Path(settings.out, "uninterrupted")))
        uninterrupted = threading.Thread(target=run_quietly, args=(plain, reference), daemon=True)
        uninterrupted.start()
    for attempt in range(settings.max_restarts + 1):
        dist.clear_reports(out)
        fired = threading.Event()
        spec = cluster_spec(num_workers=settings.num_workers)
        cluster = LocalCluster(spec, cc.MODULE, job.argv(), verbose=settings.verbose)
        if attempt == 0:
            cluster.on_line = kill_at(
                settings.victim, "worker-0", settings.kill_at_epoch, log, fired
            )(cluster)
        with cluster:
            codes = cluster.wait(settings.timeout, fail_fast=False)
        marks = dist.epoch_marks(cluster.lines("worker-0"))
        outcome.attempts.append(reporting.Attempt(codes, marks.first, marks.ended, marks.losses))
        log(
            f"attempt {attempt + 1}: exit codes {codes}; worker-0 began at epoch {marks.first} "
            f"and finished epochs {marks.ended}"
        )
        if fired.is_set():
            # After the kill the survivor cannot finish another synchronous epoch: the epochs
            # it ended are exactly the epochs done.
            outcome.killed_after = len(marks.ended)
        if all(code == 0 for code in codes.values()):
            break
        if fired.is_set() and codes.get("worker-0"):
            log(
                "worker-0 failed with UnavailableError: that is the intended effect of the kill "
                "(all-reduce is synchronous, a lost peer fails every step)"
            )
        if attempt < settings.max_restarts:
            log(
                "restarting every worker with the same backup directory (as the Training Operator "
                "does with restartPolicy: OnFailure)"
            )
    else:
        tail = [*cluster.lines()[-8:], f"still failing after {settings.max_restarts} restart(s)"]
        raise TaskFailed("all-reduce job", 1, tail)
    reports = dist.read_reports(out)
    outcome.final_loss = reports["worker-0"]["losses"][-1]
    outcome.identical_after_resume = len({r["weights_sha256"] for r in reports.values()}) == 1
    outcome.backup_left = backup_dir.exists() and any(backup_dir.iterdir())
    if not settings.no_compare:
        uninterrupted.join()
        if "error" in reference:
            raise reference["error"]
        outcome.uninterrupted_losses = reference["losses"]
    return outcome


def run_quietly(settings: cc.Settings, into: dict) -> None:
    """Run an all-reduce job without echoing its output; its chief's losses go to ``into``."""
    try:
        dist.clear_reports(settings.out)
        spec = cluster_spec(num_workers=settings.num_workers)
        with LocalCluster(spec, cc.MODULE, settings.argv(), echo=False) as cluster:
            cluster.wait(settings.timeout)
        into["losses"] = dist.read_reports(settings.out)["worker-0"]["losses"]
    except Exception as err:  # noqa: BLE001 - handed to the main thread
        into["error"] = err


def run_ps(settings: Settings, log) -> reporting.PsOutcome:
    """The parameter-server job with one worker SIGKILLed mid-training."""
    # One ps task is enough here: this run is about losing a worker.
    job = dist.convert(
        settings, ps.Settings, num_ps=1, out=str(Path(settings.out, "parameter_server"))
    )
    victim = settings.victim
    log(
        f"parameter server: {job.num_ps} ps, {settings.num_workers} workers; {victim} will be "
        f"killed during epoch {settings.kill_at_epoch}"
    )
    fired = threading.Event()
    hook = kill_at(victim, "chief-0", settings.kill_at_epoch, log, fired)
    result = ps.run_local(job, hook=hook, marks={f"{victim} killed": settings.kill_at_epoch})
    if result.tasks_lost:
        log(
            f"the coordinator logged UnavailableError for {', '.join(result.tasks_lost)}: the "
            "intended effect of the kill; it sent the remaining steps to the other worker(s)"
        )
    return reporting.PsOutcome(
        fired.is_set(), result.tasks_lost, len(result.losses), result.losses, result.plot
    )


@dataclass(frozen=True)
class Settings(dist.ClusterSettings):
    out: str = option("out/ch03_fault_tolerance")
    num_examples: int | None = option(2000)
    num_epochs: int = option(5, "passes over --steps-per-epoch batches", minimum=2)
    steps_per_epoch: int = option(10)
    part: str = option("both", "which strategy to break", choices=("both", "collective", "ps"))
    kill_at_epoch: int = option(3, "SIGKILL the last worker during this epoch", minimum=1)
    max_restarts: int = option(2, "how often the all-reduce job is restarted", minimum=0)
    no_compare: bool = option(False, "skip the uninterrupted all-reduce run used for comparison")

    @property
    def victim(self) -> str:  # the worker that is killed: the last one
        return f"worker-{self.num_workers - 1}"

    def check(self) -> None:
        if self.kill_at_epoch >= self.num_epochs:
            raise UsageError(
                f"--kill-at-epoch must be below --num-epochs ({self.num_epochs}), "
                f"got {self.kill_at_epoch}"
            )
        if self.num_workers < 2:
            raise UsageError("--num-workers must be at least 2: one is killed, one carries on")


def main(settings: Settings) -> reporting.Result:
    """Kill a worker mid-training in an all-reduce and/or a parameter-server job."""
    log = cli.Progress("ch03.fault_tolerance")
    settings = dist.resolve_dataset(settings)
    collective = run_collective(settings, log) if settings.part != "ps" else None
    ps_outcome = run_ps(settings, log) if settings.part != "collective" else None
    marks = {f"{settings.victim} killed": settings.kill_at_epoch}
    result = reporting.Result(
        collective, ps_outcome, reporting.plot(settings.out, collective, marks)
    )
    reporting.summarise(result, settings.kill_at_epoch, settings.num_epochs, settings.out)
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
