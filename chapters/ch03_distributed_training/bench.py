"""Chapter 3 benchmarks for ``make bench``: this repository's examples against plain TensorFlow.

The chapter's two training examples, each run by this repository's module and by ``raw_tf.py``
(the tutorials' way, no plumbing) with the same model, data, global batch and steps:

* ``MWMS 2 workers``: MultiWorkerMirroredStrategy with 2 worker processes;
* ``PS 2 ps + 2 workers``: ParameterServerStrategy with a coordinator.

Plain ``model.fit`` in one process (raw TF only: the chapter has no one-process example) is the
reference the distributed figures are divided by: what 2 cores give without distribution.

This machine's speed drifts minute to minute (up to 2x), so the dmlp and raw runs of a case run
back to back as a pair (dmlp first in even rounds, raw first in odd ones), and each ratio
``"<case>: dmlp / raw TF"`` is the median over the rounds of each pair's own ratio: both runs of
a pair see the same machine, so the drift between rounds cancels. (Dividing the two medians
instead mixes rounds run minutes apart: with the same runs it gave 0.91x where the pairs gave
1.00x.) Throughput counts the epochs after the first, timed inside ``fit``.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import tempfile
from pathlib import Path

from chapters.ch03_distributed_training import collective_communication as cc
from chapters.ch03_distributed_training import parameter_server as ps
from chapters.ch03_distributed_training import raw_tf
from dmlp.example import cli
from dmlp.example.bench import case
from dmlp.launch.tfcluster import LocalCluster, cluster_spec

RAW = "chapters.ch03_distributed_training.raw_tf"
CASES = {"MWMS 2 workers": (2, 0), "PS 2 ps + 2 workers": (2, 2)}


def raw(workers: int, num_ps: int, size: dict) -> float:
    """examples/s of ``raw_tf.py`` with ``workers`` (and ``num_ps``) tasks on this machine."""
    mode = "ps" if num_ps else ("mwms" if workers > 1 else "single")
    args = raw_tf.Settings(
        mode=mode,
        global_batch_size=size["global_batch"],
        steps_per_epoch=size["steps"],
        num_epochs=size["epochs"],
        num_examples=size["n"],
    ).argv()
    spec = cluster_spec(num_workers=workers, num_ps=num_ps, chief=bool(num_ps))
    tasks = None if num_ps else [f"worker-{i}" for i in range(workers)]
    with LocalCluster(spec, RAW, args, tasks=tasks, echo=False) as cluster:
        chief = "chief-0" if num_ps else "worker-0"
        cluster.wait(600, tasks=[chief])
        line = next(x for x in cluster.lines(chief) if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))["examples_per_s"]


def dmlp(workers: int, num_ps: int, size: dict, out: str) -> float:
    """examples/s of this repository's example for the same case (its job-level figure)."""
    flags = dict(
        num_workers=workers,
        num_epochs=size["epochs"],
        steps_per_epoch=size["steps"],
        batch_size=size["global_batch"] // workers,
        dataset="synthetic",
        num_examples=size["n"],
        out=out,
        timeout=600,
    )
    with contextlib.redirect_stdout(io.StringIO()):  # keep the bench's own output readable
        if num_ps:
            return ps.main(ps.Settings(num_ps=num_ps, **flags)).examples_per_s
        return cc.main(cc.Settings(**flags)).examples_per_s


@case("ch03.strategies")
def strategies(quick: bool) -> dict:
    size = (
        dict(global_batch=64, steps=10, epochs=2, n=1000, repeats=1)
        if quick
        else dict(global_batch=128, steps=50, epochs=4, n=4000, repeats=5)
    )
    log = cli.Progress("bench.ch03")
    runs: dict[str, dict[str, list[float]]] = {c: {"dmlp": [], "raw": []} for c in CASES}
    runs["single process"] = {"raw": []}
    with tempfile.TemporaryDirectory(prefix="dmlp-bench-ch03-") as tmp:
        for round_ in range(size["repeats"]):
            runs["single process"]["raw"].append(raw(1, 0, size))
            log(
                f"round {round_ + 1}/{size['repeats']}: single process, raw: "
                f"{runs['single process']['raw'][-1]:,.0f} examples/s"
            )
            for name, (workers, num_ps) in CASES.items():
                order = ("dmlp", "raw") if round_ % 2 == 0 else ("raw", "dmlp")
                for who in order:
                    if who == "dmlp":
                        value = dmlp(workers, num_ps, size, str(Path(tmp, f"{name}-{round_}")))
                    else:
                        value = raw(workers, num_ps, size)
                    runs[name][who].append(value)
                    log(
                        f"round {round_ + 1}/{size['repeats']}: {name}, {who}: "
                        f"{value:,.0f} examples/s"
                    )
    median = {c: {w: statistics.median(v) for w, v in r.items()} for c, r in runs.items()}
    figures = {f"{c}, {w} examples/s": m for c, r in median.items() for w, m in r.items()}
    paired = {
        c: [d / r for d, r in zip(runs[c]["dmlp"], runs[c]["raw"], strict=True)] for c in CASES
    }
    ratios = {f"{c}: dmlp / raw TF": statistics.median(paired[c]) for c in CASES}
    single = median["single process"]["raw"]
    ratios["MWMS 2 workers / single (raw TF)"] = median["MWMS 2 workers"]["raw"] / single
    ratios["PS 2 ps + 2 workers / single (raw TF)"] = median["PS 2 ps + 2 workers"]["raw"] / single
    return {
        "config": {k: v for k, v in size.items()} | {"model_type": "cnn"},
        "figures": figures,
        "ratios": ratios,
        "runs": runs,
        "paired_ratios": paired,
    }
