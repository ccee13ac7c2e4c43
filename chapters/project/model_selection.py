"""Chapter 9, section 9.2 "Model training": model selection on held-out data, the winner served.

Claim: each candidate is scored on examples no model trained on, as TF Serving will call it;
the best one is copied into the served model's next version folder (TF Serving's layout
``fashion-mnist/<n>/``). A tie is settled by a stated rule and a candidate that failed (no
SavedModel, not the model it claims to be, or it cannot be scored) is skipped and reported.

The rule (:func:`choose`): the highest held-out accuracy wins; on equal accuracy the lower
held-out loss (cross-entropy) wins; if that is equal too, the simpler model wins, in the order
``cnn``, ``dropout``, ``batch_norm``.

Run: python -m chapters.project.model_selection [--quick]   (after model_training, or it trains)
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np

from chapters.common.models import MODEL_TYPES
from chapters.project import config
from chapters.project.model_training import saved_model_type
from dmlp.example import cli, report
from dmlp.example.errors import UsageError


@dataclasses.dataclass(frozen=True)
class Candidate:
    model_type: str
    accuracy: float | None = None  # held-out accuracy; None when the candidate failed
    loss: float | None = None
    error: str | None = None  # why it failed


@dataclasses.dataclass(frozen=True)
class Choice:
    winner: str
    ranking: list[str]  # scored candidates, best first
    skipped: dict[str, str]  # failed candidates and why
    tie: list[str]  # candidates that shared the winner's accuracy ([] when none)
    decided_by: str  # "accuracy", "loss" or "model order"


def choose(candidates: list[Candidate]) -> Choice:
    """The rule of the module docstring; raises when no candidate can be scored."""
    skipped = {c.model_type: c.error or "no score" for c in candidates if c.accuracy is None}
    scored = [c for c in candidates if c.accuracy is not None]
    if not scored:
        reasons = "; ".join(f"{k}: {v}" for k, v in skipped.items()) or "no candidates"
        raise UsageError(f"no model can be served: every candidate failed ({reasons})")
    order = {m: i for i, m in enumerate(MODEL_TYPES)}

    def rank(c: Candidate):
        loss = c.loss if c.loss is not None and np.isfinite(c.loss) else float("inf")
        return (-round(c.accuracy, 9), round(loss, 9), order.get(c.model_type, len(order)))

    ranked = sorted(scored, key=rank)
    best = ranked[0]
    tie = [c.model_type for c in ranked if round(c.accuracy, 9) == round(best.accuracy, 9)]
    same_loss = [c for c in ranked if rank(c)[:2] == rank(best)[:2]]
    decided = "accuracy" if len(tie) == 1 else "loss" if len(same_loss) == 1 else "model order"
    return Choice(best.model_type, [c.model_type for c in ranked], skipped,
                  tie if len(tie) > 1 else [], decided)  # fmt: skip


def evaluate(model_type: str, saved_model: Path, images: np.ndarray, labels: np.ndarray):
    """Score one candidate as TF Serving calls it; a failure becomes a skipped candidate."""
    from chapters.common.export import load_serving_function
    from chapters.project.model_training import saved_model_type

    if not (saved_model / "saved_model.pb").is_file():
        return Candidate(model_type, error=f"no SavedModel at {saved_model}"), None
    try:
        found = saved_model_type(saved_model)
        if found != model_type:
            return Candidate(model_type, error=f"the SavedModel is a {found} model"), None
        probabilities = load_serving_function(saved_model)(images)["probabilities"]
    except Exception as err:  # noqa: BLE001 - any broken candidate is skipped, not fatal
        return Candidate(model_type, error=f"{type(err).__name__}: {err}"[:200]), None
    picked = probabilities[np.arange(len(labels)), labels]
    loss = float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))
    accuracy = float(np.mean(probabilities.argmax(1) == labels))
    return Candidate(model_type, accuracy, loss), probabilities.argmax(1)


def publish(saved_model: Path, base: Path) -> Path:
    """Copy a SavedModel into ``base/<n>/``, n one above the highest version there."""
    versions = [int(p.name) for p in base.glob("*") if p.name.isdigit()]
    target = base / str(max(versions, default=0) + 1)
    partial = base / f".{target.name}.partial"  # TF Serving ignores it; renamed when whole
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(saved_model, partial)
    partial.rename(target)
    return target


def select_and_publish(out: str, data: str, model_types: list[str] | None = None) -> dict:
    """The workflow's selection step: score, choose, publish, write reports/selection.json."""
    from chapters.project.data_pipeline import validation_split
    from dmlp.example.tf_setup import tf as import_tf

    import_tf(seed=0)
    held_out = validation_split(data)
    candidates, predictions = [], {}
    for model_type in model_types or MODEL_TYPES:
        folder = config.saved_model_dir(out, model_type)
        candidate, predicted = evaluate(model_type, folder, held_out.images, held_out.labels)
        candidates.append(candidate)
        predictions[model_type] = predicted
    choice = choose(candidates)
    version = publish(config.saved_model_dir(out, choice.winner), config.served_dir(out))
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (held_out.labels, predictions[choice.winner]), 1)
    summary = {
        "candidates": [dataclasses.asdict(c) for c in candidates],
        "choice": dataclasses.asdict(choice),
        "served_version": str(version),
        "validation_examples": len(held_out),
        "confusion": confusion.tolist(),  # rows: true class, columns: predicted
    }
    folder = config.reports_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "selection.json").write_text(json.dumps(summary, indent=2))
    return summary


# ---------------------------------------------------------------------------- running it alone


Settings = config.ProjectSettings  # the shared project flags, nothing more


def main(settings: Settings) -> dict:
    log = cli.Progress("project.select")
    data = settings.ingest_dir()
    if not data.exists():
        raise UsageError(
            f"no ingested data at {data}: run python -m chapters.project.model_training first "
            "(with the same size flags)"
        )
    log(f"scoring {', '.join(MODEL_TYPES)} on the held-out examples of {data}")
    summary = select_and_publish(settings.out, str(data))
    print_choice(summary)
    choice = summary["choice"]
    # held: what was published, read back, is the winner: its type and its very bytes
    served, winner = (
        Path(summary["served_version"]),
        config.saved_model_dir(settings.out, choice["winner"]),
    )
    served_type = saved_model_type(served)
    same = (served / "saved_model.pb").read_bytes() == (winner / "saved_model.pb").read_bytes()
    report.finish(
        "9.2",
        f"{choice['winner']} is served as {served} (decided by {choice['decided_by']}; skipped: "
        f"{', '.join(choice['skipped']) or 'none'}); read back, the served model is a "
        f"{served_type} model{'' if same else ' whose files DIFFER from the winner'}",
        served_type == choice["winner"] and same,
        wrote=f"{summary['served_version']}, {config.reports_dir(settings.out)}/selection.json",
        winner=choice["winner"],
        served_type=served_type,
    )
    return summary


def print_choice(summary: dict) -> None:
    rows = [
        (c["model_type"], c["accuracy"] if c["accuracy"] is not None else "failed",
         c["loss"] if c["loss"] is not None else "", c["error"] or "")
        for c in summary["candidates"]
    ]  # fmt: skip
    title = f"Model selection on {summary['validation_examples']} held-out examples"
    cli.print_table(rows, ["model", "held-out accuracy", "held-out loss", "skipped because"], title)
    choice = summary["choice"]
    tie = f" (tie between {', '.join(choice['tie'])})" if choice["tie"] else ""
    print(f"Chosen: {choice['winner']}, decided by {choice['decided_by']}{tie}")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
