"""The four steps of the chapter 6 pipeline (section 6.3): ingest -> train -> evaluate -> publish.

Each step is a function of a :class:`~chapters.ch06_operations.metadata_store.StepContext` (its
inputs, parameters and live recording) and returns a ``StepResult`` (outputs, metrics, artifacts).
Training is a small TensorFlow loop that checkpoints every ``checkpoint_every`` steps and, when
``fail_at_step`` is set, fails there on purpose, like a node lost part-way.
"""

from __future__ import annotations

import numpy as np

from chapters.ch06_operations.metadata_store import StepContext, StepResult, sha256

PARAMS = {  # which settings each step records as its parameters
    "ingest": ("dataset", "num_examples", "seed"),
    "train": (
        "model_type",
        "train_steps",
        "batch_size",
        "learning_rate",
        "checkpoint_every",
        "seed",
    ),  # fmt: skip
    "evaluate": (),
    "publish": ("min_accuracy",),
}


def params_from(settings) -> dict:
    keys = {k for names in PARAMS.values() for k in names} | {"data_dir", "verbose"}
    return {k: getattr(settings, k) for k in sorted(keys)}


def ingest(ctx: StepContext) -> StepResult:
    from chapters.common.data import load_fashion_mnist

    p = ctx.params
    train = load_fashion_mnist("train", p["dataset"], p["data_dir"], p["num_examples"], p["seed"])
    test = load_fashion_mnist("test", p["dataset"], p["data_dir"],
                              max(8, p["num_examples"] // 4), p["seed"])  # fmt: skip
    path = ctx.scratch / "data.npz"
    np.savez(path, x_train=train.images, y_train=train.labels,
             x_test=test.images, y_test=test.labels)  # fmt: skip
    return StepResult(
        outputs={"source": train.source},
        metrics={"num_train": len(train), "num_test": len(test)},
        artifacts={"data": path},
    )


def _model_and_checkpoint(p: dict, directory: str):
    from chapters.common.models import build_model
    from dmlp.example import tf_setup

    tf = tf_setup.tf(p["verbose"], seed=p["seed"])
    model = build_model(p["model_type"], learning_rate=p["learning_rate"], filters=8,
                        dense_units=32)  # fmt: skip
    step = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, step=step)
    return tf, model, step, tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2)


def train(ctx: StepContext) -> StepResult:
    p = ctx.params
    directory = ctx.store.checkpoints / ctx.store.client.get_run(ctx.run).data.tags["dmlp.pipeline"]
    ctx.record("checkpoint_dir", directory)  # recorded first: a failed run still names it
    tf, model, step, manager = _model_and_checkpoint(p, str(directory))
    if manager.latest_checkpoint:
        manager.checkpoint.restore(manager.latest_checkpoint)
    start = last_saved = int(step.numpy())
    if start:
        ctx.log(f"  train: restored the checkpoint of step {start} from {directory}")
    ctx.record("resumed_from_step", start)
    data = np.load(ctx.inputs["data_uri"])
    images = data["x_train"].astype("float32") / 255.0
    batches = (
        tf.data.Dataset.from_tensor_slices((images, data["y_train"]))
        .shuffle(len(images), seed=p["seed"], reshuffle_each_iteration=True)
        .repeat()
        .batch(p["batch_size"])
        .skip(start)  # the same batches an uninterrupted run would see from here
    )
    loss = None
    for i, (x, y) in zip(range(start, p["train_steps"]), batches, strict=False):
        if p["fail_at_step"] and i + 1 == p["fail_at_step"]:
            raise RuntimeError(
                f"injected failure at training step {i + 1} of {p['train_steps']} "
                f"(--fail-at-step); last checkpoint at step {last_saved}"
            )
        loss = float(model.train_on_batch(x, y)[0])
        step.assign(i + 1)
        ctx.metric("loss", loss, step=i + 1)
        if (i + 1) % p["checkpoint_every"] == 0:
            manager.save(checkpoint_number=i + 1)
            last_saved = i + 1
            ctx.log(f"  train step {i + 1}/{p['train_steps']}: loss {loss:.3f}, checkpoint saved")
            ctx.metric("checkpoint_step", i + 1, step=i + 1)
    path = ctx.scratch / "model.keras"
    model.save(path)
    return StepResult(
        outputs={"data_sha256": ctx.inputs["data_sha256"], "resumed_from_step": str(start)},
        metrics={
            "final_loss": loss if loss is not None else float("nan"),
            "steps_this_attempt": p["train_steps"] - start,
        },  # fmt: skip
        artifacts={"model": path},
    )


def evaluate(ctx: StepContext) -> StepResult:
    from dmlp.example import tf_setup

    tf = tf_setup.tf()
    model = tf.keras.models.load_model(ctx.inputs["model_uri"])
    data = np.load(ctx.inputs["data_uri"])
    _, accuracy = model.evaluate(data["x_test"].astype("float32") / 255.0, data["y_test"],
                                 verbose=0)  # fmt: skip
    return StepResult(outputs={"accuracy": f"{accuracy:.4f}"}, metrics={"accuracy": accuracy})


def publish(ctx: StepContext) -> StepResult:
    accuracy = float(ctx.inputs["accuracy"])
    if accuracy < ctx.params["min_accuracy"]:
        raise RuntimeError(
            f"accuracy {accuracy:.3f} is below --min-accuracy {ctx.params['min_accuracy']}: "
            "the model in service stays"
        )
    model = ctx.inputs["model_uri"]
    if sha256(model) != ctx.inputs["model_sha256"]:
        raise RuntimeError(f"{model} does not match the digest the train step recorded")
    record = {
        "model_uri": model,
        "model_sha256": ctx.inputs["model_sha256"],
        "publish_run": ctx.run,
        "train_run": ctx.inputs["train_run"],
        "published_at": ctx.store.now(),
    }
    ctx.store.serve(record)
    return StepResult(outputs={"served_model_sha256": record["model_sha256"]})


# ---------------------------------------------------------------- read back for the report


def resumed_from(result) -> int | None:
    """The training step the resumed attempt started at (None when nothing was resumed)."""
    for run in result.runs[1:]:
        if any(s["status"] == "REUSED" for s in run["steps"]):
            return int(run.get("outputs", {}).get("resumed_from_step", -1))
    return None


def reused_steps(result) -> list[str]:
    return [s["step"] for run in result.runs for s in run["steps"] if s["status"] == "REUSED"]
