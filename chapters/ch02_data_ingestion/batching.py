"""Chapter 2, section 2.2 "Batching pattern".

Claim: a model does not need the whole dataset in memory. Feeding it mini-batches streamed from
disk with ``tf.data`` keeps memory flat (a few batches) where materialising the dataset costs
memory in proportion to its size, and the batch size trades throughput for memory.

The example writes the split to TFRecord files (the "dataset on disk"), then:

1. materialises it: reads every example into one NumPy array (what ``load everything`` does);
2. streams it: ``TFRecordDataset -> map(normalize) -> batch(B) -> prefetch`` for a few batch sizes;
3. trains the chapter's CNN for a few steps on the streamed batches.

Run: python -m chapters.ch02_data_ingestion.batching [--batch-sizes 32,128,512] [--train-steps 50]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from chapters.common import cli
from chapters.common.data import load_fashion_mnist, normalize, read_tfrecords, write_tfrecords
from chapters.common.memory import peak_rss_growth
from chapters.common.tf_setup import tf as import_tf

MiB = 1 << 20


def batched_pipeline(paths, batch_size: int, drop_remainder: bool = False):
    """The streaming input pipeline: records -> (image in [0, 1], label) -> batches."""
    import tensorflow as tf

    return (
        read_tfrecords(paths)
        .map(lambda _id, image, label: normalize(image, label), num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=drop_remainder)
        .prefetch(tf.data.AUTOTUNE)
    )


def materialise(paths):
    """Read every example into memory at once: float32 images (N, 28, 28, 1) and labels (N,)."""
    import numpy as np

    images, labels = [], []
    for image, label in batched_pipeline(paths, 4096).as_numpy_iterator():
        images.append(image)
        labels.append(label)
    return np.concatenate(images), np.concatenate(labels)


def stream(paths, batch_size: int, drop_remainder: bool):
    """One pass over the streamed batches; returns (number of batches, sizes of the batches)."""
    sizes = [
        int(labels.shape[0])
        for _, labels in batched_pipeline(paths, batch_size, drop_remainder).as_numpy_iterator()
    ]
    return len(sizes), sizes


def main(
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = 20_000,
    batch_sizes: list[int] | None = None,
    num_files: int = 4,
    drop_remainder: bool = False,
    train_steps: int = 50,
    model_type: str = "cnn",
    out: str = "out",
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    """Compare materialised vs streamed input; returns the measurements as a dict."""
    from chapters.common.models import build_model

    batch_sizes = batch_sizes or [32, 128, 512]
    log = cli.Progress("ch02.batching")
    import_tf(verbose, seed)
    split = load_fashion_mnist("train", dataset, data_dir, num_examples, seed)
    n = len(split)
    log(f"loaded {n:,} {split.source} training examples")
    results: dict = {"num_examples": n, "source": split.source, "streamed": []}
    with tempfile.TemporaryDirectory(prefix="batching-", dir=cli.writable_dir(out)) as tmp:
        paths = write_tfrecords(split, Path(tmp), num_files)
        size = sum(p.stat().st_size for p in paths) / MiB
        log(f"wrote the split as {num_files} TFRecord files ({size:.1f} MiB)")
        del split  # from here on the data lives on disk only

        for bs in batch_sizes:  # streamed first: nothing big has been allocated yet
            start = time.perf_counter()
            (num_batches, sizes), grown = peak_rss_growth(
                lambda bs=bs: stream(paths, bs, drop_remainder)
            )
            seconds = time.perf_counter() - start
            row = {
                "batch_size": bs,
                "num_batches": num_batches,
                "last_batch": sizes[-1] if sizes else 0,
                "examples_seen": sum(sizes),
                "peak_mib": grown / MiB,
                "examples_per_s": sum(sizes) / seconds,
            }
            results["streamed"].append(row)
            log(
                f"streamed batch_size={bs}: {num_batches} batches (last has {row['last_batch']}), "
                f"+{row['peak_mib']:.1f} MiB, {row['examples_per_s']:,.0f} examples/s"
            )

        start = time.perf_counter()
        (images, labels), grown = peak_rss_growth(lambda: materialise(paths))
        results["materialised"] = {
            "peak_mib": grown / MiB,
            "array_mib": images.nbytes / MiB,
            "examples_per_s": n / (time.perf_counter() - start),
        }
        log(
            f"materialised {len(labels):,} examples: +{grown / MiB:.1f} MiB "
            f"(the image array alone is {images.nbytes / MiB:.1f} MiB)"
        )
        del images, labels

        model = build_model(model_type)
        train = batched_pipeline(paths, batch_sizes[0], drop_remainder=True).repeat()
        first = model.evaluate(train.take(5), verbose=0)[0]
        history = model.fit(train, steps_per_epoch=train_steps, epochs=1, verbose=0)
        last = model.evaluate(train.take(5), verbose=0)[0]
        results["training"] = {
            "steps": train_steps,
            "batch_size": batch_sizes[0],
            "loss_before": float(first),
            "loss_after": float(last),
            "fit_loss": float(history.history["loss"][-1]),
        }
        log(
            f"trained {train_steps} steps on batches of {batch_sizes[0]}: "
            f"loss {first:.3f} -> {last:.3f}"
        )

    rows = [
        (
            "materialised",
            n,
            1,
            results["materialised"]["peak_mib"],
            results["materialised"]["examples_per_s"],
        )
    ]
    rows += [
        ("streamed", r["batch_size"], r["num_batches"], r["peak_mib"], r["examples_per_s"])
        for r in results["streamed"]
    ]
    cli.print_table(
        rows,
        ["input", "batch size", "batches", "peak MiB added", "examples/s"],
        title=f"Batching: {n:,} examples ({results['source']} data)",
    )
    worst = max(r["peak_mib"] for r in results["streamed"])
    print(
        f"Claim: streaming batches needed at most {worst:.1f} MiB, materialising "
        f"{results['materialised']['peak_mib']:.1f} MiB; the model trained on batches "
        f"(loss {first:.3f} -> {last:.3f})."
    )
    return results


def build_parser():
    p = cli.parser(__doc__, model=True)
    p.set_defaults(num_examples=20_000)
    p.add_argument(
        "--batch-sizes",
        type=cli.int_list,
        default=[32, 128, 512],
        help="comma-separated batch sizes to stream with (default: 32,128,512)",
    )
    p.add_argument(
        "--num-files",
        type=cli.positive_int,
        default=4,
        help="TFRecord files to write the dataset into (default: 4)",
    )
    p.add_argument(
        "--drop-remainder", action="store_true", help="drop the last, smaller batch of each pass"
    )
    p.add_argument(
        "--train-steps",
        type=cli.positive_int,
        default=50,
        help="training steps on the streamed batches (default: 50)",
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
