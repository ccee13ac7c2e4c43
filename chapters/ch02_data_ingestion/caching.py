"""Chapter 2, section 2.4 "Caching pattern" (including caching preprocessed data).

Claim: when preprocessing is expensive, caching its output makes every epoch after the first
faster (the preprocessing runs once, not once per epoch), gives exactly the same values, and a
cache on disk survives into a new process. Caching the *raw* data before the expensive step
does not help: the work still runs every epoch.

Pipelines compared over ``--num-epochs`` epochs, all on the same input:

* ``none``:       source -> preprocess                  (preprocesses every epoch)
* ``raw-cache``:  source -> cache() -> preprocess       (caches the raw data only)
* ``memory``:     source -> preprocess -> cache()       (caches preprocessed data in memory)
* ``disk``:       source -> preprocess -> cache(file)   (on disk; a rerun reuses it)

Each pipeline counts how many examples its preprocessing step handled per epoch, times each
epoch and fingerprints the values it produced.

Run: python -m chapters.ch02_data_ingestion.caching [--num-epochs 3] [--preprocess-cost 30]
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from chapters.common import cli
from chapters.common.data import load_fashion_mnist
from chapters.common.tf_setup import tf as import_tf

MODES = ("none", "raw-cache", "memory", "disk")


def expensive_preprocess(cost: int):
    """A deliberately costly per-example step: normalise, then ``cost`` rounds of 3x3 blur."""
    import tensorflow as tf

    kernel = tf.constant([[1, 2, 1], [2, 4, 2], [1, 2, 1]], tf.float32)[:, :, None, None] / 16.0

    def preprocess(image, label):
        x = tf.cast(image, tf.float32)[None] / 255.0
        for _ in range(cost):
            x = tf.nn.conv2d(x, kernel, strides=1, padding="SAME")
        x = (x - tf.reduce_mean(x)) / (tf.math.reduce_std(x) + 1e-6)
        return x[0], label

    return preprocess


def build_pipeline(
    source,
    mode: str,
    cost: int,
    counter,
    cache_file: str | None = None,
    batch_size: int = 64,
    prefetch: bool = False,
):
    """One of :data:`MODES`; ``counter`` (a ``tf.Variable``) counts preprocessed examples."""
    import tensorflow as tf

    work = expensive_preprocess(cost)

    def counted(image, label):
        counter.assign_add(1)
        return work(image, label)

    if mode not in MODES:
        raise cli.UsageError(f"unknown cache mode {mode!r}; valid: {', '.join(MODES)}")
    ds = source.cache() if mode == "raw-cache" else source
    ds = ds.map(counted)
    if mode == "memory":
        ds = ds.cache()
    elif mode == "disk":
        ds = ds.cache(cache_file)
    ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def run_epochs(ds, counter, num_epochs: int) -> list[dict]:
    """Iterate ``num_epochs`` times; per epoch: seconds, examples preprocessed, value digest."""
    epochs = []
    for _ in range(num_epochs):
        before = int(counter.numpy())
        digest = hashlib.sha256()
        start = time.perf_counter()
        for images, labels in ds.as_numpy_iterator():
            digest.update(images.tobytes())
            digest.update(labels.tobytes())
        epochs.append(
            {
                "seconds": time.perf_counter() - start,
                "preprocessed": int(counter.numpy()) - before,
                "digest": digest.hexdigest()[:16],
            }
        )
    return epochs


def main(
    num_epochs: int = 3,
    preprocess_cost: int = 30,
    modes: list[str] | None = None,
    cache_dir: str | None = None,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = 3000,
    batch_size: int = 64,
    out: str = "out",
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    """Run each pipeline for ``num_epochs``; returns per-mode, per-epoch measurements."""
    modes = modes or list(MODES)
    for mode in modes:
        if mode not in MODES:
            raise cli.UsageError(f"unknown cache mode {mode!r}; valid: {', '.join(MODES)}")
    log = cli.Progress("ch02.caching")
    tf = import_tf(verbose, seed)
    split = load_fashion_mnist("train", dataset, data_dir, num_examples, seed)
    n = len(split)
    log(f"loaded {n:,} {split.source} examples; preprocessing cost = {preprocess_cost} blur rounds")
    cache_root = cli.writable_dir(cache_dir or Path(out) / "ch02-cache")
    # The cache file name carries everything that changes the cached values, so a stale cache
    # from another configuration is never reused.
    cache_file = str(cache_root / f"{split.source}-n{n}-seed{seed}-cost{preprocess_cost}")
    disk_reused = Path(cache_file + ".index").exists()
    results: dict = {
        "num_examples": n,
        "source": split.source,
        "cache_file": cache_file,
        "disk_cache_reused": disk_reused,
        "modes": {},
    }
    source = split.to_dataset()
    for mode in modes:
        counter = tf.Variable(0, dtype=tf.int64, trainable=False)
        ds = build_pipeline(source, mode, preprocess_cost, counter, cache_file, batch_size)
        epochs = run_epochs(ds, counter, num_epochs)
        results["modes"][mode] = epochs
        log(
            f"{mode:>9}: epoch seconds "
            + ", ".join(f"{e['seconds']:.2f}" for e in epochs)
            + "; examples preprocessed "
            + ", ".join(str(e["preprocessed"]) for e in epochs)
        )
    digests = {e["digest"] for epochs in results["modes"].values() for e in epochs}
    results["values_identical"] = len(digests) == 1
    rows = []
    for mode, epochs in results["modes"].items():
        later = epochs[1:] or epochs
        rows.append(
            (
                mode,
                epochs[0]["seconds"],
                sum(e["seconds"] for e in later) / len(later),
                epochs[0]["preprocessed"],
                sum(e["preprocessed"] for e in later),
                epochs[0]["digest"],
            )
        )
    cli.print_table(
        rows,
        [
            "pipeline",
            "epoch 1 s",
            "later epochs s",
            "preprocessed in epoch 1",
            "preprocessed later",
            "values",
        ],
        title=f"Caching: {n:,} examples x {num_epochs} epochs",
    )
    if disk_reused:
        print(f"The disk cache {cache_file} came from an earlier process: reused, not rebuilt.")
    if {"none", "memory"} <= set(results["modes"]) and num_epochs > 1:
        none = results["modes"]["none"][1]["seconds"]
        mem = results["modes"]["memory"][1]["seconds"]
        print(
            f"Claim: epoch 2 took {none:.2f}s without a cache and {mem:.2f}s with it "
            f"({none / max(mem, 1e-9):.1f}x); values identical in every mode: "
            f"{'yes' if results['values_identical'] else 'NO'}."
        )
    results["plot"] = str(draw_epochs(results["modes"], Path(out) / "ch02_caching.png"))
    print(f"Plot of the epoch times: {results['plot']}")
    (cli.writable_dir(out) / "ch02_caching.json").write_text(json.dumps(results, indent=2))
    return results


def draw_epochs(modes: dict, path: Path) -> Path:
    """Grouped bars: seconds per epoch for each pipeline."""

    def draw(ax) -> None:
        width = 0.8 / len(modes)
        for i, (mode, epochs) in enumerate(modes.items()):
            xs = [e + i * width for e in range(len(epochs))]
            ax.bar(xs, [e["seconds"] for e in epochs], width, label=mode)
        ax.set_xticks([e + 0.4 - width / 2 for e in range(len(next(iter(modes.values()))))])
        ax.set_xticklabels([f"epoch {e + 1}" for e in range(len(next(iter(modes.values()))))])
        ax.set_ylabel("seconds")
        ax.legend()

    return cli.save_plot(draw, path, "Caching: the cache pays off from the second epoch")


def mode_list(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise cli.argparse.ArgumentTypeError(
            f"unknown mode(s) {', '.join(bad) or repr(text)}; valid: {', '.join(MODES)}"
        )
    return modes


def build_parser():
    p = cli.parser(__doc__)
    p.set_defaults(num_examples=3000)
    p.add_argument("--num-epochs", type=cli.positive_int, default=3, help="epochs (default: 3)")
    p.add_argument(
        "--preprocess-cost",
        type=cli.non_negative_int,
        default=30,
        help="blur rounds per example: how expensive preprocessing is (default: 30)",
    )
    p.add_argument(
        "--modes",
        type=mode_list,
        default=list(MODES),
        help=f"comma-separated pipelines to run (default: {','.join(MODES)})",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="directory for the on-disk cache (default: OUT/ch02-cache)",
    )
    p.add_argument("--batch-size", type=cli.positive_int, default=64, help="(default: 64)")
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
