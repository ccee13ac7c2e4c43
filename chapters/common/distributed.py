"""Plumbing the distributed-training examples share (introduced in chapter 3).

The pattern modules of chapter 3 hold the TensorFlow code of their pattern; this module holds what
they all need around it:

* :class:`ClusterSettings`: the flags of a multi-process training example.
* :func:`launch_or_run`: the branch every such ``main`` takes. Without ``TF_CONFIG`` the process
  is the *launcher* (it starts the tasks on this machine); with ``TF_CONFIG`` set, by the launcher
  or by the Kubeflow Training Operator in a pod, it is *one task* of the cluster.
* :func:`epoch_log`: a callback that prints ``EPOCH_BEGIN i`` / ``EPOCH_END i loss=...`` marker
  lines (the launcher watches them, e.g. to kill a worker at an epoch) and times the epochs.
* :func:`weights_digest`, :func:`export_on_every_worker`, :func:`write_report` /
  :func:`read_reports`: what each task leaves behind for the launcher's summary.
* :func:`accuracy`: the exported model scored as TF Serving would call it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chapters.common.flags import TrainSettings
from dmlp.example.settings import Settings, option
from dmlp.launch.tfcluster import task_from_env

Task = tuple[str, int, dict]  # (task type, task index, cluster spec) as TF_CONFIG names them


@dataclasses.dataclass(frozen=True)
class ClusterSettings(TrainSettings):
    """Flags of a chapter 3 job: how many worker processes, and how long the launcher waits."""

    num_examples: int | None = option(4000, "use only the first N training examples", minimum=1)
    num_workers: int = option(2, "worker processes (tasks) in the cluster", minimum=1)
    timeout: float = option(600.0, "seconds before the launcher kills every task", minimum=1)


def launch_or_run(
    settings: Any, task: Callable[[Any, Task], Any], launch: Callable[[Any], Any]
) -> Any:
    """Without ``TF_CONFIG`` I am the launcher (``launch(settings)``); with it I am one task."""
    me = task_from_env()
    return launch(settings) if me is None else task(settings, me)


def resolve_dataset(settings: TrainSettings) -> TrainSettings:
    """``--dataset auto`` decided once, by the launcher: its tasks neither probe nor warn again.

    ``--dataset tfds`` is checked here too, so a missing dataset is one error before any task
    starts.
    """
    if settings.dataset == "synthetic":
        return settings
    from chapters.common.data import load_fashion_mnist

    found = load_fashion_mnist("train", settings.dataset, settings.data_dir, 1, settings.seed)
    return settings.replace(dataset=found.source)


def epoch_log():
    """A Keras callback: ``EPOCH_BEGIN``/``EPOCH_END`` lines, losses and seconds per epoch."""
    import tensorflow as tf

    class EpochLog(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs: list[int] = []
            self.losses: list[float] = []
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()
            print(f"EPOCH_BEGIN {epoch}", flush=True)

        def on_epoch_end(self, epoch, logs=None):
            loss = float((logs or {}).get("loss", float("nan")))
            self.epochs.append(epoch)
            self.losses.append(loss)
            self.seconds.append(time.perf_counter() - self._start)
            print(f"EPOCH_END {epoch} loss={loss:.4f}", flush=True)

    return EpochLog()


@dataclasses.dataclass
class EpochMarks:
    first: int | None  # the epoch the task began with (0, or where a restored job resumed)
    ended: list[int]
    losses: list[float]


def epoch_marks(lines: list[str]) -> EpochMarks:
    """What :func:`epoch_log` printed, read back from a task's output lines."""
    begun = [int(x.split()[1]) for x in lines if x.startswith("EPOCH_BEGIN ")]
    ends = [x.split() for x in lines if x.startswith("EPOCH_END ")]
    return EpochMarks(
        begun[0] if begun else None,
        [int(e[1]) for e in ends],
        [float(e[2].removeprefix("loss=")) for e in ends],
    )


def convert(settings: Settings, cls: type, **changes: Any) -> Any:
    """``settings`` as another example's settings class (the fields they share), changed."""
    names = {f.name for f in dataclasses.fields(cls)}
    shared = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    return cls(**{**{k: v for k, v in shared.items() if k in names}, **changes})


def steady_examples_per_s(epoch_seconds: list[float], steps_per_epoch: int, batch: int) -> float:
    """Examples/s over the epochs after the first (which pays for tracing and start-up)."""
    steady = epoch_seconds[1:] or epoch_seconds
    return len(steady) * steps_per_epoch * batch / sum(steady) if sum(steady) else 0.0


def weights_digest(model) -> str:
    """SHA-256 (first 16 hex digits) of all the model's weights: equal digests, equal weights."""
    import numpy as np

    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()[:16]


def export_on_every_worker(model, path: str | os.PathLike, chief: bool) -> Path | None:
    """Export the SavedModel from every worker; only the chief's copy at ``path`` is kept.

    Under ``MultiWorkerMirroredStrategy`` saving runs collective ops, so every worker must call
    it; the others write to a temporary directory that is removed at once.
    """
    from chapters.common.export import export_saved_model

    if chief:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return export_saved_model(model, path)
    scratch = tempfile.mkdtemp(prefix="non-chief-export-")
    try:
        export_saved_model(model, Path(scratch, "1"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return None


def write_report(out: str | os.PathLike, task: str, report: dict) -> dict:
    """Write one task's report as ``<out>/reports/<task>.json`` (for the launcher)."""
    folder = Path(out, "reports")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{task}.json").write_text(json.dumps(report, indent=2))
    return report


def read_reports(out: str | os.PathLike, expected: list[str] | None = None) -> dict[str, dict]:
    """Every task report under ``<out>/reports``; ``expected`` names tasks that must be there."""
    found = {p.stem: json.loads(p.read_text()) for p in sorted(Path(out, "reports").glob("*.json"))}
    missing = sorted(set(expected or ()) - set(found))
    if missing:
        raise RuntimeError(f"no report from task(s) {', '.join(missing)} under {out}/reports")
    return found


def clear_reports(out: str | os.PathLike) -> None:
    shutil.rmtree(Path(out, "reports"), ignore_errors=True)


def accuracy(saved_model: str | os.PathLike, settings: TrainSettings, num_examples: int = 1000):
    """Accuracy of an exported model on the first test images, called as TF Serving calls it."""
    import numpy as np

    from chapters.common.data import load_fashion_mnist
    from chapters.common.export import load_serving_function

    predict = load_serving_function(saved_model)
    test = load_fashion_mnist(
        "test", settings.dataset, settings.data_dir, num_examples, settings.seed
    )
    predicted = predict(test.images)["class_id"]
    return float(np.mean(predicted == test.labels))


def plot_losses(
    path: str | os.PathLike,
    curves: dict[str, tuple[list[int], list[float]]],
    title: str,
    marks: dict[str, float] | None = None,
) -> Path:
    """Loss per epoch, one line per curve (``name -> (epochs, losses)``); ``marks`` are events."""
    from dmlp.example import cli

    def draw(ax) -> None:
        styles = ("-o", "--s", ":^", "-.d")
        for i, (name, (epochs, losses)) in enumerate(curves.items()):
            ax.plot(epochs, losses, styles[i % len(styles)], label=name, alpha=0.85)
        for label, x in (marks or {}).items():
            ax.axvline(x, color="red", linestyle="--", linewidth=1)
            ax.annotate(
                label,
                (x, 1),
                xycoords=("data", "axes fraction"),
                color="red",
                ha="left",
                va="top",
                xytext=(4, -4),
                textcoords="offset points",
            )
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss")
        ax.legend()

    return cli.save_plot(draw, path, title)
