"""Chapters 7 and 9: the whole project on a laptop, ``make demo``.

Claim: one workflow takes Fashion-MNIST from ingestion to a served model: ingestion is memoized
(a second run is a cache hit), three models of three different types train in parallel, each
with 2-worker all-reduce into its own folder, model selection on held-out data serves the best,
and replicated model servers answer sample images with the winner's predictions.

It runs the Hera workflow of ``chapters/project/workflow.py`` (the one Argo runs on kind) with
chapter 5's local runner: every step is a process, each TFJob a local 2-worker cluster.

Run: python -m chapters.project.demo [--quick | --full] [--out out/project] [--clear-cache]
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from chapters.common import distributed as dist
from chapters.common.data import CLASS_NAMES
from chapters.common.models import MODEL_TYPES
from chapters.project import config, workflow
from chapters.project.inference import print_samples
from chapters.project.model_selection import print_choice
from chapters.project.model_training import saved_model_type
from dmlp import argo as runner
from dmlp.example import cli, report
from dmlp.example.settings import option


@dataclasses.dataclass(frozen=True)
class Settings(config.ProjectSettings):
    num_replicas: int = option(2, "model server replicas for the serving step", minimum=1)
    num_samples: int = option(8, "sample images sent to the servers", minimum=1, maximum=256)
    step_timeout: float = option(1800.0, "seconds before a step is killed", minimum=1)
    clear_cache: bool = option(False, "forget earlier runs' memoized ingestion first")


@dataclasses.dataclass
class Result:
    ingest: str  # "hit" or "miss"
    steps: dict[str, float]  # seconds per step
    seconds: float
    models: dict[str, dict]  # per model: accuracy, loss, saved type, train seconds, error
    winner: str
    decided_by: str
    served_version: str
    samples: dict  # labels, served predictions, in-process predictions, served_by
    served_matches_winner: bool
    parallel: bool  # the three training steps' intervals overlap (measured by the runner)
    ingest_untouched: bool  # on a hit: no ingested file is newer than the workflow's start
    paths: list[str] = dataclasses.field(default_factory=list)


def main(settings: Settings) -> Result:
    out = cli.writable_dir(settings.out).resolve()
    log = cli.Progress("project.demo")
    settings = dist.resolve_dataset(settings)  # decided once: the steps neither probe nor warn
    cache = out / "cache"
    if settings.clear_cache:
        runner.MemoCache(cache).path(workflow.conventions.CACHE_CONFIGMAP).unlink(missing_ok=True)
    arguments = workflow.arguments(
        settings,
        data_root=str(out.parent),
        run_dir=out.name,
        max_age="24h",
        num_replicas=str(settings.num_replicas),
        num_samples=str(settings.num_samples),
    )
    shutil.rmtree(out / "models", ignore_errors=True)  # the last run's models are not candidates
    log(f"running the project workflow ({settings.size_name} size) into {out}")
    start, started_at = time.perf_counter(), time.time()
    with TrainingProgress(out, settings.size("num_epochs"), log):
        run = runner.run(workflow.for_laptop(), arguments, cache_dir=cache,
                         step_timeout=settings.step_timeout, echo=settings.verbose)  # fmt: skip
    runner.print_summary(run, "The project workflow, step by step")
    run.raise_for_status()
    seconds = time.perf_counter() - start
    reports = config.reports_dir(out)
    selection = json.loads((reports / "selection.json").read_text())
    serving = json.loads((reports / "serving.json").read_text())
    ingested = (settings.ingest_dir(), started_at)
    result = collect(out, run, seconds, selection, serving, ingested)
    summarise(settings, out, result, selection, serving)
    return result


class TrainingProgress:
    """A line every few seconds while the TFJobs train: epochs checkpointed per model so far."""

    def __init__(self, out: Path, epochs: int, log, every: float = 10.0):
        self.out, self.epochs, self.log, self.every = out, epochs, log, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def watch(self) -> None:
        last = ""
        while not self.stop.wait(self.every):
            done = {
                m: len(list(config.model_dir(self.out, m).glob("checkpoints/*.index")))
                for m in MODEL_TYPES
                if config.model_dir(self.out, m).is_dir()
            }
            line = ", ".join(f"{m} {n}/{self.epochs}" for m, n in done.items())
            if line and line != last:
                self.log(f"epochs checkpointed: {line}")
                last = line

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def collect(
    out: Path, run, seconds: float, selection: dict, serving: dict, ingested: tuple[Path, float]
) -> Result:
    """The run's result from its reports (selection.json and serving.json, read by ``main``),
    the runner's records, and the ingested folder with the time the workflow started."""
    models = {}
    for candidate in selection["candidates"]:
        name = candidate["model_type"]
        folder = config.model_dir(out, name)
        chief = folder / "reports" / "worker-0.json"
        trained = json.loads(chief.read_text()) if chief.is_file() else {}
        saved = config.saved_model_dir(out, name)
        models[name] = {
            **{k: candidate[k] for k in ("accuracy", "loss", "error")},
            "saved_type": saved_model_type(saved) if saved.is_dir() else None,
            "workers": trained.get("workers"),
            "train_seconds": trained.get("seconds"),
            "saved_model": str(saved),
        }
    ingest = next(n for n in run.leaves() if n.template == "ingest")
    trained = [n for n in run.leaves() if n.template == "train" and n.started is not None]
    parallel = len(trained) == len(MODEL_TYPES) and max(n.started for n in trained) < min(
        n.finished for n in trained
    )
    folder, started_at = ingested
    written = [f.stat().st_mtime for f in folder.glob("*")]
    untouched = bool(written) and max(written) < started_at
    choice = selection["choice"]
    return Result(
        ingest=ingest.cache or "miss",
        steps={n.name: round(n.duration, 2) for n in run.leaves()},
        seconds=seconds,
        models=models,
        winner=choice["winner"],
        decided_by=choice["decided_by"],
        served_version=selection["served_version"],
        samples={k: serving[k] for k in ("labels", "replicated", "in_process", "served_by")},
        served_matches_winner=serving["agree"]
        and Path(serving["version"]) == Path(selection["served_version"]),
        parallel=parallel,
        ingest_untouched=untouched,
        paths=[str(config.reports_dir(out) / n) for n in ("selection.json", "serving.json")],
    )


