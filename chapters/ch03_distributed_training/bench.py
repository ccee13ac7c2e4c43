"""Chapter 3 benchmarks for ``make bench``: what distribution costs and buys on this machine.

Same model, same global batch, same steps, in one run: one process with no strategy,
``MirroredStrategy`` with one replica, ``MultiWorkerMirroredStrategy`` with 2 worker processes,
and ``ParameterServerStrategy`` with 2 ps + 2 workers. Throughput counts the epochs after the first.
"""

from __future__ import annotations

import tempfile

from chapters.ch03_distributed_training import collective_communication as cc
from chapters.ch03_distributed_training import parameter_server as ps
from chapters.ch03_distributed_training.training import epoch_reporter, steady_examples_per_s
from chapters.common.bench import case
from chapters.common.data import normalize, synthetic_split
from chapters.common.models import build_model


def _in_process(strategy, global_batch: int, steps: int, epochs: int, n: int) -> float:
    split = synthetic_split("train", n)
    data = split.to_dataset().map(normalize).repeat().batch(global_batch)
    if strategy is None:
        model = build_model("cnn")
    else:
        with strategy.scope():
            model = build_model("cnn")
    reporter = epoch_reporter()
    model.fit(data, epochs=epochs, steps_per_epoch=steps, callbacks=[reporter], verbose=0)
    return steady_examples_per_s(reporter.seconds, steps, global_batch)


@case("ch03.strategies")
def strategies(quick: bool) -> dict:
    import contextlib
    import io

    import tensorflow as tf

    global_batch, steps, epochs, n = (64, 10, 2, 1000) if quick else (128, 40, 3, 4000)
    flags = dict(
        num_epochs=epochs,
        steps_per_epoch=steps,
        batch_size=global_batch // 2,
        dataset="synthetic",
        num_examples=n,
        timeout=600,
    )
    figures = {}
    with contextlib.redirect_stdout(io.StringIO()):  # keep the bench table readable
        figures["single process examples/s"] = _in_process(None, global_batch, steps, epochs, n)
        figures["MirroredStrategy (1 replica) examples/s"] = _in_process(
            tf.distribute.MirroredStrategy(["/cpu:0"]), global_batch, steps, epochs, n
        )
        with tempfile.TemporaryDirectory() as tmp:
            mwms = cc.main(num_workers=2, out=f"{tmp}/mwms", **flags)["reports"]["worker-0"]
            figures["MWMS 2 workers examples/s"] = steady_examples_per_s(
                mwms["epoch_seconds"], steps, global_batch
            )
            psr = ps.main(num_ps=2, num_workers=2, out=f"{tmp}/ps", **flags)
            figures["PS 2 ps + 2 workers examples/s"] = steady_examples_per_s(
                psr["epoch_seconds"], steps, global_batch
            )
    single = figures["single process examples/s"]
    step_ms = {k: 1000 * global_batch / v for k, v in figures.items()}
    figures["MWMS per-step overhead vs single (ms)"] = (
        step_ms["MWMS 2 workers examples/s"] - step_ms["single process examples/s"]
    )
    figures["PS per-step overhead vs single (ms)"] = (
        step_ms["PS 2 ps + 2 workers examples/s"] - step_ms["single process examples/s"]
    )
    ratios = {
        f"{k.removesuffix(' examples/s')} / single": v / single
        for k, v in figures.items()
        if k.endswith("examples/s") and v is not single
    }
    return {
        "config": {
            "global_batch_size": global_batch,
            "steps_per_epoch": steps,
            "num_epochs": epochs,
            "model_type": "cnn",
        },
        "figures": figures,
        "ratios": ratios,
    }
