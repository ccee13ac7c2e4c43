"""Chapter 2 benchmarks for ``make bench``: what caching and prefetching buy a training loop.

Each pipeline feeds the chapter's CNN one training step per batch for a few epochs, on the same
data with the same costly preprocessing (see ``caching.py``):

* caching pays from the second epoch: the preprocessing is not run again;
* prefetching overlaps preparing the next batch with the training step on this one. Once the
  batches come from a cache there is almost nothing left to overlap, so ``cached+prefetch`` runs
  at the speed of ``cached`` (ratio about 1, give or take the hand-off between threads). Without a
  cache it can hide the preprocessing only where a core is idle: on a busy 2-core machine the
  preprocessing and the training step compete for the same cores and the gain is small.

An earlier version of this bench had no training step: the loop only read the batches, so there
was no work for prefetching to overlap, and ``cached+prefetch`` came out slower than ``cached``
(18.3 against 23.9 steps/s): the cost of the extra thread, inside the machine's 2x drift.
"""

from __future__ import annotations

import tempfile
import time

from chapters.ch02_data_ingestion.caching import build_pipeline, expensive_preprocess
from chapters.common.data import synthetic_split
from chapters.common.models import build_model
from dmlp.example import cli
from dmlp.example.bench import case

PIPELINES = (  # name, cache mode, prefetch
    ("naive", "none", False),
    ("naive+prefetch", "none", True),
    ("cached", "memory", False),
    ("cached+prefetch", "memory", True),
    ("disk-cached", "disk", False),
)


def train_epochs(model, ds, epochs: int) -> list[float]:
    """One training step per batch; returns the seconds of each epoch."""
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for images, labels in ds:
            model.train_on_batch(images, labels)
        seconds.append(time.perf_counter() - start)
    return seconds


@case("ch02.caching")
def caching(quick: bool) -> dict:
    """Training steps/s fed by each pipeline over 3 epochs, on the same data."""
    import tensorflow as tf

    n, cost, batch, epochs = (256, 4, 64, 2) if quick else (4000, 40, 64, 3)
    source = synthetic_split("train", n).to_dataset()
    steps = epochs * -(-n // batch)
    log = cli.Progress("bench.ch02")
    figures, per_epoch = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, mode, prefetch in PIPELINES:
            counter = tf.Variable(0, dtype=tf.int64)
            preprocess = expensive_preprocess(cost, counter)
            ds = build_pipeline(source, mode, preprocess, f"{tmp}/{name}", batch)
            ds = ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds
            model = build_model("cnn")
            model.train_on_batch(*next(iter(source.batch(batch))))  # trace the step outside timing
            per_epoch[name] = train_epochs(model, ds, epochs)
            figures[f"{name}: training steps/s over {epochs} epochs"] = steps / sum(per_epoch[name])
            log(f"{name}: epochs " + ", ".join(f"{s:.2f}s" for s in per_epoch[name]))

    def rate(name: str) -> float:
        return figures[f"{name}: training steps/s over {epochs} epochs"]

    ratios = {
        "epoch-2 time, no cache / memory cache": per_epoch["naive"][1] / per_epoch["cached"][1],
        "epoch-2 time, no cache / disk cache": per_epoch["naive"][1] / per_epoch["disk-cached"][1],
        "steps/s, naive+prefetch / naive": rate("naive+prefetch") / rate("naive"),
        "steps/s, cached+prefetch / cached (about 1: nothing to overlap)": (
            rate("cached+prefetch") / rate("cached")
        ),
    }
    return {
        "config": {"num_examples": n, "preprocess_cost": cost, "batch_size": batch,
                   "num_epochs": epochs},
        "figures": figures,
        "ratios": ratios,
        "epoch_seconds": per_epoch,
    }  # fmt: skip
