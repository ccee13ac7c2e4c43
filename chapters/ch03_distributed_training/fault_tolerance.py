"""Chapter 3, section 3.4 "Elasticity and fault-tolerance pattern".

Claim: a training job survives losing a worker without losing finished work.

* All-reduce (``MultiWorkerMirroredStrategy``) is synchronous: when one worker is SIGKILLed the
  others fail too. With ``BackupAndRestore`` each epoch's end is backed up, so the restarted job
  (what a TFJob with ``restartPolicy: OnFailure`` does by recreating the pods) resumes at the
  first unfinished epoch instead of epoch 0.
* Parameter server (``ParameterServerStrategy``) is asynchronous: when a worker dies, the
  coordinator reschedules its steps on the remaining workers and the run finishes every epoch.

The summary shows when the worker was killed, where the job resumed, and the final loss next to
an uninterrupted run of the same configuration.

Run: python -m chapters.ch03_distributed_training.fault_tolerance [--num-epochs 6]
     [--kill-at-epoch 3] [--part both]
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import threading
from pathlib import Path

from chapters.ch03_distributed_training import collective_communication as cc
from chapters.ch03_distributed_training import parameter_server as ps
from chapters.ch03_distributed_training.training import TrainConfig, add_training_flags
from chapters.common import cli
from chapters.common.cluster import LocalCluster, TaskFailed, cluster_spec

EPOCH = re.compile(r"^EPOCH_(BEGIN|END) (\d+)")


def kill_when(
    cluster_ref: list, victim: str, watch: str, epoch: int, log, delay: float = 0.1
) -> tuple[callable, dict]:
    """An ``on_line`` hook: SIGKILL ``victim`` just after ``watch`` prints ``EPOCH_BEGIN epoch``.

    ``state["epochs_done"]`` records how many epochs ``watch`` had finished at the kill.
    """
    state: dict = {"epochs_done": None}

    def on_line(task: str, line: str) -> None:
        match = EPOCH.match(line)
        if (
            task == watch
            and match
            and match.group(1) == "BEGIN"
            and int(match.group(2)) == epoch
            and state["epochs_done"] is None
        ):
            state["epochs_done"] = -1  # armed

            def kill() -> None:
                cluster = cluster_ref[0]
                cluster.kill(victim)
                state["epochs_done"] = sum(
                    1 for x in cluster.lines(watch) if x.startswith("EPOCH_END")
                )
                log(f"SIGKILL {victim} after {state['epochs_done']} finished epochs")

            threading.Timer(delay, kill).start()

    return on_line, state


def run_collective_attempts(
    num_workers: int,
    config: TrainConfig,
    backup_dir: str,
    kill_at_epoch: int | None,
    max_restarts: int,
    timeout: float,
    log,
) -> list[dict]:
    """Run the all-reduce job, killing the last worker once, restarting until it succeeds."""
    attempts = []
    for attempt in range(max_restarts + 1):
        shutil.rmtree(Path(config.out, "reports"), ignore_errors=True)
        victim = f"worker-{num_workers - 1}"
        cluster_ref: list = []
        kill = kill_at_epoch if attempt == 0 else None
        on_line, state = kill_when(cluster_ref, victim, "worker-0", kill or -1, log)
        spec = cluster_spec(num_workers=num_workers)
        args = config.argv(backup_dir=backup_dir)
        with LocalCluster(spec, cc.MODULE, args, on_line=on_line) as cluster:
            cluster_ref.append(cluster)
            codes = cluster.wait(timeout, fail_fast=False)
        marks = [m.groups() for line in cluster.lines("worker-0") if (m := EPOCH.match(line))]
        begun = [int(epoch) for kind, epoch in marks if kind == "BEGIN"]
        ended = [int(epoch) for kind, epoch in marks if kind == "END"]
        record = {
            "attempt": attempt + 1,
            "exit_codes": codes,
            # Exact, unlike the count at the moment of the kill: after the kill the survivor
            # cannot finish another synchronous epoch, so its EPOCH_END lines are the epochs done.
            "killed": len(ended) if state["epochs_done"] is not None else None,
            "first_epoch": begun[0] if begun else None,
            "epochs_ended": ended,
        }
        attempts.append(record)
        log(
            f"attempt {attempt + 1}: exit codes {codes}; worker-0 began at epoch "
            f"{record['first_epoch']} and finished epochs {record['epochs_ended']}"
        )
        if all(code == 0 for code in codes.values()):
            return attempts
        log(
            "the job failed: restarting every worker with the same backup directory "
            "(as the Training Operator does)"
        )
    failed = attempts[-1]
    raise TaskFailed("job", 1, [f"still failing after {max_restarts} restarts: {failed}"])


def collective_part(
    num_workers: int,
    kill_at_epoch: int,
    compare: bool,
    base: TrainConfig,
    timeout: float,
    max_restarts: int,
    log,
) -> dict:
    config = dataclasses.replace(base, out=str(Path(base.out, "collective")))
    backup_dir = Path(config.out, "backup")
    shutil.rmtree(backup_dir, ignore_errors=True)  # a fresh demo, not a leftover backup
    log(
        f"all-reduce: {num_workers} workers, {config.num_epochs} epochs, killing "
        f"worker-{num_workers - 1} during epoch {kill_at_epoch}"
    )
    attempts = run_collective_attempts(
        num_workers, config, str(backup_dir), kill_at_epoch, max_restarts, timeout, log
    )
    final = cc.read_reports(config.out)
    result = {
        "attempts": attempts,
        "final_losses": final["worker-0"]["losses"],
        "resumed_at_epoch": attempts[-1]["first_epoch"],
        "identical_after_resume": len({r["weights_sha256"] for r in final.values()}) == 1,
        "backup_left": backup_dir.exists() and any(backup_dir.iterdir()),
    }
    if compare:
        log("uninterrupted run of the same configuration, for comparison")
        plain = dataclasses.replace(base, out=str(Path(base.out, "collective-uninterrupted")))
        shutil.rmtree(Path(plain.out, "reports"), ignore_errors=True)
        spec = cluster_spec(num_workers=num_workers)
        with LocalCluster(spec, cc.MODULE, plain.argv(), echo=False) as cluster:
            cluster.wait(timeout)
        result["uninterrupted_losses"] = cc.read_reports(plain.out)["worker-0"]["losses"]
    return result


def ps_part(
    num_workers: int, kill_at_epoch: int, compare: bool, base: TrainConfig, timeout: float, log
) -> dict:
    config = dataclasses.replace(base, out=str(Path(base.out, "parameter_server")))
    victim = f"worker-{num_workers - 1}"
    log(
        f"parameter server: 2 ps, {num_workers} workers, killing {victim} during epoch "
        f"{kill_at_epoch}"
    )
    cluster_ref: list = []
    on_line, state = kill_when(cluster_ref, victim, "chief-0", kill_at_epoch, log)
    spec = cluster_spec(num_workers=num_workers, num_ps=2, chief=True)
    report = ps.run_local(spec, config, timeout, on_line=on_line, cluster_ref=cluster_ref)
    result = {
        "killed": state["epochs_done"],
        "tasks_lost": report["tasks_lost"],
        "epochs_completed": len(report["losses"]),
        "losses": report["losses"],
    }
    if compare:
        log("uninterrupted parameter-server run, for comparison")
        plain = dataclasses.replace(base, out=str(Path(base.out, "parameter_server-uninterrupted")))
        spec = cluster_spec(num_workers=num_workers, num_ps=2, chief=True)
        result["uninterrupted_losses"] = ps.run_local(spec, plain, timeout)["losses"]
    return result


def main(
    part: str = "both",
    num_workers: int = 2,
    num_epochs: int = 6,
    kill_at_epoch: int = 3,
    steps_per_epoch: int = 10,
    batch_size: int = 32,
    model_type: str = "cnn",
    compare: bool = True,
    max_restarts: int = 2,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = 2000,
    out: str = "out/ch03_fault_tolerance",
    timeout: float = 600,
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    """Kill a worker mid-training in an all-reduce and/or a parameter-server job."""
    if not 0 < kill_at_epoch < num_epochs:
        raise cli.UsageError(
            f"--kill-at-epoch must be between 1 and --num-epochs - 1 "
            f"({num_epochs - 1}), got {kill_at_epoch}"
        )
    if num_workers < 2:
        raise cli.UsageError("--num-workers must be at least 2: one is killed, one carries on")
    log = cli.Progress("ch03.fault_tolerance")
    base = TrainConfig.pick(locals())
    results: dict = {}
    if part in ("both", "collective"):
        results["collective"] = collective_part(
            num_workers, kill_at_epoch, compare, base, timeout, max_restarts, log
        )
    if part in ("both", "ps"):
        results["ps"] = ps_part(num_workers, kill_at_epoch, compare, base, timeout, log)
    summarise(results, num_epochs)
    return results


def summarise(results: dict, num_epochs: int) -> None:
    rows = []
    if "collective" in results:
        c = results["collective"]
        for a in c["attempts"]:
            rows.append(
                (
                    f"all-reduce attempt {a['attempt']}",
                    a["killed"] if a["killed"] is not None else "-",
                    a["first_epoch"],
                    len(a["epochs_ended"]),
                    "ok" if all(v == 0 for v in a["exit_codes"].values()) else "failed",
                )
            )
    if "ps" in results:
        p = results["ps"]
        rows.append(
            (
                "parameter server",
                p["killed"],
                0,
                p["epochs_completed"],
                f"ok, lost {', '.join(p['tasks_lost']) or 'none'}",
            )
        )
    cli.print_table(
        rows,
        ["run", "killed after epochs", "started at epoch", "epochs finished", "outcome"],
        title="Fault tolerance",
    )
    if "collective" in results:
        c = results["collective"]
        line = (
            f"All-reduce: resumed at epoch {c['resumed_at_epoch']} (not 0), finished epoch "
            f"{num_epochs - 1}; final loss {c['final_losses'][-1]:.3f}"
        )
        if "uninterrupted_losses" in c:
            line += f" vs {c['uninterrupted_losses'][-1]:.3f} uninterrupted"
        print(line + ".")
    if "ps" in results:
        p = results["ps"]
        line = (
            f"Parameter server: {p['epochs_completed']} of {num_epochs} epochs finished "
            f"without {', '.join(p['tasks_lost']) or 'any lost worker'}; final loss "
            f"{p['losses'][-1]:.3f}"
        )
        if "uninterrupted_losses" in p:
            line += f" vs {p['uninterrupted_losses'][-1]:.3f} uninterrupted"
        print(line + ".")


def build_parser():
    p = cli.parser(__doc__, model=True, out="out/ch03_fault_tolerance")
    p.set_defaults(num_examples=2000)
    p.add_argument(
        "--part",
        choices=("both", "collective", "ps"),
        default="both",
        help="which strategy to break (default: both)",
    )
    p.add_argument("--num-workers", type=cli.positive_int, default=2, help="(default: 2)")
    add_training_flags(p, num_epochs=6, steps_per_epoch=10, batch_help="per-worker batch size")
    p.add_argument(
        "--kill-at-epoch",
        type=cli.positive_int,
        default=3,
        help="SIGKILL the last worker during this epoch (default: 3)",
    )
    p.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the uninterrupted runs used for comparison",
    )
    p.add_argument(
        "--max-restarts",
        type=cli.non_negative_int,
        default=2,
        help="how often the all-reduce job is restarted (default: 2)",
    )
    return p


def check_flags(args) -> None:
    if not 0 < args.kill_at_epoch < args.num_epochs:
        raise cli.UsageError(f"--kill-at-epoch must be below --num-epochs ({args.num_epochs})")
    if args.num_workers < 2:
        raise cli.UsageError("--num-workers must be at least 2: one is killed, one carries on")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser(), check=check_flags))
