"""Chapter 5, section 5.4 "Step memoization pattern".

Claim: the data-ingestion step is memoized on a key derived from its inputs (a hash of its
parameters), so running the workflow again with the same inputs skips it (a cache hit) and takes a
fraction of the time; a changed input gives a new key and an entry older than ``maxAge`` is
ignored, and both run the step again. The cache is a file per cache name (on Argo, a ConfigMap in
the controller's namespace), so it survives into a new process: run this twice with
``--keep-cache`` and the first run of the second process is already a cache hit.

Run: python -m chapters.ch05_workflows.memoization [--ingest-cost 80] [--keep-cache]
"""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from hera.workflows import Steps, Workflow, script
from hera.workflows import models as m

from chapters.common.flags import DataSettings
from dmlp import argo
from dmlp.argo import conventions, expr
from dmlp.example import cli, report
from dmlp.example.settings import option


@dataclass(frozen=True)
class Settings(DataSettings):
    num_examples: int | None = option(2000, "examples to ingest", minimum=10)
    ingest_cost: int = option(80, "rounds of preprocessing: how expensive ingestion is", minimum=1)
    max_age: str = option("10m", "how long a cache entry stays valid (30s, 10m, 1h)")
    keep_cache: bool = option(False, "start from the cache an earlier run left (default: clear it)")

    def check(self) -> None:
        try:
            expr.duration(self.max_age, "--max-age")
        except expr.ExpressionError as err:
            raise cli.UsageError(str(err)) from None


@script(**conventions.script_options(cpu="100m", memory="64Mi", data=False))
def fingerprint(dataset: str, num_examples: int, seed: int, ingest_cost: int):
    """The cache key: a hash of every input that changes what ingestion produces."""
    import hashlib
    import json

    inputs = {"dataset": dataset, "num_examples": num_examples, "seed": seed, "cost": ingest_cost}
    print("ingest-" + hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16])


# The step's own inputs ``key`` and ``max_age`` name and age its cache entry, kept in a ConfigMap.
MEMOIZE = m.Memoize(
    key="{{inputs.parameters.key}}",
    max_age="{{inputs.parameters.max_age}}",
    cache=m.Cache(config_map=m.LocalObjectReference(name=conventions.CACHE_CONFIGMAP)),
)


@script(constructor="runner", memoize=MEMOIZE, **conventions.script_options())
def ingest(key: str, max_age: str, out: str, dataset: str, data_dir: str, num_examples: int,
           seed: int, ingest_cost: int) -> dict:  # fmt: skip
    """The expensive step, memoized: on a hit Argo (and the local runner) reuse its outputs."""
    return load_and_preprocess(key, out, dataset, data_dir or None, num_examples, seed, ingest_cost)


