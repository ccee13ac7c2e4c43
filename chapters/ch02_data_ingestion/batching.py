"""Chapter 2, section 2.3 "Batching pattern".

Claim: a model does not need the whole dataset in memory. Streamed in mini-batches, the data costs
the same memory whatever the dataset's size; materialised, it costs memory in proportion to it.
What a stream holds is a few batches "in flight" (the batch being filled, PREFETCH batches ready
ahead, the batch the model is using), so that grows with the batch size, not with the data.

The split is written as TFRecord files (the dataset on disk), then read two ways: materialised
into one array, and streamed as ``TFRecordDataset -> map(normalize) -> batch(B) -> prefetch``.
Finally the chapter's CNN trains for a few steps on the streamed batches.

Run: python -m chapters.ch02_data_ingestion.batching [--batch-sizes 32,128,512] [--train-steps 50]
"""

from __future__ import annotations

import dataclasses
import tempfile
import time

from chapters.ch02_data_ingestion.batching_report import (
    BySize,
    Result,
    Streamed,
    draw_memory,
    summarise,
)
from chapters.ch02_data_ingestion.memory import MiB, median_peak_growth
from chapters.common.data import load_fashion_mnist, normalize, read_tfrecords, write_tfrecords
from chapters.common.flags import DataSettings
from chapters.common.models import MODEL_TYPES, build_model
from dmlp.example import cli
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf

PREFETCH = 2  # batches prepared ahead of the model
IN_FLIGHT = PREFETCH + 2  # + the batch being filled + the batch in the model's hands


def batched_pipeline(paths, batch_size: int, drop_remainder: bool = False):
    """The streaming input pipeline: records on disk -> (image in [0, 1], label) -> batches."""
    import tensorflow as tf

    return (
        read_tfrecords(paths)  # one TFRecordDataset per file, interleaved
        .map(lambda _id, image, label: normalize(image, label), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=drop_remainder)
        .prefetch(PREFETCH)
    )


def stream(paths, batch_size: int, drop_remainder: bool = False) -> tuple[list[int], int]:
    """One pass over the streamed batches: the size of each batch, and the largest one's bytes."""
    sizes, largest = [], 0
    for images, labels in batched_pipeline(paths, batch_size, drop_remainder).as_numpy_iterator():
        sizes.append(len(labels))
        largest = max(largest, images.nbytes + labels.nbytes)
    return sizes, largest


def materialise(paths):
    """Read every example into memory at once: float32 images (N, 28, 28, 1) and labels (N,)."""
    import numpy as np

    parts = list(batched_pipeline(paths, 4096).as_numpy_iterator())
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def train_on_batches(paths, batch_size: int, steps: int, model_type: str) -> tuple[float, float]:
    """Train the CNN on streamed batches; returns the loss on 5 batches before and after."""
    model = build_model(model_type)
    batches = batched_pipeline(paths, batch_size, drop_remainder=True).repeat()
    before = model.evaluate(batches.take(5), verbose=0)[0]
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    return float(before), float(model.evaluate(batches.take(5), verbose=0)[0])


@dataclasses.dataclass(frozen=True)
class Settings(DataSettings):
    num_examples: int | None = option(12_000, "use only the first N training examples", minimum=1)
    batch_sizes: tuple[int, ...] = option(
        (32, 128, 512), "comma-separated batch sizes to stream with", minimum=1
    )
    num_files: int = option(4, "TFRecord files to write the dataset into", minimum=2)
    drop_remainder: bool = option(False, "drop the last, smaller batch of each pass")
    repeats: int = option(2, "repeat each memory measurement; the median is reported", minimum=1)
    train_steps: int = option(50, "training steps on the streamed batches", minimum=1)
    model_type: str = option("cnn", "which of the book's models to train", choices=MODEL_TYPES)


def measure_batch(paths, batch_size: int, s: Settings) -> Streamed:
    start = time.perf_counter()
    (sizes, largest), rss = median_peak_growth(
        lambda: stream(paths, batch_size, s.drop_remainder), s.repeats
    )
    seconds = (time.perf_counter() - start) / s.repeats
    last, mib = sizes[-1] if sizes else 0, largest / MiB
    return Streamed(
        batch_size, len(sizes), last, sum(sizes), mib, IN_FLIGHT * mib, rss, sum(sizes) / seconds
    )


def measure_size(paths, batch_size: int, s: Settings) -> BySize:
    _, streamed = median_peak_growth(lambda: stream(paths, batch_size), s.repeats)
    (images, labels), materialised = median_peak_growth(lambda: materialise(paths), s.repeats)
    return BySize(len(labels), streamed, materialised, images.nbytes / MiB)


def main(s: Settings) -> Result:
    """Stream, materialise and train; returns every figure the summary prints."""
    log = cli.Progress("ch02.batching")
    import_tf(s.verbose, s.seed)
    split = load_fashion_mnist("train", s.dataset, s.data_dir, s.num_examples, s.seed)
    n, source = len(split), split.source
    with tempfile.TemporaryDirectory(prefix="batching-", dir=cli.writable_dir(s.out)) as tmp:
        paths = write_tfrecords(split, tmp, s.num_files)
        del split  # from here on the data lives on disk only
        log(f"wrote {n:,} {source} examples as {s.num_files} TFRecord files")
        # Warm up once, unmeasured: TensorFlow's runtime and its buffer pool grow on first use.
        stream(paths, max(s.batch_sizes)), materialise(paths)
        streamed = []
        for bs in s.batch_sizes:
            streamed.append(row := measure_batch(paths, bs, s))
            log(
                f"streamed batch_size={bs}: {row.num_batches} batches (last has {row.last_batch}),"
                f" {IN_FLIGHT} in flight = {row.in_flight_mib:.2f} MiB, RSS +{row.rss_mib:.1f} MiB"
            )
        by_size = []
        for part in (paths[: s.num_files // 2], paths):
            by_size.append(row := measure_size(part, s.batch_sizes[0], s))
            log(
                f"{row.num_examples:,} examples: streamed RSS +{row.streamed_rss_mib:.1f} MiB, "
                f"materialised RSS +{row.materialised_rss_mib:.1f} MiB"
            )
        before, after = train_on_batches(paths, s.batch_sizes[0], s.train_steps, s.model_type)
        log(f"trained {s.train_steps} steps on batches of {s.batch_sizes[0]}: loss falls")
    result = Result(n, source, streamed, by_size, before, after)
    result.plot = str(draw_memory(result, cli.writable_dir(s.out) / "ch02_batching.png"))
    summarise(result, IN_FLIGHT)
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
