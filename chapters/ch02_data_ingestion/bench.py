"""Chapter 2 benchmarks for ``make bench``: what caching buys when preprocessing dominates."""

from __future__ import annotations

from chapters.ch02_data_ingestion.caching import build_pipeline, run_epochs
from chapters.common.bench import case
from chapters.common.data import synthetic_split


@case("ch02.caching")
def caching(quick: bool) -> dict:
    """Steps/s of no cache vs cache vs cache+prefetch over 3 epochs, on the same data."""
    import tempfile

    import tensorflow as tf

    n, cost, batch, epochs = (1000, 20, 64, 3) if quick else (4000, 40, 64, 3)
    source = synthetic_split("train", n).to_dataset()
    figures, per_epoch = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, mode, prefetch in (
            ("naive", "none", False),
            ("cached", "memory", False),
            ("cached+prefetch", "memory", True),
            ("disk-cached", "disk", False),
        ):
            counter = tf.Variable(0, dtype=tf.int64)
            ds = build_pipeline(source, mode, cost, counter, f"{tmp}/{name}", batch, prefetch)
            runs = run_epochs(ds, counter, epochs)
            steps = sum(-(-n // batch) for _ in runs)
            figures[f"{name} steps/s over {epochs} epochs"] = steps / sum(
                r["seconds"] for r in runs
            )
            per_epoch[name] = [r["seconds"] for r in runs]
    ratios = {
        "epoch-2 time, no cache / memory cache": per_epoch["naive"][1] / per_epoch["cached"][1],
        "epoch-2 time, no cache / disk cache": per_epoch["naive"][1] / per_epoch["disk-cached"][1],
        "3-epoch steps/s, cached+prefetch / naive": (
            figures[f"cached+prefetch steps/s over {epochs} epochs"]
            / figures[f"naive steps/s over {epochs} epochs"]
        ),
    }
    return {
        "config": {
            "num_examples": n,
            "preprocess_cost": cost,
            "batch_size": batch,
            "num_epochs": epochs,
        },
        "figures": figures,
        "ratios": ratios,
        "epoch_seconds": per_epoch,
    }
