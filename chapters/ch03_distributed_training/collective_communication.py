"""Chapter 3, section 3.3 "Collective communication pattern" (all-reduce).

Claim: with MultiWorkerMirroredStrategy (MWMS) every worker holds a full replica of the model,
trains on its own shard of every global batch, and an all-reduce sums the gradients, so all
replicas apply the same update: after training every worker's weights are bit-for-bit identical.

``worker`` below is what each worker process runs (one pod of the TFJob in
``manifests/ch03/collective-communication.yaml``, or one local process). Without ``TF_CONFIG`` the
module is the launcher: it starts ``--num-workers`` copies of itself on localhost, then compares
their weights and scores the chief's exported model.

Run: python -m chapters.ch03_distributed_training.collective_communication [--num-workers 2]
     [--num-epochs 2] [--steps-per-epoch 20] [--steps-per-execution 1]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from chapters.common import distributed as dist
from chapters.common.data import load_fashion_mnist, normalize
from chapters.common.models import build_model
from dmlp.example import cli, report
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf
from dmlp.launch.tfcluster import LocalCluster, cluster_spec, is_chief

MODULE = "chapters.ch03_distributed_training.collective_communication"


def worker(settings: Settings, task: dist.Task) -> dict:
    """One all-reduce worker: strategy, sharded data, ``fit``, and the chief-only export."""
    tf = import_tf(settings.verbose, settings.seed)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # reads TF_CONFIG
    global_batch = settings.batch_size * strategy.num_replicas_in_sync
    callbacks, first_epoch = [dist.epoch_log()], 0
    if settings.backup_dir:  # section 3.4: resume a killed job at its first unfinished epoch
        backup, first_epoch = backup_and_restore(settings.backup_dir)
        callbacks.insert(0, backup)

    split = load_fashion_mnist(
        "train", settings.dataset, settings.data_dir, settings.num_examples, settings.seed
    )
    options = tf.data.Options()  # in-memory data has no files to split: shard by batch elements
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = (
        split.to_dataset()
        .shuffle(len(split), seed=settings.seed)
        .repeat()
        .batch(global_batch)  # every worker takes its share of each global batch
        .skip(first_epoch * settings.steps_per_epoch)  # a resumed job continues the same stream
        .map(normalize)
        .prefetch(2)
        .with_options(options)
    )
    with strategy.scope():  # variables created here are mirrored on every worker
        model = build_model(settings.model_type, steps_per_execution=settings.steps_per_execution)
    model.fit(
        train,
        epochs=settings.num_epochs,
        steps_per_epoch=settings.steps_per_epoch,
        callbacks=callbacks,
        verbose=0,
    )
    task_type, task_index, cluster = task
    chief = is_chief(task_type, task_index, cluster)
    saved = dist.export_on_every_worker(model, Path(settings.out, "saved_model", "1"), chief)
    log = callbacks[-1]
    return dist.write_report(
        settings.out,
        f"{task_type}-{task_index}",
        {
            "chief": chief,
            "replicas": strategy.num_replicas_in_sync,
            "global_batch_size": global_batch,
            "weights_sha256": dist.weights_digest(model),
            "epochs": log.epochs,
            "losses": log.losses,
            "epoch_seconds": log.seconds,
            "saved_model": str(saved) if saved else None,
        },
    )


def backup_and_restore(backup_dir: str):
    """The callback that backs up each epoch's end, and the epoch a restarted job resumes at."""
    tf = import_tf()
    backup = tf.keras.callbacks.BackupAndRestore(backup_dir=backup_dir)  # save_freq="epoch"
    latest = tf.train.latest_checkpoint(os.path.join(backup_dir, "chief"))  # the chief's backup
    if latest is None:
        return backup, 0
    # BackupAndRestore records the last epoch it backed up next to the weights; fit() resumes
    # after it. The worker needs the number too, to skip the batches those epochs consumed.
    saved = tf.train.load_checkpoint(latest).get_tensor(
        "ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE"
    )
    return backup, int(saved) + 1