def summarise(
    settings: Settings, out: Path, result: Result, selection: dict, serving: dict
) -> None:
    rows = [(name, m["saved_type"] or "-", m["workers"] or "-", m["train_seconds"] or 0.0,
             m["accuracy"] if m["accuracy"] is not None else "failed",
             m["loss"] if m["loss"] is not None else "")
            for name, m in result.models.items()]  # fmt: skip
    cli.print_table(rows, ["model", "saved type", "workers", "train s", "held-out accuracy",
                           "held-out loss"], "Models")  # fmt: skip
    print_choice(selection)
    print_samples(serving)
    png = draw(out / "project.png", result, np.asarray(selection["confusion"]))
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(dataclasses.asdict(result), indent=2, default=str))
    result.paths += [str(png), str(summary_path)]
    types_ok = all(m["saved_type"] == name for name, m in result.models.items())  # failed: no
    cached = result.ingest == "miss" or result.ingest_untouched  # a hit wrote nothing new
    together = "in parallel" if result.parallel else "NOT in parallel"
    report.finish(
        "9.4",
        f"ingestion was a cache {result.ingest}"
        f"{' (no file rewritten)' if result.ingest == 'hit' and cached else ''}; "
        f"{len(MODEL_TYPES)} models trained {together} "
        f"(each its own type: {'yes' if types_ok else 'NO'}); {result.winner} won "
        f"(by {result.decided_by}) and the replicated servers answered with its predictions: "
        f"{'yes' if result.served_matches_winner else 'NO'}; the workflow took "
        f"{result.seconds:.0f}s",
        types_ok and result.served_matches_winner and result.parallel and cached,
        pictures=[png],
        wrote=f"{', '.join(result.paths)}, {result.served_version}",
        ingest=result.ingest,
        winner=result.winner,
        parallel=result.parallel,
    )


def draw(path: Path, result: Result, confusion: np.ndarray) -> Path:
    """Held-out accuracy per model beside the winner's confusion matrix."""

    def plot(ax) -> None:
        figure = ax.figure
        ax.remove()
        bars, matrix = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
        names = list(result.models)
        accuracy = [result.models[n]["accuracy"] or 0.0 for n in names]
        colors = ["tab:green" if n == result.winner else "tab:gray" for n in names]
        bars.bar(names, accuracy, color=colors)
        for i, n in enumerate(names):
            label = "failed" if result.models[n]["error"] else f"{accuracy[i]:.3f}"
            bars.text(i, accuracy[i], label, ha="center", va="bottom")
        bars.set_ylim(0, 1)
        bars.set_ylabel("held-out accuracy")
        bars.set_title("Accuracy per model (winner in green)")
        matrix.imshow(confusion, cmap="Blues")
        short = [c.split("/")[0] for c in CLASS_NAMES]  # whole words: "Pullover", "Ankle boot"
        matrix.set_xticks(range(10), short, rotation=90, fontsize=7)
        matrix.set_yticks(range(10), short, fontsize=7)
        matrix.set_xlabel("predicted")
        matrix.set_ylabel("true")
        matrix.set_title(f"Confusion matrix of {result.winner}")

    return cli.save_plot(plot, path)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
