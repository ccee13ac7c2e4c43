"""Plain TensorFlow baselines for ``make bench`` (chapter 3): what the tutorials' scripts reach.

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

import argparse
import json
import os
import sys
import time

from chapters.common.data import synthetic_split
from chapters.common.models import build_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False)
    p.add_argument("--mode", choices=("single", "mwms", "ps"), default="single")
    p.add_argument("--global-batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--examples", type=int, default=4000)
    p.add_argument("--steps-per-execution", type=int, default=1)
    args = p.parse_args()
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {"type": "chief", "index": 0})
    if args.mode == "ps" and task["type"] in ("ps", "worker"):
        cluster = tf.train.ClusterSpec(config["cluster"])
        tf.distribute.Server(cluster, job_name=task["type"], task_index=task["index"]).join()
        return

    split = synthetic_split("train", args.examples)
    if args.mode == "single":
        strategy = tf.distribute.get_strategy()
    elif args.mode == "mwms":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        partitioner = tf.distribute.experimental.partitioners.MinSizePartitioner(
            min_shard_bytes=256 << 10, max_shards=len(config["cluster"]["ps"])
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
            lambda ctx: dataset(ctx.get_per_replica_batch_size(args.global_batch))
        )
    else:
        data = dataset(args.global_batch)

    seconds: list[float] = []
    timer = tf.keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: seconds.append(seconds.pop() + time.perf_counter()),
    )
    model.fit(data, epochs=args.epochs, steps_per_epoch=args.steps, callbacks=[timer], verbose=0)
    steady = seconds[1:] or seconds
    rate = len(steady) * args.steps * args.global_batch / sum(steady)
    if task["type"] == "chief" or (task["type"] == "worker" and task["index"] == 0):
        print("RESULT " + json.dumps({"examples_per_s": rate}), flush=True)
    if args.mode == "ps":
        sys.stdout.flush()
        os._exit(0)  # the coordinator's gRPC threads can hang a normal exit


if __name__ == "__main__":
    main()
