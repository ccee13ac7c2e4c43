"""The project's shared settings and its folder layout (chapter 9, used by every project module).

One run of the project writes everything under ``--out`` (``out/project`` on a laptop, the
``dmlp-data`` PVC's ``/data/project`` in the cluster)::

    data/<key>/train-*.tfrecord, validation-*.tfrecord   ingestion (9.1), <key> = its fingerprint
    models/<model_type>/checkpoints/, saved_model/1/      training (9.2), one folder per model
    served/fashion-mnist/<n>/                              selection's winner, TF Serving's layout
    reports/                                               selection.json, serving.json
    cache/                                                 the memoization cache (local runs)

Sizes: ``--quick`` (tests, under a minute), the default (a few minutes on 2 cores), ``--full``
(the whole training split).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from chapters.common.flags import DataSettings
from dmlp.example.errors import UsageError
from dmlp.example.settings import option

MODEL_NAME = "fashion-mnist"  # the served model's name (URL path and TF Serving's model folder)
INGEST_VERSION = 1  # part of the ingestion key: bump when what ingestion writes changes
TRAIN_SPLIT = 60_000

SIZES = {  # examples for training, held out for selection; epochs x steps; per-replica batch;
    # batch_norm_momentum: 0.9 on the laptop sizes, the book's (Keras's) 0.99 on --full (models.py)
    "quick": {"num_examples": 512, "num_validation": 256, "num_epochs": 1, "steps_per_epoch": 4,
              "batch_size": 16, "batch_norm_momentum": 0.9},
    "default": {"num_examples": 8000, "num_validation": 1000, "num_epochs": 3,
                "steps_per_epoch": 50, "batch_size": 32, "batch_norm_momentum": 0.9},
    "full": {"num_examples": 50_000, "num_validation": 10_000, "num_epochs": 10,
             "steps_per_epoch": 50_000 // 128, "batch_size": 64, "batch_norm_momentum": 0.99},
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class ProjectSettings(DataSettings):
    """Flags every project module shares: sizes, workers, where the run's files go."""

    out: str = option("out/project", "directory for everything the project writes")
    quick: bool = option(False, "tiny sizes: finishes in under a minute (tests)")
    full: bool = option(False, "the whole training split (50,000 + 10,000 held out)")
    num_examples: int | None = option(None, "training examples (default: by size)", minimum=1)
    num_validation: int | None = option(
        None, "held-out examples for model selection (default: by size)", minimum=1
    )
    num_epochs: int | None = option(None, "epochs of each model (default: by size)", minimum=1)
    steps_per_epoch: int | None = option(None, "batches per epoch (default: by size)", minimum=1)
    batch_size: int | None = option(
        None, "examples per batch per worker (default: by size)", minimum=1
    )
    batch_norm_momentum: float | None = option(
        None, "batch_norm's moving-statistics momentum (default: by size)", minimum=0, maximum=1
    )
    num_workers: int = option(2, "workers per training job (all-reduce)", minimum=1)
    num_files: int = option(4, "TFRecord files of the training data (>= --num-workers)", minimum=1)

    def check(self) -> None:
        if self.quick and self.full:
            raise UsageError("--quick and --full exclude each other")
        if self.num_files < self.num_workers:
            raise UsageError("--num-files must be at least --num-workers (a file per worker)")
        if self.size("num_examples") + self.size("num_validation") > TRAIN_SPLIT:
            raise UsageError(f"--num-examples + --num-validation must be at most {TRAIN_SPLIT}")
        if self.size("num_examples") < self.num_files:
            raise UsageError("--num-examples must be at least --num-files")

    @property
    def size_name(self) -> str:
        return "quick" if self.quick else "full" if self.full else "default"

    def size(self, name: str) -> int:
        """A size flag's value: the flag when given, else the chosen size's figure."""
        value = getattr(self, name)
        return SIZES[self.size_name][name] if value is None else value

    def ingest_dir(self) -> Path:
        """Where ingestion writes this run's TFRecords (and training and selection read them)."""
        n, held = self.size("num_examples"), self.size("num_validation")
        return data_dir(self.out, ingest_key(self.dataset, n, held, self.seed, self.num_files))


def ingest_key(dataset: str, num_examples: int, num_validation: int, seed: int, num_files: int):
    """The memoization key of ingestion: a hash of every input that changes what it writes."""
    inputs = {
        "dataset": dataset,
        "num_examples": int(num_examples),
        "num_validation": int(num_validation),
        "seed": int(seed),
        "num_files": int(num_files),
        "version": INGEST_VERSION,
    }
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    return f"ingest-{digest}"


def data_dir(out: str | Path, key: str) -> Path:
    return Path(out) / "data" / key


def model_dir(out: str | Path, model_type: str) -> Path:
    return Path(out) / "models" / model_type


def saved_model_dir(out: str | Path, model_type: str) -> Path:
    """A model's export: a SavedModel in a numbered version folder, as TF Serving lays it out."""
    return model_dir(out, model_type) / "saved_model" / "1"


def served_dir(out: str | Path) -> Path:
    """The served model's base path: numbered versions inside (TF Serving loads the highest)."""
    return Path(out) / "served" / MODEL_NAME


def reports_dir(out: str | Path) -> Path:
    return Path(out) / "reports"
