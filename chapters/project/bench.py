"""Project benchmarks for ``make bench``: the demo cold vs memoized, each step's share of the time,
and for each model single-worker vs 2-worker training time."""

import tempfile

from chapters.common.models import MODEL_TYPES
from dmlp.example.bench import case, progress_only


@case("project.demo")
def demo(quick: bool) -> dict:
    """The whole workflow twice into one folder: cold, then with ingestion memoized."""
    from chapters.project.demo import Settings, main

    with tempfile.TemporaryDirectory() as folder, progress_only():
        settings = Settings(out=f"{folder}/project", quick=quick, dataset="synthetic")
        cold, warm = main(settings), main(settings)
    total = sum(cold.steps.values())
    shares = {}
    for name, seconds in cold.steps.items():
        step = name.split("(")[0]  # the three train(...) steps run at once: one share
        shares[step] = max(shares.get(step, 0.0), seconds)
    wall = sum(shares.values()) or total
    return {
        "config": {"size": settings.size_name, "ingest": [cold.ingest, warm.ingest]},
        "figures": {
            "cold workflow s": cold.seconds,
            "memoized workflow s": warm.seconds,
            **{f"share of cold run: {step}": round(s / wall, 3) for step, s in shares.items()},
        },
        "ratios": {"memoized / cold workflow time": warm.seconds / cold.seconds},
    }


@case("project.training")
def training(quick: bool) -> dict:
    """Each model with one worker, then with 2-worker all-reduce, on the same ingested data."""
    from chapters.project.data_pipeline import ingest
    from chapters.project.model_training import Settings, main

    figures, ratios = {}, {}
    with tempfile.TemporaryDirectory() as out, progress_only():
        base = Settings(out=out, quick=quick, dataset="synthetic")
        data = f"{out}/data"
        ingest(data, "synthetic", base.size("num_examples"), base.size("num_validation"),
               base.seed, base.num_files)  # fmt: skip
        for model_type in MODEL_TYPES:
            seconds = {}
            for workers in (1, 2):
                settings = base.replace(model_type=model_type, num_workers=workers, tfrecords=data)
                result = main(settings)
                seconds[workers] = max(r["seconds"] for r in result.reports.values())
                figures[f"{model_type} fit s, {workers} worker(s)"] = seconds[workers]
            ratios[f"{model_type}: 2-worker / 1-worker fit time (same steps, 2x the examples)"] = (
                seconds[2] / seconds[1]
            )
    return {"config": {"size": base.size_name}, "figures": figures, "ratios": ratios}