@script(**conventions.script_options(cpu="250m", memory="256Mi"))
def train(data: dict):
    """A cheap step after ingestion: a nearest-centroid classifier on the preprocessed data."""
    import json

    import numpy as np

    arrays = np.load(data["path"])
    x, y = arrays["x"].reshape(len(arrays["y"]), -1), arrays["y"]
    cut = int(len(y) * 0.8)
    centroids = np.stack([x[:cut][y[:cut] == c].mean(0) for c in range(10)])
    predicted = ((x[cut:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)
    print(json.dumps({"accuracy": float((predicted == y[cut:]).mean())}))


with Workflow(
    **conventions.workflow_options("memoization"),
    entrypoint="pipeline",
    arguments=conventions.defaults(
        Settings(), "data_dir", "num_examples", "seed", "ingest_cost", "max_age",
        out=f"{conventions.DATA_MOUNT}/ch05/memoization", dataset="synthetic",
    ),
) as WORKFLOW:  # fmt: skip
    with Steps(name="pipeline"):
        key = fingerprint(
            arguments=conventions.from_workflow("dataset", "num_examples", "seed", "ingest_cost")
        )
        data = ingest(
            arguments={
                "key": key.result,
                **conventions.from_workflow(
                    "max_age", "out", "dataset", "data_dir", "num_examples", "seed", "ingest_cost"
                ),
            }
        )
        train(arguments={"data": data.result})


# ---------------------------------------------------------------------------- what ingestion does


def load_and_preprocess(key, out, dataset, data_dir, num_examples, seed, cost) -> dict:
    """Load the split, then ``cost`` rounds of a 3x3 blur (the expensive preprocessing)."""
    import numpy as np

    from chapters.common.data import load_fashion_mnist

    start = time.perf_counter()
    split = load_fashion_mnist("train", dataset, data_dir, num_examples, seed)
    x = split.images[..., 0].astype(np.float32) / 255
    for _ in range(cost):
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
        x = sum(padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)) / 9
    path = Path(out) / f"data-{key}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=split.labels)
    return {"path": str(path), "examples": len(split), "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------- the example


@dataclass
class Result:
    runs: list[dict] = field(default_factory=list)  # per run: name, ingest (hit/miss), seconds
    memoized_fraction: float = 0.0  # second run's time / first run's
    seconds_saved: float = 0.0
    cache_file: str = ""
    claim: report.Claim | None = None


def main(settings: Settings) -> Result:
    out = cli.writable_dir(Path(settings.out) / "ch05" / "memoization").resolve()
    cache = argo.MemoCache(out / "cache")
    cache_file = cache.path(conventions.CACHE_CONFIGMAP)
    if not settings.keep_cache:
        cache_file.unlink(missing_ok=True)
    base = conventions.defaults(
        *(settings, "dataset", "data_dir", "num_examples", "seed", "ingest_cost", "max_age"),
        out=str(out),
    )
    plan = [
        ("first run", base),
        ("same inputs again", base),
        ("--seed changed", {**base, "seed": str(settings.seed + 1)}),
        ("entry older than maxAge 1s", {**base, "max_age": "1s"}),
    ]
    result = Result(cache_file=str(cache_file))
    log = cli.Progress("ch05.memoization")
    for name, arguments in plan:
        if arguments["max_age"] == "1s":
            time.sleep(1.5)  # the first run's entry is at least a second old: expired
        log(f"--- {name}")
        run = argo.run(WORKFLOW, arguments, cache_dir=cache.directory, echo=settings.verbose)
        run.raise_for_status()
        node = next(n for n in run.leaves() if n.template == "ingest")
        accuracy = _accuracy(run)
        data = Path(json.loads(node.outputs["result"])["path"])  # the file ingestion wrote
        result.runs.append(
            {
                "run": name,
                "ingest": node.cache,
                "ingest_seconds": node.duration,
                "seconds": run.seconds,
                "accuracy": accuracy,
                "data": str(data),
                "data_written_ns": data.stat().st_mtime_ns,  # unchanged: the step did not run
            }  # fmt: skip
        )
    first, second = result.runs[0], result.runs[1]
    result.memoized_fraction = second["seconds"] / first["seconds"]
    result.seconds_saved = first["seconds"] - second["seconds"]
    rows = [
        (r["run"], r["ingest"], r["ingest_seconds"], r["seconds"], r["accuracy"])
        for r in result.runs
    ]
    cli.print_table(
        rows, ["run", "ingest step", "ingest s", "workflow s", "accuracy"], "Memoization"
    )
    pattern = [r["ingest"] for r in result.runs] == ["miss", "hit", "miss", "miss"]
    result.claim = report.finish(
        "5.4",
        f"with the same inputs the ingestion step was a cache {second['ingest']} and the "
        f"workflow took {second['seconds']:.1f}s instead of {first['seconds']:.1f}s "
        f"({result.memoized_fraction:.0%}, {result.seconds_saved:.1f}s saved); a changed input: "
        f"{result.runs[2]['ingest']}, an expired entry: {result.runs[3]['ingest']}.",
        pattern and result.seconds_saved > 0,
        wrote=f"{cache_file} (the cache), {out}/data-ingest-*.npz",
        memoized_fraction=round(result.memoized_fraction, 3),
        seconds_saved=round(result.seconds_saved, 2),
    )
    return result


def _accuracy(run) -> float:
    return json.loads(next(n for n in run.leaves() if n.template == "train").outputs["result"])[
        "accuracy"
    ]


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
