"""Chapter 5, section 5.2 "Fan-in and fan-out patterns".

Claim: one data step fans out to three model-training steps that run at the same time (their
start-to-end intervals overlap), then fans in to one step that keeps the two most accurate models
and averages their predictions (an ensemble), printed beside each model's own accuracy.

The workflow below is the Argo Workflow (written with Hera) that runs in the cluster
(``manifests/ch05/fan-in-fan-out.yaml`` is generated from it); on a laptop the repository's
runner executes the same definition, each step a process.

Run: python -m chapters.ch05_workflows.fan_in_fan_out [--train-steps 60] [--dataset synthetic]
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from hera.workflows import DAG, Workflow, script

from chapters.ch05_workflows import timing
from chapters.common.flags import DataSettings
from chapters.common.models import MODEL_TYPES
from dmlp import argo
from dmlp.argo import conventions
from dmlp.example import cli, report
from dmlp.example.settings import option


@dataclass(frozen=True)
class Settings(DataSettings):
    num_examples: int | None = option(
        2000, "training examples (the test split gets a quarter)", minimum=10
    )
    train_steps: int = option(60, "training steps of each model", minimum=1)
    batch_size: int = option(32, "examples per training step", minimum=1)
    top: int = option(2, "how many of the best models the ensemble averages", minimum=1, maximum=3)
    step_timeout: float = option(300.0, "seconds before a step is killed", minimum=1)


@script(constructor="runner", **conventions.script_options())
def prepare_data(out: str, dataset: str, data_dir: str, num_examples: int, seed: int) -> dict:
    """The one step everything fans out from: write the train and test split once."""
    return save_split(out, dataset, data_dir or None, num_examples, seed)


@script(constructor="runner", **conventions.script_options(cpu="500m", memory="1Gi"))
def train_model(data: dict, model_type: str, train_steps: int, batch_size: int, seed: int) -> dict:
    """One of the fanned-out steps: train one model type, keep its test-set predictions."""
    return fit_and_predict(data, model_type, train_steps, batch_size, seed)


@script(constructor="runner", **conventions.script_options())
def ensemble(models: list, data: dict, top: int) -> dict:
    """The fan-in: keep the ``top`` most accurate models and average their probabilities."""
    return combine(models, data, top)


with Workflow(
    **conventions.workflow_options("fan-in-fan-out"),
    entrypoint="pipeline",
    arguments=conventions.defaults(
        Settings(),
        *("data_dir", "num_examples", "seed", "train_steps", "batch_size", "top"),
        out=f"{conventions.DATA_MOUNT}/ch05/fan-in-fan-out",
        dataset="synthetic",
    ),
) as WORKFLOW:
    with DAG(name="pipeline"):
        data = prepare_data(
            arguments=conventions.from_workflow(
                "out", "dataset", "data_dir", "num_examples", "seed"
            )
        )
        models = train_model(
            with_items=list(MODEL_TYPES),  # fan-out: one parallel step per model type
            arguments={
                "data": data.result,
                "model_type": "{{item}}",
                **conventions.from_workflow("train_steps", "batch_size", "seed"),
            },
        )
        best = ensemble(  # fan-in: waits for every model, reads all their results as one list
            arguments={
                "models": models.result,
                "data": data.result,
                "top": "{{workflow.parameters.top}}",
            }
        )
        data >> models >> best


# ---------------------------------------------------------------------------- what the steps do


def save_split(out: str, dataset: str, data_dir: str | None, num_examples: int, seed: int) -> dict:
    import numpy as np

    from chapters.common.data import load_fashion_mnist

    train = load_fashion_mnist("train", dataset, data_dir, num_examples, seed)
    test = load_fashion_mnist("test", dataset, data_dir, max(200, num_examples // 4), seed)
    path = Path(out) / "data.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=train.images, y=train.labels, x_test=test.images, y_test=test.labels)
    return {"path": str(path), "train": len(train), "test": len(test), "source": train.source}


def fit_and_predict(data: dict, model_type: str, train_steps: int, batch_size: int, seed: int):
    import numpy as np

    from chapters.common.models import build_model
    from dmlp.example.tf_setup import tf as import_tf

    tf = import_tf(False, seed)
    arrays = np.load(data["path"])
    x, x_test = arrays["x"] / np.float32(255), arrays["x_test"] / np.float32(255)
    ds = tf.data.Dataset.from_tensor_slices((x, arrays["y"])).shuffle(len(x), seed=seed)
    model = build_model(model_type)
    model.fit(ds.repeat().batch(batch_size), steps_per_epoch=train_steps, epochs=1, verbose=0)
    logits = model.predict(x_test, batch_size=256, verbose=0)
    path = Path(data["path"]).with_name(f"logits-{model_type}.npy")
    np.save(path, logits)
    accuracy = float((logits.argmax(1) == arrays["y_test"]).mean())
    return {"model_type": model_type, "accuracy": accuracy, "logits": str(path)}


def combine(models: list, data: dict, top: int) -> dict:
    import numpy as np

    labels = np.load(data["path"])["y_test"]
    ranked = sorted(models, key=lambda m: m["accuracy"], reverse=True)[:top]
    probabilities = []
    for member in ranked:
        logits = np.load(member["logits"])
        exp = np.exp(logits - logits.max(1, keepdims=True))
        probabilities.append(exp / exp.sum(1, keepdims=True))
    accuracy = float((np.mean(probabilities, axis=0).argmax(1) == labels).mean())
    return {"members": [m["model_type"] for m in ranked], "accuracy": accuracy}


# ---------------------------------------------------------------------------- the example


def rescore(data: Path, logits: dict[str, str]) -> dict:
    """Each model's accuracy from its saved logits, and the accuracy of any ensemble of them."""
    import numpy as np

    labels = np.load(data)["y_test"]
    arrays = {m: np.load(path) for m, path in logits.items()}

    def softmax(a):  # computed again here, apart from `combine`, as a check on its answer
        exp = np.exp(a - a.max(1, keepdims=True))
        return exp / exp.sum(1, keepdims=True)

    probabilities = {m: softmax(a) for m, a in arrays.items()}

    def ensemble(members: list[str]) -> float:
        mean = np.mean([probabilities[m] for m in members], axis=0)
        return float((mean.argmax(1) == labels).mean())

    models = {m: float((a.argmax(1) == labels).mean()) for m, a in arrays.items()}
    return {"models": models, "ensemble": ensemble}


