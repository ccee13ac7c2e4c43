"""Chapter 3, section 3.2 "Parameter server pattern".

Claim: with ``ParameterServerStrategy`` the model's variables live on parameter-server tasks (a
large layer split into shards across them), workers compute gradients on their own batches and
send updates there, and every worker reads the same, latest variables from the servers.

Tasks: one coordinator (the ``chief``: it runs ``model.fit`` and dispatches steps), ``--num-ps``
parameter servers and ``--num-workers`` workers (the last two only serve over gRPC). Without
``TF_CONFIG`` this module launches all of them locally and prints where each variable shard
lives, the loss per epoch, and what the workers read from the servers before and after training.
With ``TF_CONFIG`` (the TFJob in ``manifests/ch03/parameter-server.yaml``) it is one task.

Run: python -m chapters.ch03_distributed_training.parameter_server [--num-ps 2] [--num-workers 2]
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from chapters.ch03_distributed_training.training import TrainConfig, add_training_flags
from chapters.common import cli
from chapters.common.cluster import LocalCluster, cluster_spec, task_from_env

MODULE = "chapters.ch03_distributed_training.parameter_server"


def run_local(
    spec, config: TrainConfig, timeout: float, on_line=None, cluster_ref: list | None = None
) -> dict:
    """Start every task of ``spec`` locally, wait for the chief, then stop the servers.

    ``cluster_ref``, when given, receives the running cluster (for hooks that kill a task).
    """
    from chapters.ch03_distributed_training.collective_communication import read_reports

    shutil.rmtree(Path(config.out, "reports"), ignore_errors=True)
    with LocalCluster(spec, MODULE, config.argv(), on_line=on_line) as cluster:
        if cluster_ref is not None:
            cluster_ref.append(cluster)
        cluster.wait(timeout, tasks=["chief-0"])  # ps and worker servers never exit by themselves
        lost = [name for name in cluster.tasks if name != "chief-0" and cluster.returncode(name)]
    report = read_reports(config.out)["chief-0"]
    report["tasks_lost"] = lost
    return report


def summarise(report: dict) -> None:
    rows = [
        (
            p["variable"],
            p["shard"],
            "x".join(map(str, p["shape"])),
            p["device"].replace("/replica:0", "").replace("/device:CPU:0", ""),
        )
        for p in report["placement"]
    ]
    cli.print_table(
        rows,
        ["variable", "shard", "shape", "device"],
        title=f"Where the variables live ({report['num_ps']} ps tasks)",
    )
    losses = report["losses"]
    cli.print_table(
        [(i, loss) for i, loss in enumerate(losses)],
        ["epoch", "loss"],
        title=f"Training on {report['num_workers']} workers, global batch "
        f"{report['global_batch_size']}",
    )
    before = {tuple(v) for v in report["probes_before"]}
    after = {tuple(v) for v in report["probes_after"]}
    print(
        f"Workers read (optimizer step, sum of all weights) from the ps tasks: "
        f"before training {sorted(before)}, after {sorted(after)}; the coordinator reads "
        f"{tuple(report['coordinator_view'])}."
    )
    ok = len(after) == 1 and tuple(report["coordinator_view"]) in after
    print(
        f"Claim: the large variable is sharded across ps tasks, every worker reads the one "
        f"updated copy ({'yes' if ok else 'NO'}), and the loss went down: "
        f"{losses[0]:.3f} -> {losses[-1]:.3f}."
    )


def main(
    num_ps: int = 2,
    num_workers: int = 2,
    model_type: str = "cnn",
    num_epochs: int = 3,
    steps_per_epoch: int = 20,
    batch_size: int = 32,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = 4000,
    out: str = "out/ch03_parameter_server",
    timeout: float = 600,
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    """Launch (or, under ``TF_CONFIG``, be one task of) a parameter-server training job."""
    config = TrainConfig.pick(locals())
    task = task_from_env()
    if task is not None:
        from chapters.ch03_distributed_training import training

        task_type, task_index, cluster = task
        if task_type in ("ps", "worker"):
            training.serve_forever(task_type, task_index, cluster)
            return {}
        report = training.train_parameter_server(config)
        sys.stdout.flush()
        # gRPC threads of the coordinator can hang a normal interpreter exit: leave at once.
        os._exit(0)
        return report  # pragma: no cover

    log = cli.Progress("ch03.parameter_server")
    spec = cluster_spec(num_workers=num_workers, num_ps=num_ps, chief=True)
    log(f"starting {num_ps} ps, {num_workers} workers and a coordinator on localhost")
    report = run_local(spec, config, timeout)
    summarise(report)
    return report


def build_parser():
    p = cli.parser(__doc__, model=True, out="out/ch03_parameter_server")
    p.set_defaults(num_examples=4000)
    p.add_argument(
        "--num-ps", type=cli.positive_int, default=2, help="parameter-server tasks (default: 2)"
    )
    p.add_argument(
        "--num-workers", type=cli.positive_int, default=2, help="worker tasks (default: 2)"
    )
    add_training_flags(
        p,
        num_epochs=3,
        steps_per_epoch=20,
        batch_help="per-worker batch size; global = this x workers",
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
