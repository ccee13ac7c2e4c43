"""What a chapter 3 worker process does, shared by the chapter's examples.

Each function runs inside ONE task of a cluster (a local subprocess or a TFJob pod): it reads the
task from ``TF_CONFIG``, trains, and writes a small JSON report (final weights digest, losses,
epochs run) that the launcher gathers into the summary.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chapters.common import cli
from chapters.common.cluster import is_chief, task_from_env
from chapters.common.data import load_fashion_mnist, normalize
from chapters.common.models import build_model
from chapters.common.tf_setup import tf as import_tf


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The training settings every task of a chapter 3 job shares.

    A launcher passes them on to each task as the same flags (:meth:`argv`), exactly as a TFJob
    manifest passes ``args`` to every replica.
    """

    model_type: str = "cnn"
    num_epochs: int = 2
    steps_per_epoch: int = 20
    batch_size: int = 32  # per replica (all-reduce) or per worker (parameter server)
    dataset: str = "auto"
    data_dir: str | None = None
    num_examples: int | None = 4000
    out: str = "out"
    seed: int = 42
    verbose: bool = False

    @classmethod
    def pick(cls, values: dict) -> TrainConfig:
        """The fields found in ``values`` (an example's ``main`` passes its ``locals()``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def argv(self, **extra) -> list[str]:
        return cli.to_argv(**dataclasses.asdict(self), **extra)


def add_training_flags(p, *, num_epochs: int, steps_per_epoch: int, batch_help: str) -> None:
    """The flags of :class:`TrainConfig` (beyond the common ones) plus ``--timeout``."""
    p.add_argument(
        "--num-epochs", type=cli.positive_int, default=num_epochs, help=f"(default: {num_epochs})"
    )
    p.add_argument(
        "--steps-per-epoch",
        type=cli.positive_int,
        default=steps_per_epoch,
        help=f"(default: {steps_per_epoch})",
    )
    p.add_argument(
        "--batch-size", type=cli.positive_int, default=32, help=f"{batch_help} (default: 32)"
    )
    p.add_argument(
        "--timeout",
        type=cli.positive_float,
        default=600,
        help="seconds before every task is killed (default: 600)",
    )


def weights_digest(model) -> tuple[str, float]:
    """SHA-256 (first 16 hex digits) of all weights' bytes, and their global L2 norm."""
    import numpy as np

    digest = hashlib.sha256()
    total = 0.0
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
        total += float(np.sum(np.square(w.astype(np.float64))))
    return digest.hexdigest()[:16], total**0.5