@dataclass
class Result:
    accuracy: dict[str, float]
    ensemble_accuracy: float
    members: list[str]
    overlap: bool
    steps: list[tuple] = field(default_factory=list)
    seconds: float = 0.0
    paths: list[str] = field(default_factory=list)
    claim: report.Claim | None = None


def main(settings: Settings) -> Result:
    out = cli.writable_dir(Path(settings.out) / "ch05" / "fan-in-fan-out").resolve()
    arguments = conventions.defaults(
        settings,
        *("dataset", "data_dir", "num_examples", "seed", "train_steps", "batch_size", "top"),
        out=str(out),
    )
    run = argo.run(WORKFLOW, arguments, step_timeout=settings.step_timeout, echo=settings.verbose)
    run.raise_for_status()
    trained = [n for n in run.leaves() if n.template == "train-model"]
    results = {r["model_type"]: r for r in (json.loads(n.outputs["result"]) for n in trained)}
    combined = json.loads(run.node("ensemble").outputs["result"])
    rows = [(m, r["accuracy"], *_times(trained, m)) for m, r in results.items()]
    rows.append((f"ensemble of {' + '.join(combined['members'])}", combined["accuracy"], "", ""))
    cli.print_table(rows, ["model", "test accuracy", "trained from s", "to s"], "Fan-in / fan-out")
    print("\nTimeline (one row per step; '=' running):\n" + timing.timeline(run))
    png = timing.gantt(run, out / "timeline.png", "Fan-out: the three training steps overlap")
    overlap = timing.overlapping(trained)
    # The fan-in, checked from the files the steps left, not from what they reported: each
    # model's accuracy and the ensemble's, recomputed from its logits and the test labels.
    scored = rescore(out / "data.npz", {m: r["logits"] for m, r in results.items()})
    ranked = sorted(scored["models"], key=scored["models"].get, reverse=True)[: settings.top]
    fanned_in = (
        sorted(combined["members"]) == sorted(ranked)
        and abs(scored["ensemble"](combined["members"]) - combined["accuracy"]) < 1e-9
    )
    best = results[ranked[0]]
    claim = report.finish(
        "5.2",
        f"the {len(trained)} training steps ran "
        f"{'at the same time' if overlap else 'one after another'}, and the fan-in combined the "
        f"top {settings.top} ({', '.join(combined['members'])}): ensemble accuracy "
        f"{combined['accuracy']:.3f}, best single model {best['accuracy']:.3f} "
        f"({best['model_type']}).",
        overlap and fanned_in,
        pictures=[png],
        wrote=f"{out / 'data.npz'}, {out}/logits-*.npy, {png}",
        ensemble_accuracy=round(combined["accuracy"], 3),
        best_single=round(best["accuracy"], 3),
    )
    return Result(
        accuracy={m: r["accuracy"] for m, r in results.items()},
        ensemble_accuracy=combined["accuracy"],
        members=combined["members"],
        overlap=overlap,
        steps=run.rows(),
        seconds=run.seconds,
        paths=[str(out / "data.npz"), str(png)],
        claim=claim,
    )


def _times(nodes, model_type: str) -> tuple[float, float]:
    node = next(n for n in nodes if n.name.endswith(f":{model_type})"))
    return round(node.started, 1), round(node.finished, 1)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