@dataclass(frozen=True)
class Settings(dist.ClusterSettings):
    out: str = option("out/ch03_collective")
    steps_per_execution: int = option(
        1, "training steps per call into TensorFlow (10 cuts per-step overhead)", minimum=1
    )
    backup_dir: str | None = option(
        None, "BackupAndRestore folder: resume from it after a failure (see fault_tolerance)"
    )


@dataclass(frozen=True)
class Result:
    reports: dict[str, dict]  # per worker: digest, losses, epoch times, ...
    distinct_digests: int  # 1 = every replica ends with the same weights
    saved_models: list[str]  # SavedModels on disk under --out (exactly the chief's)
    accuracy: float  # the chief's export on 1,000 test images, called as TF Serving would
    examples_per_s: float  # job-level: global examples per second after the first epoch
    plot: str
    claim: report.Claim | None = None  # what the summary printed, and whether it held


def launch(settings: Settings) -> Result:
    """Start the workers on this machine, wait, compare their weights, score the chief's model."""
    log = cli.Progress("ch03.collective")
    settings = dist.resolve_dataset(settings)
    dist.clear_reports(settings.out)
    spec = cluster_spec(num_workers=settings.num_workers)
    log(
        f"starting {settings.num_workers} workers on {', '.join(spec['worker'])} "
        f"(global batch = {settings.batch_size} x {settings.num_workers})"
    )
    with LocalCluster(spec, MODULE, settings.argv(), verbose=settings.verbose) as cluster:
        cluster.wait(settings.timeout)
    reports = dist.read_reports(settings.out, [f"worker-{i}" for i in range(settings.num_workers)])
    chief = next(r for r in reports.values() if r["chief"])
    saved_models = sorted(str(p.parent) for p in Path(settings.out).rglob("saved_model.pb"))
    log(f"scoring the chief's export {chief['saved_model']} on 1,000 test images")
    result = Result(
        reports=reports,
        distinct_digests=len({r["weights_sha256"] for r in reports.values()}),
        saved_models=saved_models,
        accuracy=dist.accuracy(chief["saved_model"], settings),
        examples_per_s=dist.steady_examples_per_s(
            chief["epoch_seconds"], settings.steps_per_epoch, chief["global_batch_size"]
        ),
        plot=str(
            dist.plot_losses(
                Path(settings.out, "loss_per_worker.png"),
                {name: (r["epochs"], r["losses"]) for name, r in reports.items()},
                f"All-reduce, {settings.num_workers} workers: loss per worker (curves coincide)",
            )
        ),
    )
    return replace(result, claim=summarise(settings, result))


def summarise(settings: Settings, result: Result) -> report.Claim:
    rows = [
        (name, "yes" if r["chief"] else "", r["losses"][0], r["losses"][-1], r["weights_sha256"])
        for name, r in result.reports.items()
    ]
    cli.print_table(
        rows,
        ["task", "chief", "first loss", "final loss", "weights sha256"],
        title=f"All-reduce (MWMS) across {settings.num_workers} workers, model "
        f"{settings.model_type}, global batch {settings.batch_size * settings.num_workers}",
    )
    print(
        f"\nJob throughput: {result.examples_per_s:,.0f} examples/s after the first epoch "
        "(workers run in lock-step, so this is one figure for the job).\n"
        f"Accuracy of the exported model: {result.accuracy:.1%} after "
        f"{settings.num_epochs * settings.steps_per_epoch} steps; more steps give more "
        "(e.g. --num-epochs 10 --steps-per-epoch 50)."
    )
    identical, one_model = result.distinct_digests == 1, len(result.saved_models) == 1
    return report.finish(
        "3.3",
        f"every replica ends with identical weights ({result.distinct_digests} distinct "
        f"digest(s) of {len(result.reports)} workers), and exactly one SavedModel is on disk "
        f"({len(result.saved_models)}: the chief's)",
        identical and one_model,
        pictures=[result.plot],
        wrote=f"{', '.join(result.saved_models)}, {result.plot}, {settings.out}/reports/",
        distinct_digests=result.distinct_digests,
        saved_models=len(result.saved_models),
        accuracy=round(result.accuracy, 3),
        examples_per_s=round(result.examples_per_s),
    )


def main(settings: Settings) -> Result | dict:
    return dist.launch_or_run(settings, worker, launch)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
