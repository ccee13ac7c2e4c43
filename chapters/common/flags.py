"""The book's shared flags: which Fashion-MNIST to read and how to train (chapters 2, 3, 5, 9).

The settings machinery (:class:`dmlp.example.settings.Settings`, :func:`option`) is the library's;
these groups are book content: the dataset choices of chapter 2 and the training vocabulary of
chapter 3 (``--model-type``, ``--num-epochs``, ``--steps-per-epoch``, ``--batch-size`` per replica).
"""

from __future__ import annotations

import dataclasses

from chapters.common.data import DATASET_CHOICES
from chapters.common.models import MODEL_TYPES
from dmlp.example.settings import CommonSettings, Settings, option


@dataclasses.dataclass(frozen=True)
class DatasetSettings(Settings):
    """Which Fashion-MNIST to read (see the top-level README, "Data")."""

    dataset: str = option(
        "auto",
        "auto: real Fashion-MNIST via TFDS, else a synthetic stand-in (warns once); "
        "tfds: real data only; synthetic: generated data",
        choices=DATASET_CHOICES,
    )
    data_dir: str | None = option(None, "where TFDS keeps (or downloads) datasets")


@dataclasses.dataclass(frozen=True)
class DataSettings(DatasetSettings, CommonSettings):
    """Flags of examples that read Fashion-MNIST: the common ones, the dataset, how much of it."""

    num_examples: int | None = option(
        None, "use only the first N examples of each split (default: all)", minimum=1
    )


@dataclasses.dataclass(frozen=True)
class TrainSettings(DataSettings):
    """Flags of examples that train one of the book's models (chapters 3, 5, 9)."""

    model_type: str = option(
        "cnn", "which of the book's three models to train", choices=MODEL_TYPES
    )
    num_epochs: int = option(2, "passes over --steps-per-epoch batches", minimum=1)
    steps_per_epoch: int = option(20, "batches per epoch", minimum=1)
    batch_size: int = option(
        32, "examples per batch per replica (the global batch is this x replicas)", minimum=1
    )
