"""Chapter 2, section 2.5 "Caching pattern".

Claim: when preprocessing is expensive, caching its output makes every epoch after the first
faster: the preprocessing runs once, not once per epoch, the values are exactly the same, and a
cache on disk survives into a new process. A "raw cache" (``cache()`` before the expensive step,
so it keeps the unprocessed data) does not help: the work still runs every epoch.

Pipelines compared over ``--num-epochs`` epochs, all on the same input:

* ``none``:       source -> preprocess                  (preprocesses every epoch)
* ``raw-cache``:  source -> cache() -> preprocess       (caches the raw data only)
* ``memory``:     source -> preprocess -> cache()       (caches preprocessed data in memory)
* ``disk``:       source -> preprocess -> cache(file)   (on disk; a rerun reuses it)

Each pipeline counts the examples its preprocessing handled per epoch, times each epoch and takes a
digest (SHA-256) of the values it produced: one distinct digest across pipelines and epochs means
they all gave exactly the same data.

Run: python -m chapters.ch02_data_ingestion.caching [--num-epochs 3] [--preprocess-cost 30]
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path

from chapters.ch02_data_ingestion.caching_report import Epoch, Result, draw_epochs, summarise
from chapters.common.data import load_fashion_mnist
from chapters.common.flags import DataSettings
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf

MODES = ("none", "raw-cache", "memory", "disk")


def build_pipeline(source, mode: str, preprocess, cache_file: str = "", batch_size: int = 64):
    """One of :data:`MODES`: where ``cache()`` sits decides what is kept between epochs."""
    if mode not in MODES:
        raise UsageError(f"unknown pipeline {mode!r}; valid: {', '.join(MODES)}")
    ds = source.cache() if mode == "raw-cache" else source
    ds = ds.map(preprocess)
    if mode == "memory":
        ds = ds.cache()  # filled during epoch 1, read from memory afterwards
    elif mode == "disk":
        ds = ds.cache(cache_file)  # files <cache_file>.index/.data-*; reused by a new process
    return ds.batch(batch_size)


def expensive_preprocess(cost: int, counter):
    """A deliberately costly per-example step: ``cost`` rounds of 3x3 blur, counted."""
    import tensorflow as tf

    kernel = tf.constant([[1, 2, 1], [2, 4, 2], [1, 2, 1]], tf.float32)[:, :, None, None] / 16.0

    def preprocess(image, label):
        counter.assign_add(1)
        x = tf.cast(image, tf.float32)[None] / 255.0
        for _ in range(cost):
            x = tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
        x = (x - tf.reduce_mean(x)) / (tf.math.reduce_std(x) + 1e-6)
        return x[0], label

    return preprocess


def run_epochs(ds, counter, num_epochs: int, log=None) -> list[Epoch]:
    """Iterate ``num_epochs`` times; per epoch: seconds, examples preprocessed, value digest."""
    epochs = []
    for number in range(1, num_epochs + 1):
        before, digest, start = int(counter.numpy()), hashlib.sha256(), time.perf_counter()
        for images, labels in ds.as_numpy_iterator():
            digest.update(images.tobytes())
            digest.update(labels.tobytes())
        epoch = Epoch(
            time.perf_counter() - start, int(counter.numpy()) - before, digest.hexdigest()[:16]
        )
        epochs.append(epoch)
        if log:
            log(f"  epoch {number}: {epoch.seconds:.2f}s, {epoch.preprocessed} preprocessed")
    return epochs


@dataclasses.dataclass(frozen=True)
class Settings(DataSettings):
    num_examples: int | None = option(3000, "use only the first N training examples", minimum=1)
    num_epochs: int = option(3, "passes over the data", minimum=2)
    preprocess_cost: int = option(
        30, "blur rounds per example: how costly preprocessing is", minimum=0
    )
    modes: tuple[str, ...] = option(
        MODES, f"comma-separated pipelines to run, from {', '.join(MODES)}"
    )
    cache_dir: str | None = option(None, "folder of the on-disk cache (default: OUT/ch02-cache)")
    batch_size: int = option(64, "examples per batch", minimum=1)

    def check(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown or len(set(self.modes)) != len(self.modes):
            raise UsageError(
                f"--modes must name distinct pipelines from {', '.join(MODES)}, got "
                f"{','.join(self.modes)}"
            )


def main(s: Settings) -> Result:
    """Run each pipeline for ``num_epochs``; returns per-pipeline, per-epoch measurements."""
    log = cli.Progress("ch02.caching")
    tf = import_tf(s.verbose, s.seed)
    split = load_fashion_mnist("train", s.dataset, s.data_dir, s.num_examples, s.seed)
    n = len(split)
    log(f"loaded {n:,} {split.source} examples; preprocessing = {s.preprocess_cost} blur rounds")
    cache_root = cli.writable_dir(s.cache_dir or Path(s.out) / "ch02-cache")
    # The cache file's name carries everything that changes the cached values, so a stale cache
    # from another configuration is never reused.
    cache_file = str(cache_root / f"{split.source}-n{n}-seed{s.seed}-cost{s.preprocess_cost}")
    reused = Path(cache_file + ".index").exists()
    source, modes = split.to_dataset(), {}
    for mode in s.modes:
        log(
            f"{mode} pipeline"
            + (" (cache from an earlier run)" if mode == "disk" and reused else "")
        )
        counter = tf.Variable(0, dtype=tf.int64, trainable=False)
        preprocess = expensive_preprocess(s.preprocess_cost, counter)
        ds = build_pipeline(source, mode, preprocess, cache_file, s.batch_size)
        modes[mode] = run_epochs(ds, counter, s.num_epochs, log)
    result = Result(n, split.source, cache_file, reused, modes)
    out = cli.writable_dir(s.out)
    result.plot = str(draw_epochs(modes, out / "ch02_caching.png"))
    result.saved = str(out / "ch02_caching.json")
    Path(result.saved).write_text(json.dumps(dataclasses.asdict(result), indent=2))
    disk = f" and the disk cache {cache_file}.*" if "disk" in modes else ""
    summarise(result, wrote=f"{result.saved}{disk}")
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
