"""Chapter 3, section 3.2 "Parameter server pattern".

Claim: with ParameterServerStrategy the model's variables live on parameter-server (ps) tasks, a
large layer split into shards across them; workers compute gradients on their own batches and send
the updates there, so every worker reads the same, latest variables from the servers.

Tasks: one coordinator (the ``chief``: it runs ``coordinator`` below, i.e. ``model.fit``, and
dispatches steps), ``--num-ps`` parameter servers and ``--num-workers`` workers, which only serve
over gRPC (``serve``). Without ``TF_CONFIG`` the module launches all of them on localhost; with it
(the TFJob in ``manifests/ch03/parameter-server.yaml``) it is one task.

Run: python -m chapters.ch03_distributed_training.parameter_server [--num-ps 2] [--num-workers 2]
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from chapters.ch03_distributed_training import parameter_server_report as reporting
from chapters.common import distributed as dist
from chapters.common.data import load_fashion_mnist, normalize
from chapters.common.models import build_model
from dmlp.example import cli
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf
from dmlp.launch.tfcluster import LocalCluster, cluster_spec

MODULE = "chapters.ch03_distributed_training.parameter_server"


def ps_strategy(tf, task: dist.Task, variable_partitioner=None):
    """The coordinator's ParameterServerStrategy over the cluster its ``TF_CONFIG`` names."""
    task_type, task_index, cluster = task
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_index, rpc_layer="grpc"
    )
    return tf.distribute.experimental.ParameterServerStrategy(
        resolver, variable_partitioner=variable_partitioner
    )


def coordinator(settings: Settings, task: dist.Task) -> dict:
    """The chief: variables on the ps tasks, steps sent to the workers by the coordinator."""
    tf = import_tf(settings.verbose, settings.seed)
    task_type, task_index, cluster = task
    # A variable over 128 KiB (the book CNN's 3x3x64x64 conv and 576x64 dense kernels, 144 KiB
    # each) is split into up to one shard per ps task.
    partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
        min_shard_bytes=128 << 10, max_shards=len(cluster["ps"])
    )
    strategy = ps_strategy(tf, task, partitioner)
    global_batch = settings.batch_size * len(cluster["worker"])
    split = load_fashion_mnist(
        "train", settings.dataset, settings.data_dir, settings.num_examples, settings.seed
    )

    def dataset_fn(input_context):  # runs on every worker: each reads its own shuffled stream
        batch = input_context.get_per_replica_batch_size(global_batch)
        data = tf.data.Dataset.from_tensor_slices((split.images, split.labels))
        return data.shuffle(len(split)).repeat().batch(batch).map(normalize).prefetch(2)

    with strategy.scope():  # variables are created on the ps tasks
        model = build_model(settings.model_type, legacy_optimizer=True)
    coord = tf.distribute.experimental.coordinator.ClusterCoordinator(strategy)

    def read():  # (optimizer step, sum of all weights) as read from the ps by whoever runs it
        return model.optimizer.iterations, tf.add_n([tf.reduce_sum(v) for v in model.variables])

    probe = tf.function(read)  # scheduled on the workers below

    def probe_workers() -> list[tuple[int, float]]:
        values = [coord.schedule(probe) for _ in range(2 * len(cluster["worker"]))]
        coord.join()
        return [(int(v.fetch()[0]), round(float(v.fetch()[1]), 4)) for v in values]

    before = probe_workers()
    log = dist.epoch_log()
    model.fit(
        tf.keras.utils.experimental.DatasetCreator(dataset_fn),
        epochs=settings.num_epochs,
        steps_per_epoch=settings.steps_per_epoch,
        callbacks=[log],
        verbose=0,
    )
    after = probe_workers()
    iterations, total = read()  # the coordinator's own read
    dist.export_on_every_worker(model, Path(settings.out, "saved_model", "1"), chief=True)
    return dist.write_report(
        settings.out,
        f"{task_type}-{task_index}",
        {
            "global_batch_size": global_batch,
            "placement": placement(model),
            "probes_before": before,
            "probes_after": after,
            "coordinator_view": (int(iterations), round(float(total), 4)),
            "epochs": log.epochs,
            "losses": log.losses,
            "epoch_seconds": log.seconds,
        },
    )


def serve(task: dist.Task) -> None:
    """A ps or worker task: a gRPC server the coordinator uses; it runs until it is stopped."""
    tf = import_tf()
    task_type, task_index, cluster = task
    print(f"SERVING {task_type}-{task_index}", flush=True)
    server = tf.distribute.Server(
        tf.train.ClusterSpec(cluster), job_name=task_type, task_index=task_index, protocol="grpc"
    )
    server.join()


def placement(model) -> list[dict]:
    """Which variable (and which shard of it, ``name/part_K``) lives on which device."""
    names = [re.sub(r"(/part_\d+)?:\d+$", "", v.name) for v in model.variables]
    rows = []
    for name, variable in zip(names, model.variables, strict=True):
        part = re.search(r"/part_(\d+):\d+$", variable.name)
        shard = f"{int(part.group(1)) + 1}/{names.count(name)}" if part else "-"
        rows.append(
            {
                "variable": name,
                "shard": shard,
                "shape": list(variable.shape),
                "device": variable.device,
            }
        )
    return rows


@dataclass(frozen=True)
class Settings(dist.ClusterSettings):
    out: str = option("out/ch03_parameter_server")
    num_epochs: int = option(3)
    batch_size: int = option(
        32, "examples per batch per worker (the global batch is this x workers)", minimum=1
    )
    num_ps: int = option(
        2, "parameter-server tasks (the variables are split across them)", minimum=1
    )


def run_local(
    settings: Settings, hook=None, marks: dict[str, float] | None = None
) -> reporting.Result:
    """Start every task locally, wait for the coordinator, stop the servers; read its report.

    ``hook(cluster)``, when given, returns an ``on_line`` callback that sees every task's lines
    (section 3.4 uses it to kill a worker mid-training); ``marks`` label epochs on the plot.
    The caller resolves ``--dataset`` first (``dist.resolve_dataset``).
    """
    dist.clear_reports(settings.out)
    spec = cluster_spec(num_workers=settings.num_workers, num_ps=settings.num_ps, chief=True)
    cluster = LocalCluster(spec, MODULE, settings.argv(), verbose=settings.verbose)
    cluster.on_line = hook(cluster) if hook else None
    with cluster:
        cluster.wait(settings.timeout, tasks=["chief-0"])  # the servers never exit by themselves
        lost = [name for name in cluster.tasks if name != "chief-0" and cluster.returncode(name)]
    title = f"Parameter server: loss ({settings.num_workers} workers, {settings.num_ps} ps)"
    return reporting.read_result(settings.out, settings.steps_per_epoch, lost, title, marks)


def launch(settings: Settings) -> reporting.Result:
    """Run the whole cluster on this machine, then print where the variables lived."""
    log = cli.Progress("ch03.parameter_server")
    log(f"starting {settings.num_ps} ps, {settings.num_workers} workers and a coordinator")
    settings = dist.resolve_dataset(settings)
    steps = settings.num_epochs * settings.steps_per_epoch
    return reporting.summarise(
        run_local(settings), settings.num_ps, settings.num_workers, steps, settings.out
    )


def task(settings: Settings, me: dist.Task) -> None:
    if me[0] in ("ps", "worker"):
        serve(me)
        return
    coordinator(settings, me)
    sys.stdout.flush()
    os._exit(0)  # the coordinator's gRPC threads can hang a normal interpreter exit


def main(settings: Settings) -> reporting.Result | None:
    return dist.launch_or_run(settings, task, launch)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
