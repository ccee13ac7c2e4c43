"""Chapter 9, section 9.2 "Model training": the three models, one node or all-reduce workers.

Claim: each of the book's three models (``cnn``, ``dropout``, ``batch_norm``) trains from the
ingested TFRecords with MultiWorkerMirroredStrategy, into its own folder: its checkpoints and its
SavedModel (TF Serving's layout, version 1) are its own, and the SavedModel really is that model
type (read back from what was saved, not from the flag).

``worker`` is what each pod of a TFJob runs (the project workflow creates three). Without
``TF_CONFIG`` the module is a single worker (``--num-workers 1``, the default) or, with
``--num-workers 2``, chapter 3's launcher starts two workers on this machine.

Run: python -m chapters.project.model_training [--model-type dropout] [--num-workers 2] [--quick]
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

from chapters.common import distributed as dist
from chapters.common.models import MODEL_TYPES, book_learning_rate, build_model
from chapters.project import config
from chapters.project.data_pipeline import ingest, training_dataset
from dmlp.example import cli, report
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf
from dmlp.launch.tfcluster import LocalCluster, cluster_spec, is_chief

MODULE = "chapters.project.model_training"


def worker(settings: Settings, task: dist.Task) -> dict:
    """One worker: the strategy, its share of the TFRecords, ``fit``, checkpoints, the export."""
    task_type, index, cluster = task
    folder = config.model_dir(settings.out, settings.model_type)
    chief = is_chief(task_type, index, cluster)
    if chief:  # this run's files only: a stale model must never pass for a new one
        shutil.rmtree(folder, ignore_errors=True)
    tf = import_tf(settings.verbose, settings.seed)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # no TF_CONFIG: a single worker
    num_workers = len(cluster.get("worker", [])) + len(cluster.get("chief", [])) or 1
    global_batch = settings.size("batch_size") * strategy.num_replicas_in_sync
    data = training_dataset(settings.tfrecords, global_batch, settings.seed, num_workers, index)
    with strategy.scope():  # one replica of the variables per worker, kept equal by all-reduce
        model = build_model(
            settings.model_type, batch_norm_momentum=settings.size("batch_norm_momentum")
        )
    log = dist.epoch_log()
    schedule = tf.keras.callbacks.LearningRateScheduler(book_learning_rate)  # the book's steps
    checkpoints = tf.keras.callbacks.ModelCheckpoint(  # non-chief workers write to a temp dir
        str(folder / "checkpoints" / "epoch-{epoch:02d}.weights"), save_weights_only=True
    )
    start = time.perf_counter()
    history = model.fit(
        data,
        epochs=settings.size("num_epochs"),
        steps_per_epoch=settings.size("steps_per_epoch"),
        callbacks=[log, schedule, checkpoints],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    saved = dist.export_on_every_worker(
        model, config.saved_model_dir(settings.out, settings.model_type), chief
    )
    return dist.write_report(
        folder,
        f"{task_type}-{index}",
        {
            "model_type": settings.model_type,
            "chief": chief,
            "workers": num_workers,
            "global_batch_size": global_batch,
            "losses": log.losses,
            "train_accuracy": float(history.history["accuracy"][-1]),
            "seconds": seconds,
            "weights_sha256": dist.weights_digest(model),
            "saved_model": str(saved) if saved else None,
        },
    )


def saved_model_type(path: str | Path) -> str:
    """Which of the book's models a SavedModel holds, from the layers Keras recorded in it."""
    from tf_keras.protobuf import saved_metadata_pb2

    raw = Path(path, "keras_metadata.pb").read_bytes()
    metadata = saved_metadata_pb2.SavedMetadata.FromString(raw)
    layers = {json.loads(node.metadata).get("class_name") for node in metadata.nodes}
    if "BatchNormalization" in layers:
        return "batch_norm"
    return "dropout" if "Dropout" in layers else "cnn"


# ---------------------------------------------------------------------------- running it alone


@dataclasses.dataclass(frozen=True)
class Settings(config.ProjectSettings):
    model_type: str = option("cnn", "which of the book's three models", choices=MODEL_TYPES)
    num_workers: int = option(1, "workers (1: this process; 2+: local all-reduce)", minimum=1)
    tfrecords: str | None = option(
        None, "folder the ingestion step wrote (default: ingest into OUT/data first)"
    )
    timeout: float = option(900.0, "seconds before the launcher kills the workers", minimum=1)


@dataclasses.dataclass
class Result:
    reports: dict[str, dict]  # per worker
    saved_model: str
    saved_type: str  # read back from the SavedModel
    distinct_digests: int  # 1: every worker ended with the same weights
    checkpoints: list[str]


def launch(settings: Settings) -> Result:
    log = cli.Progress("project.train")
    settings = dist.resolve_dataset(settings)
    if settings.tfrecords is None:
        n, held = settings.size("num_examples"), settings.size("num_validation")
        folder = settings.ingest_dir()
        log(f"no --tfrecords: ingesting into {folder}")
        ingest(folder, settings.dataset, n, held, settings.seed, settings.num_files)
        settings = settings.replace(tfrecords=str(folder))
    folder = config.model_dir(settings.out, settings.model_type)
    log(f"training {settings.model_type} with {settings.num_workers} worker(s) into {folder}")
    if settings.num_workers == 1:
        worker(settings, ("worker", 0, {"worker": ["localhost"]}))
    else:
        spec = cluster_spec(num_workers=settings.num_workers)
        with LocalCluster(spec, MODULE, settings.argv(), verbose=settings.verbose) as cluster:
            cluster.wait(settings.timeout)
    reports = dist.read_reports(folder)
    chief = next(r for r in reports.values() if r["chief"])
    result = Result(
        reports,
        chief["saved_model"],
        saved_model_type(chief["saved_model"]),
        len({r["weights_sha256"] for r in reports.values()}),
        sorted(str(p) for p in folder.glob("checkpoints/*.index")),
    )
    rows = [(n, r["losses"][0], r["losses"][-1], r["train_accuracy"], r["seconds"])
            for n, r in reports.items()]  # fmt: skip
    cli.print_table(rows, ["task", "first loss", "last loss", "train accuracy", "fit s"])
    report.finish(
        "9.2",
        f"{settings.model_type} trained with {settings.num_workers} worker(s) "
        f"({result.distinct_digests} distinct weight digest(s)); its SavedModel is a "
        f"{result.saved_type} model, with {len(result.checkpoints)} checkpoint(s) of its own",
        result.saved_type == settings.model_type and result.distinct_digests == 1,
        wrote=f"{result.saved_model}, {folder / 'checkpoints'}/",
        saved_type=result.saved_type,
    )
    return result


def main(settings: Settings) -> Result | dict:
    return dist.launch_or_run(settings, worker, launch)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
