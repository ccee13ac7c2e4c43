"""Chapter 8, section 8.1 "TensorFlow: The machine learning framework" (the basics).

Claim: a few lines of TensorFlow load Fashion-MNIST, build a small Keras model and train it: a
few dozen steps lower the test loss and lift the accuracy well above chance (10%). The same
program becomes one worker of a distributed job when ``TF_CONFIG`` is set: it then trains under
``MultiWorkerMirroredStrategy``, which is how the TFJob of section 8.3
(``chapters/ch08_basics/kubeflow_tfjob.py``) runs it on two workers. Without ``TF_CONFIG`` there
is one worker and the default strategy.

Run: python -m chapters.ch08_basics.tensorflow_basics [--train-steps 60] [--dataset synthetic]
"""

from dataclasses import dataclass
from pathlib import Path

from chapters.common import distributed as dist
from chapters.common.data import load_fashion_mnist, normalize
from chapters.common.flags import DataSettings
from dmlp.example import cli, report
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf
from dmlp.launch.tfcluster import is_chief, task_from_env


def train(settings: "Settings") -> dict:
    """Data, model, fit, evaluate: the whole of section 8.1 on one screen."""
    tf = import_tf(settings.verbose, settings.seed)
    task = task_from_env()  # (type, index, cluster) from TF_CONFIG, or None
    strategy = (
        tf.distribute.MultiWorkerMirroredStrategy()  # one replica per worker, all-reduce
        if task
        else tf.distribute.get_strategy()  # the default: this process only
    )
    global_batch = settings.batch_size * strategy.num_replicas_in_sync
    options = tf.data.Options()  # each worker takes its share of every global batch
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA

    def batches(split_name: str, count: int | None):
        split = load_fashion_mnist(
            split_name, settings.dataset, settings.data_dir, count, settings.seed
        )
        return split.to_dataset().map(normalize).batch(global_batch).with_options(options)

    train_data = batches("train", settings.num_examples).shuffle(64, seed=settings.seed).repeat()
    test_data = batches("test", settings.test_examples)

    with strategy.scope():  # variables created here are mirrored on every worker
        model = tf.keras.Sequential(
            [
                tf.keras.layers.Input(shape=(28, 28, 1)),
                tf.keras.layers.Flatten(),  # 28x28 pixels -> 784 numbers
                tf.keras.layers.Dense(128, activation="relu"),
                tf.keras.layers.Dense(10),  # one logit per class
            ]
        )
        model.compile(
            optimizer=tf.keras.optimizers.Adam(settings.learning_rate),
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
    before = model.evaluate(test_data, verbose=0)
    every_10 = tf.keras.callbacks.LambdaCallback(  # a progress line every 10 steps
        on_train_batch_end=lambda step, logs: (
            step % 10 == 9 and print(f"step {step + 1} of {settings.train_steps}", flush=True)
        )
    )
    model.fit(train_data, steps_per_epoch=settings.train_steps, callbacks=[every_10], verbose=0)
    after = model.evaluate(test_data, verbose=0)

    kind, index, cluster = task or ("local", 0, {})
    return {
        "task": f"{kind}-{index}",
        "chief": task is None or is_chief(kind, index, cluster),
        "replicas": strategy.num_replicas_in_sync,
        "global_batch_size": global_batch,
        "steps": int(model.optimizer.iterations.numpy()),
        "loss_before": float(before[0]),
        "loss_after": float(after[0]),
        "accuracy_before": float(before[1]),
        "accuracy_after": float(after[1]),
        "weights_sha256": dist.weights_digest(model),
    }


@dataclass(frozen=True)
class Settings(DataSettings):
    out: str = option("out/ch08/tensorflow-basics")
    num_examples: int | None = option(2000, "training examples to use", minimum=1)
    test_examples: int = option(1000, "test examples to evaluate on", minimum=1)
    train_steps: int = option(60, "training steps", minimum=1)
    batch_size: int = option(32, "examples per step per worker", minimum=1)
    learning_rate: float = option(1e-3, "Adam's learning rate", minimum=0)


@dataclass(frozen=True)
class Result:
    report: dict  # what ``train`` measured (this process, or this worker)
    claim: report.Claim | None  # None in a worker of a distributed job: its launcher claims
    path: str  # the report written under --out


def main(settings: Settings) -> Result:
    progress = cli.Progress("ch08.tensorflow")
    task = task_from_env()
    progress(
        f"training as {task[0]} {task[1]} of a distributed job (TF_CONFIG)"
        if task
        else f"training in this process for {settings.train_steps} steps"
    )
    measured = train(settings)
    dist.write_report(settings.out, measured["task"], measured)
    written = Path(settings.out, "reports", f"{measured['task']}.json")
    progress(f"done: {measured['steps']} steps, test loss {measured['loss_after']:.3f}")
    if task:  # a worker: its launcher (the TFJob's) compares the workers' reports
        return Result(measured, None, str(written))
    rows = [
        ("before training", measured["loss_before"], measured["accuracy_before"]),
        (f"after {measured['steps']} steps", measured["loss_after"], measured["accuracy_after"]),
    ]
    cli.print_table(rows, ["model", "test loss", "test accuracy"], "TensorFlow basics")
    learned = measured["loss_after"] < measured["loss_before"]
    claim = report.finish(
        "8.1",
        f"{measured['steps']} training steps lowered the test loss from "
        f"{measured['loss_before']:.3f} to {measured['loss_after']:.3f} and lifted the accuracy "
        f"from {measured['accuracy_before']:.1%} to {measured['accuracy_after']:.1%} "
        "(chance is 10%)",
        learned and measured["accuracy_after"] > 0.2,
        wrote=str(written),
        loss_before=measured["loss_before"],
        loss_after=measured["loss_after"],
        accuracy=measured["accuracy_after"],
    )
    return Result(measured, claim, str(written))


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