def epoch_reporter():
    """A callback printing ``EPOCH_BEGIN i`` and ``EPOCH_END i loss=...`` for a launcher."""
    import tensorflow as tf

    class EpochReporter(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begun: list[int] = []
            self.ended: list[int] = []
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.begun.append(epoch)
            self._start = time.perf_counter()
            print(f"EPOCH_BEGIN {epoch}", flush=True)

        def on_epoch_end(self, epoch, logs=None):
            self.ended.append(epoch)
            self.seconds.append(time.perf_counter() - self._start)
            loss = (logs or {}).get("loss", float("nan"))
            print(f"EPOCH_END {epoch} loss={loss:.4f}", flush=True)

    return EpochReporter()


def steady_examples_per_s(
    epoch_seconds: list[float], steps_per_epoch: int, global_batch_size: int
) -> float:
    """Throughput over the epochs after the first (which pays for tracing and warm-up)."""
    steady = epoch_seconds[1:] or epoch_seconds
    return len(steady) * steps_per_epoch * global_batch_size / sum(steady)


def write_path(base: str | os.PathLike, chief: bool) -> Path:
    """Where this task saves: ``base`` for the chief, a throw-away directory for the others.

    With ``MultiWorkerMirroredStrategy`` every worker must take part in saving (the save runs
    collective ops), but only the chief's copy is kept.
    """
    if chief:
        Path(base).parent.mkdir(parents=True, exist_ok=True)
        return Path(base)
    return Path(tempfile.mkdtemp(prefix="non-chief-save-"))


# SavedModels go to ``<out>/saved_model/1``: the numbered version directory is the layout
# TensorFlow Serving (KServe's TF runtime) expects under a model's storageUri.


def save_on_every_worker(base: str | os.PathLike, chief: bool, save: Callable[[str], None]) -> Path:
    path = write_path(base, chief)
    save(str(path))
    if not chief:
        shutil.rmtree(path, ignore_errors=True)
    return path


def train_collective(config: TrainConfig, backup_dir: str | None = None) -> dict:
    """One worker of a ``MultiWorkerMirroredStrategy`` (all-reduce) job; returns its report."""
    tf = import_tf(config.verbose, config.seed)
    task_type, task_index, cluster = task_from_env() or ("worker", 0, {"worker": ["local"]})
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    replicas = strategy.num_replicas_in_sync
    global_batch_size = config.batch_size * replicas  # the global batch scales with the workers
    chief = is_chief(task_type, task_index, cluster)
    split = load_fashion_mnist(
        "train", config.dataset, config.data_dir, config.num_examples, config.seed
    )
    options = tf.data.Options()
    # In-memory data cannot be sharded by files: each worker keeps every N-th batch instead.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = (
        split.to_dataset()
        .map(normalize)
        .shuffle(len(split), seed=config.seed)
        .repeat()
        .batch(global_batch_size)
        .with_options(options)
    )
    with strategy.scope():
        model = build_model(config.model_type)
    reporter = epoch_reporter()
    callbacks = [reporter]
    if backup_dir:
        # First in the list: by the time EPOCH_END is printed, that epoch is backed up.
        callbacks.insert(0, tf.keras.callbacks.BackupAndRestore(backup_dir=backup_dir))
    start = time.perf_counter()
    history = model.fit(
        train,
        epochs=config.num_epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    out_dir = Path(config.out)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
    save_on_every_worker(
        out_dir / "checkpoints" / "final",
        chief,
        lambda p: checkpoint.write(os.path.join(p, "ckpt")),
    )
    model_path = save_on_every_worker(out_dir / "saved_model" / "1", chief, model.save)
    digest, norm = weights_digest(model)
    steps_run = len(history.epoch) * config.steps_per_epoch
    report = {
        "task": f"{task_type}-{task_index}",
        "chief": chief,
        "replicas": replicas,
        "global_batch_size": global_batch_size,
        "weights_sha256": digest,
        "weights_norm": norm,
        "losses": [float(x) for x in history.history["loss"]],
        "epochs_begun": reporter.begun,
        "epoch_seconds": reporter.seconds,
        "epochs_ended": reporter.ended,
        "examples_per_s": steps_run * global_batch_size / seconds if seconds else 0.0,
        "saved_model": str(model_path) if chief else None,
    }
    reports = out_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{report['task']}.json").write_text(json.dumps(report, indent=2))
    return report


def serve_forever(task_type: str, task_index: int, cluster: dict) -> None:
    """A parameter server or worker task of ``ParameterServerStrategy``: serve until killed.

    These tasks run no Python training code: the coordinator (chief) places variables on the ps
    tasks and sends training steps to the workers over gRPC.
    """
    tf = import_tf()
    print(f"SERVING {task_type}-{task_index}", flush=True)
    server = tf.distribute.Server(
        tf.train.ClusterSpec(cluster),
        job_name=task_type,
        task_index=task_index,
        protocol="grpc",
        start=True,
    )
    server.join()


def placement(model) -> list[dict]:
    """Which variable (and which shard of it, ``name/part_K``) lives on which device."""
    import re

    parts: dict[str, int] = {}
    for variable in model.variables:
        base = re.sub(r"/part_\d+:\d+$", "", variable.name)
        parts[base] = parts.get(base, 0) + 1
    rows = []
    for variable in model.variables:
        match = re.search(r"^(.*)/part_(\d+):\d+$", variable.name)
        name, shard = (
            (match.group(1), f"{int(match.group(2)) + 1}/{parts[match.group(1)]}")
            if match
            else (variable.name.rsplit(":", 1)[0], "-")
        )
        rows.append(
            {
                "variable": name,
                "shard": shard,
                "shape": list(variable.shape),
                "device": variable.device,
            }
        )
    return rows


def train_parameter_server(
    config: TrainConfig, min_shard_bytes: int = 256 << 10, probes: int = 8
) -> dict:
    """The coordinator (chief) of a ``ParameterServerStrategy`` job; returns its report."""
    tf = import_tf(config.verbose, config.seed)
    task_type, task_index, cluster = task_from_env()
    num_ps, num_workers = len(cluster.get("ps", [])), len(cluster.get("worker", []))
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_index, rpc_layer="grpc"
    )
    partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
        min_shard_bytes=min_shard_bytes, max_shards=num_ps
    )
    strategy = tf.distribute.experimental.ParameterServerStrategy(
        resolver, variable_partitioner=partitioner
    )
    global_batch_size = config.batch_size * num_workers
    split = load_fashion_mnist(
        "train", config.dataset, config.data_dir, config.num_examples, config.seed
    )

    def dataset_fn(input_context):
        # Runs on every worker. Each shuffles with its own seed, so workers see different
        # orders of the same data (ParameterServerStrategy does not shard per worker).
        per_replica = input_context.get_per_replica_batch_size(global_batch_size)
        return (
            tf.data.Dataset.from_tensor_slices((split.images, split.labels))
            .map(normalize)
            .shuffle(len(split))
            .repeat()
            .batch(per_replica)
            .prefetch(2)
        )

    with strategy.scope():
        model = build_model(config.model_type, legacy_optimizer=True)
    coordinator = tf.distribute.experimental.coordinator.ClusterCoordinator(strategy)
    largest = max(model.trainable_variables, key=lambda v: int(tf.size(v)))

    def weights_sum():
        return tf.add_n([tf.reduce_sum(v) for v in model.trainable_variables])

    @tf.function
    def probe():  # runs on whichever worker takes it; reads the variables from the ps tasks
        return model.optimizer.iterations, weights_sum()

    def probe_workers() -> list[tuple[int, float]]:
        values = [coordinator.schedule(probe) for _ in range(probes)]
        coordinator.join()
        return [(int(v.fetch()[0]), round(float(v.fetch()[1]), 4)) for v in values]

    before = probe_workers()
    start = time.perf_counter()
    reporter = epoch_reporter()
    history = model.fit(
        tf.keras.utils.experimental.DatasetCreator(dataset_fn),
        epochs=config.num_epochs,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=[reporter],
        verbose=0,
    )
    seconds = time.perf_counter() - start
    after = probe_workers()
    local = (int(model.optimizer.iterations.numpy()), round(float(weights_sum().numpy()), 4))
    out_dir = Path(config.out)
    model_path = out_dir / "saved_model" / "1"
    model.save(str(model_path))
    report = {
        "task": f"{task_type}-{task_index}",
        "num_ps": num_ps,
        "num_workers": num_workers,
        "global_batch_size": global_batch_size,
        "losses": [float(x) for x in history.history["loss"]],
        "placement": placement(model),
        "largest_variable": largest.name,
        "probes_before": before,
        "probes_after": after,
        "coordinator_view": local,
        "epoch_seconds": reporter.seconds,
        "examples_per_s": config.num_epochs * config.steps_per_epoch * global_batch_size / seconds,
        "saved_model": str(model_path),
    }
    reports = out_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / f"{report['task']}.json").write_text(json.dumps(report, indent=2))
    return report
