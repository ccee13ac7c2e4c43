"""Chapter 3, plain TensorFlow baselines for ``make bench``: what the tutorials' scripts reach.

The same model, data, global batch and steps as the chapter's examples, written the way the
TensorFlow distribute tutorials write them, with none of this repository's plumbing: ``model.fit``
in one process (``--mode single``), one worker of a MultiWorkerMirroredStrategy job (``mwms``),
or one task of a ParameterServerStrategy job (``ps``: the chief runs ``fit``, the ps and worker
tasks serve). The bench starts the tasks with ``TF_CONFIG`` set and reads the ``RESULT`` line the
chief prints: examples/s over the epochs after the first, timed inside ``fit`` as the examples
time themselves.

Run (one process): python -m chapters.ch03_distributed_training.raw_tf --mode single
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass

from chapters.common.data import synthetic_split
from chapters.common.models import build_model
from dmlp.example import cli
from dmlp.example.settings import Settings as BaseSettings
from dmlp.example.settings import option


@dataclass(frozen=True)
class Settings(BaseSettings):
    mode: str = option(
        "single", "one process, or one task of a job", choices=("single", "mwms", "ps")
    )
    global_batch_size: int = option(128, "examples per step, all replicas together", minimum=1)
    steps_per_epoch: int = option(40, "batches per epoch", minimum=1)
    num_epochs: int = option(3, "epochs (the first is not timed)", minimum=2)
    num_examples: int = option(4000, "synthetic training examples", minimum=1)
    steps_per_execution: int = option(1, "training steps per call into TensorFlow", minimum=1)
    verbose: bool = option(False, "show TensorFlow's own logs")


def main(args: Settings) -> float | None:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {"type": "chief", "index": 0})
    if args.mode == "ps" and task["type"] in ("ps", "worker"):
        cluster = tf.train.ClusterSpec(config["cluster"])
        tf.distribute.Server(cluster, job_name=task["type"], task_index=task["index"]).join()
        return None

    split = synthetic_split("train", args.num_examples)
    if args.mode == "single":
        strategy = tf.distribute.get_strategy()
    elif args.mode == "mwms":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
            min_shard_bytes=128 << 10, max_shards=len(config["cluster"]["ps"])
        )
        strategy = tf.distribute.experimental.ParameterServerStrategy(resolver, partitioner)

    def dataset(batch):
        data = tf.data.Dataset.from_tensor_slices((split.images, split.labels))
        data = data.shuffle(len(split)).repeat().batch(batch)
        return data.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y)).prefetch(2)

    with strategy.scope():
        model = build_model(
            "cnn", legacy_optimizer=args.mode == "ps", steps_per_execution=args.steps_per_execution
        )
    if args.mode == "ps":  # each worker builds its own input pipeline
        data = tf.keras.utils.experimental.DatasetCreator(
            lambda ctx: dataset(ctx.get_per_replica_batch_size(args.global_batch_size))
        )
    else:
        data = dataset(args.global_batch_size)

    seconds: list[float] = []
    timer = tf.keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(seconds.pop() + time.perf_counter()),
    )
    model.fit(
        data,
        epochs=args.num_epochs,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=[timer],
        verbose=0,
    )
    steady = seconds[1:] or seconds
    rate = len(steady) * args.steps_per_epoch * args.global_batch_size / sum(steady)
    if task["type"] == "chief" or (task["type"] == "worker" and task["index"] == 0):
        print("RESULT " + json.dumps({"examples_per_s": rate}), flush=True)
    if args.mode == "ps":
        sys.stdout.flush()
        os._exit(0)  # the coordinator's gRPC threads can hang a normal exit
    return rate


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
