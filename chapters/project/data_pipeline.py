"""Chapter 9, section 9.1 "Data ingestion": the data pipeline, on one node and sharded.

Claim: ingestion writes the training data once, as TFRecord files, into the folder training
reads; one node reads every example once per epoch, and N workers each read a disjoint share of
the files, so together they also read every example exactly once (nothing lost, nothing twice).

``ingest`` is the workflow's memoized first step (9.4); ``training_dataset`` is what every worker
of every training job (9.2) reads; with ``num_shards`` workers each takes every N-th file and
batches the *global* batch, which MultiWorkerMirroredStrategy splits across the replicas.

Run: python -m chapters.project.data_pipeline [--quick] [--num-workers 2] [--num-files 4]
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from chapters.common.data import Split, load_fashion_mnist, normalize, read_tfrecords
from chapters.common.data import write_tfrecords as write_split
from chapters.project import config
from dmlp.example import cli, report

TRAIN_GLOB, VALIDATION_GLOB = "train-*.tfrecord", "validation-*.tfrecord"


def ingest(folder, dataset, num_examples, num_validation, seed, num_files) -> dict:
    """Load the training split, hold out the last ``num_validation`` examples, write TFRecords."""
    start = time.perf_counter()
    folder = Path(folder)
    loaded = load_fashion_mnist("train", dataset, None, num_examples + num_validation, seed)
    cut = num_examples
    train = Split(loaded.images[:cut], loaded.labels[:cut], loaded.source)
    held_out = Split(loaded.images[cut:], loaded.labels[cut:], loaded.source)
    partial = folder.with_name(f".{folder.name}.partial")  # whole or absent, never half
    write_split(train, partial, num_files, prefix="train")
    write_split(held_out, partial, 1, prefix="validation")
    summary = {
        "data_dir": str(folder),
        "source": loaded.source,
        "train_examples": len(train),
        "validation_examples": len(held_out),
        "train_files": num_files,
        "seconds": round(time.perf_counter() - start, 2),
    }
    (partial / "ingestion.json").write_text(json.dumps(summary, indent=2))
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    partial.rename(folder)
    return summary


def training_dataset(folder, global_batch: int, seed: int, num_shards: int = 1, index: int = 0):
    """Batches of ``(image in [0, 1], label)`` for ``fit``; worker ``index`` of ``num_shards``."""
    import tensorflow as tf

    files = sorted(Path(folder).glob(TRAIN_GLOB))
    mine = files[index::num_shards]  # a disjoint share of the files per worker
    if not mine:
        raise cli.UsageError(f"{folder}: no training files for worker {index} of {num_shards}")
    options = tf.data.Options()  # sharded here already: the strategy must not shard again
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return (
        read_tfrecords(mine)
        .map(lambda _id, image, label: normalize(image, label))
        .shuffle(4096, seed=seed)
        .repeat()
        .batch(global_batch)  # the strategy gives each replica global_batch / replicas
        .prefetch(tf.data.AUTOTUNE)
        .with_options(options)
    )


def example_ids(folder, num_shards: int = 1, index: int = 0) -> np.ndarray:
    """The ids of one epoch as worker ``index`` of ``num_shards`` reads it (no shuffle)."""
    files = sorted(Path(folder).glob(TRAIN_GLOB))[index::num_shards]
    ids = [int(i) for i, _image, _label in read_tfrecords(files).as_numpy_iterator()]
    return np.asarray(ids, np.int64)


def validation_split(folder) -> Split:
    """The held-out examples (model selection's data) as uint8 images and labels."""
    files = sorted(Path(folder).glob(VALIDATION_GLOB))
    rows = list(read_tfrecords(files).as_numpy_iterator())
    if not rows:
        raise cli.UsageError(f"{folder}: no held-out examples (run ingestion first)")
    images = np.stack([image for _id, image, _label in rows])
    labels = np.asarray([label for _id, _image, label in rows], np.int64)
    return Split(images, labels, "tfrecords")


# ---------------------------------------------------------------------------- the example


@dataclasses.dataclass
class Result:
    summary: dict
    examples_single: int  # examples one node reads in one epoch
    per_worker: list[int]  # examples each worker reads
    disjoint: bool  # no example read by two workers
    complete: bool  # every example read by some worker


Settings = config.ProjectSettings  # the shared project flags, nothing more


def main(settings: Settings) -> Result:
    log = cli.Progress("project.data")
    from dmlp.example.tf_setup import tf as import_tf

    import_tf(settings.verbose, settings.seed)
    n, held = settings.size("num_examples"), settings.size("num_validation")
    folder = settings.ingest_dir()
    log(f"ingesting {n} training + {held} held-out examples into {settings.num_files} files")
    summary = ingest(folder, settings.dataset, n, held, settings.seed, settings.num_files)
    single = example_ids(folder)
    shards = [example_ids(folder, settings.num_workers, i) for i in range(settings.num_workers)]
    everything = np.concatenate(shards)
    result = Result(
        summary,
        len(single),
        [len(s) for s in shards],
        disjoint=len(np.unique(everything)) == len(everything),
        complete=set(everything.tolist()) == set(single.tolist()) == set(range(n)),
    )
    rows = [("one node", result.examples_single)]
    rows += [(f"worker {i} of {settings.num_workers}", c) for i, c in enumerate(result.per_worker)]
    cli.print_table(rows, ["reader", "examples per epoch"], f"TFRecords in {folder}")
    report.finish(
        "9.1",
        f"{settings.num_workers} workers read disjoint shares "
        f"({'yes' if result.disjoint else 'NO'}) that together cover all {n} examples "
        f"({'yes' if result.complete else 'NO'}), "
        f"as one node does",
        result.disjoint and result.complete,
        wrote=f"{folder}/",
        per_worker=result.per_worker,
    )
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
