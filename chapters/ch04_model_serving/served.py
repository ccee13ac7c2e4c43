"""What the model servers serve, and the flags that choose it (introduced in chapter 4).

* :func:`served_model`: the SavedModel version folder to serve: the reader's, or a small one
  trained and exported once (with the serving signature of :mod:`chapters.common.export`);
* :class:`ModelSettings`: the flags of every example that serves it.

Light on purpose (no KServe import): examples that start servers as processes import this, the
servers themselves import :mod:`chapters.ch04_model_serving.serving` too.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from chapters.common.flags import DatasetSettings
from dmlp.example.errors import UsageError
from dmlp.example.settings import CommonSettings, Settings, option

DEFAULT_MODEL_NAME = "fashion-mnist"


@dataclasses.dataclass(frozen=True)
class ListenSettings(Settings):
    """Where a server listens and what it accepts: the model server and the router (chapter 4)."""

    host: str = option("127.0.0.1", "address to listen on (0.0.0.0: every network, as a pod needs)")
    port: int = option(8080, "HTTP port", minimum=1, maximum=65535)
    model_name: str = option(DEFAULT_MODEL_NAME, "the model's name in the URLs")
    max_body_bytes: int = option(8 << 20, "largest request body; more is a 413", minimum=1)


@dataclasses.dataclass(frozen=True)
class ModelSettings(DatasetSettings, CommonSettings):
    """Flags of examples that serve the SavedModel (see :func:`served_model`)."""

    out: str = option("out/ch04")
    model_dir: str | None = option(
        None,
        "SavedModel version folder to serve, e.g. out/ch03_collective/saved_model/1 "
        "(default: train a small model once into OUT/model/1)",
    )
    train_steps: int = option(300, "training steps of that small model", minimum=1)

    def model(self, log: Callable[[str], None] = print) -> Path:
        """The SavedModel these settings name (trained first if needed)."""
        return served_model(
            self.model_dir,
            self.out,
            dataset=self.dataset,
            data_dir=self.data_dir,
            train_steps=self.train_steps,
            seed=self.seed,
            verbose=self.verbose,
            log=log,
        )


def served_model(
    model_dir: str | None,
    out: str,
    *,
    dataset: str = "auto",
    data_dir: str | None = None,
    train_steps: int = 300,
    seed: int = 42,
    verbose: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """The SavedModel version folder to serve.

    ``model_dir`` if given (it must hold ``saved_model.pb``, e.g. ``.../saved_model/1``);
    else ``OUT/model/1``, trained for ``train_steps`` batches and exported with the serving
    signature of :mod:`chapters.common.export` the first time, reused afterwards.
    """
    if model_dir:
        path = Path(model_dir)
        if not (path / "saved_model.pb").is_file():
            versions = sorted(p.parent.name for p in path.glob("*/saved_model.pb"))
            hint = (
                f"pass a version folder, e.g. {path / versions[0]}"
                if versions
                else "train one with chapter 3, or leave --model-dir out to train a small one"
            )
            raise UsageError(f"--model-dir {model_dir}: no SavedModel there ({hint})")
        return path
    path = Path(out) / "model" / "1"
    if (path / "saved_model.pb").is_file():
        return path
    from chapters.common.data import load_fashion_mnist, normalize
    from chapters.common.export import export_saved_model
    from chapters.common.models import build_model
    from dmlp.example.tf_setup import tf as import_tf

    tf = import_tf(verbose, seed)
    log(f"no --model-dir: training a small CNN for {train_steps} steps, exporting it to {path}")
    train = load_fashion_mnist("train", dataset, data_dir, 10_000, seed)
    model = build_model("cnn")
    data = train.to_dataset().map(normalize).shuffle(10_000, seed=seed).repeat().batch(64)
    every = max(1, train_steps // 4)
    progress = tf.keras.callbacks.LambdaCallback(
        on_batch_end=lambda step, logs: (
            (step + 1) % every == 0
            and log(f"step {step + 1}/{train_steps}, loss {logs['loss']:.3f}")
        )
    )
    model.fit(data, steps_per_epoch=train_steps, epochs=1, verbose=0, callbacks=[progress])
    partial = path.with_name(f".{path.name}-{os.getpid()}")
    try:
        export_saved_model(model, partial)
        partial.rename(path)  # whole or absent: a concurrent reader never sees half a model
    except OSError:
        if not (path / "saved_model.pb").is_file():
            raise
        # another process exported it first: use theirs
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return path
