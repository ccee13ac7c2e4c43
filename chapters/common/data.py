"""Chapter 2, section 2.2 "The Fashion-MNIST dataset": the data of every chapter.

``load_fashion_mnist(split, dataset=...)`` returns the images and labels as NumPy arrays:

* ``tfds``: the real Fashion-MNIST through tensorflow-datasets (downloads once into ``data_dir``).
* ``synthetic``: a deterministic, generated stand-in with the same shapes, dtypes, 10 classes and
  split sizes. Each class has its own pattern of strokes, and every example is that pattern
  shifted, re-scaled and noised, so a CNN has something real to learn (it is not noise).
* ``auto`` (the default): ``tfds`` when the data is on disk or the download host answers, else
  ONE warning line and ``synthetic``. Offline machines (CI, a train, a locked-down lab) still run
  every example. The line is shown once per command: once shown, ``DMLP_DATASET_WARNED=1`` is set,
  and the processes a launcher starts inherit it.

The module also holds the TFRecord helpers chapters use to put a dataset on disk as K files.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dmlp.example.errors import UsageError

DATASET_CHOICES = ("auto", "tfds", "synthetic")
SPLIT_SIZES = {"train": 60_000, "test": 10_000}
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# TFDS downloads Fashion-MNIST from here; a quick TCP probe avoids minutes of retries offline.
DOWNLOAD_HOST = ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80)
WARNED_ENV = "DMLP_DATASET_WARNED"


@dataclasses.dataclass
class Split:
    """One split of the dataset, in memory: uint8 images (N, 28, 28, 1) and int64 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray
    source: str  # "tfds" or "synthetic"

    def __len__(self) -> int:
        return len(self.labels)

    def to_dataset(self, with_ids: bool = False):
        """A ``tf.data.Dataset`` of ``(image, label)`` (or ``(id, image, label)``) pairs."""
        import tensorflow as tf

        parts = (self.images, self.labels)
        if with_ids:
            parts = (np.arange(len(self), dtype=np.int64), *parts)
        return tf.data.Dataset.from_tensor_slices(parts)


class DatasetUnavailable(RuntimeError):
    """The real dataset cannot be loaded (no network, no local copy, TFDS error)."""


# ---------------------------------------------------------------------------- loading


def load_fashion_mnist(
    split: str = "train",
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = None,
    seed: int = 0,
    warn=None,
) -> Split:
    """Load one split of Fashion-MNIST (see the module docstring for ``dataset``)."""
    if split not in SPLIT_SIZES:
        raise UsageError(f"unknown split {split!r}; valid: {', '.join(SPLIT_SIZES)}")
    if dataset not in DATASET_CHOICES:
        raise UsageError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASET_CHOICES)}")
    if num_examples is not None and num_examples < 1:
        raise UsageError(f"num_examples must be at least 1, got {num_examples}")
    if dataset == "synthetic":
        return synthetic_split(split, num_examples, seed)
    try:
        return _load_tfds(split, data_dir, num_examples)
    except DatasetUnavailable as err:
        _fall_back(dataset, err, warn)
        return synthetic_split(split, num_examples, seed)


def _fall_back(dataset: str, err: DatasetUnavailable, warn) -> None:
    """``tfds`` was asked for: a clear error. ``auto``: one warning line per command."""
    if dataset == "tfds":
        raise UsageError(f"--dataset tfds: {err}") from None
    if os.environ.get(WARNED_ENV) != "1":
        (warn or _warn)(
            f"WARNING: real Fashion-MNIST unavailable ({err}); using the synthetic "
            "stand-in of the same shape (pass --dataset synthetic to silence this)"
        )
        os.environ[WARNED_ENV] = "1"  # once per command, child processes included


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _PrivateTempdir:
    """TFDS leaves an empty ``tmp*tfds`` folder in the temp folder per builder: keep it in ours."""

    def __enter__(self):
        self.saved, self.folder = tempfile.tempdir, tempfile.TemporaryDirectory(prefix="dmlp-")
        tempfile.tempdir = self.folder.name

    def __exit__(self, *exc) -> None:
        tempfile.tempdir = self.saved
        self.folder.cleanup()


def _probe_tfds(data_dir: str | None):
    """TFDS, if it has the data on disk or can download it; else :class:`DatasetUnavailable`."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:  # pragma: no cover - a dependency of the project
        raise DatasetUnavailable(f"tensorflow-datasets cannot be imported: {err}") from None
    try:
        with _PrivateTempdir():
            prepared = tfds.builder("fashion_mnist", data_dir=data_dir).is_prepared()
    except Exception as err:  # noqa: BLE001 - TFDS raises many kinds
        raise DatasetUnavailable(f"TFDS: {type(err).__name__}: {err}") from None
    if not prepared and not _host_reachable(*DOWNLOAD_HOST):
        raise DatasetUnavailable(f"no local copy and {DOWNLOAD_HOST[0]} is unreachable")
    return tfds


def _load_tfds(split: str, data_dir: str | None, num_examples: int | None) -> Split:
    tfds = _probe_tfds(data_dir)
    tfds_split = split if num_examples is None else f"{split}[:{num_examples}]"
    try:
        with _PrivateTempdir():
            data = tfds.load(
                "fashion_mnist", split=tfds_split, data_dir=data_dir, as_supervised=True
            )
        # Batches, not batch_size=-1: the latter aborts the process under tfds.testing.mock_data.
        batches = list(tfds.as_numpy(data.batch(8192)))
        images = np.concatenate([b[0] for b in batches]) if batches else np.empty((0, 28, 28, 1))
        labels = np.concatenate([b[1] for b in batches]) if batches else np.empty((0,))
    except Exception as err:  # noqa: BLE001
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise DatasetUnavailable(f"TFDS: {type(err).__name__}: {message[:200]}") from None
    images = np.asarray(images, dtype=np.uint8).reshape((-1, *IMAGE_SHAPE))
    labels = np.asarray(labels, dtype=np.int64)
    if num_examples is not None:  # mock data ignores slicing; keep the promise anyway
        images, labels = images[:num_examples], labels[:num_examples]
    return Split(images, labels, "tfds")


def _host_reachable(host: str, port: int, timeout: float = 3.0) -> bool:
    if os.environ.get("DMLP_OFFLINE") == "1":
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------- synthetic data


def _class_patterns(rng: np.random.Generator) -> np.ndarray:
    """Ten 28x28 float patterns in [0, 1]: strokes shared by pairs of classes plus their own.

    Like shirts and T-shirts, neighbouring classes look alike, so the task is learnable but not
    trivial (a small CNN gets well above chance and below 100% after a few hundred steps).
    """
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float32)
    patterns = np.zeros((NUM_CLASSES, 28, 28), np.float32)
    shared = [rng.uniform(5, 23, size=4) for _ in range(NUM_CLASSES // 2)]
    for c in range(NUM_CLASSES):
        strokes = [shared[c // 2]] + [rng.uniform(5, 23, size=4) for _ in range(2)]
        for x0, y0, x1, y1 in strokes:
            width = rng.uniform(1.0, 2.0)
            t = np.linspace(0, 1, 24, dtype=np.float32)[:, None, None]
            px, py = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            dist2 = ((xx - px) ** 2 + (yy - py) ** 2).min(axis=0)
            patterns[c] = np.maximum(patterns[c], np.exp(-dist2 / (2 * width**2)))
    return patterns


def synthetic_split(split: str = "train", num_examples: int | None = None, seed: int = 0) -> Split:
    """A deterministic, learnable stand-in for one Fashion-MNIST split.

    The same ``(split, num_examples, seed)`` always gives the same bytes. Classes share one set
    of patterns across splits (so a model trained on ``train`` is tested fairly on ``test``), and
    the first N examples of a split do not depend on how many are asked for.
    """
    n = SPLIT_SIZES[split] if num_examples is None else num_examples
    patterns = _class_patterns(np.random.default_rng(1234 + seed))
    split_seed = {"train": 0, "test": 1}[split]
    images = np.empty((n, 28, 28), np.uint8)
    labels = np.empty(n, np.int64)
    chunk = 4096
    for start in range(0, n, chunk):  # per-chunk RNG: a prefix does not depend on n
        rng = np.random.default_rng([seed, split_seed, start // chunk])
        m = min(chunk, n - start)  # draw a whole chunk, keep m: prefixes stay identical
        y = rng.integers(0, NUM_CLASSES, size=chunk)
        shifts = rng.integers(-3, 4, size=(chunk, 2))
        scale = rng.uniform(0.6, 1.0, size=(chunk, 1, 1)).astype(np.float32)
        x = patterns[y] * scale
        for dy in range(-3, 4):  # vectorised shift: group examples by their (dy, dx)
            for dx in range(-3, 4):
                sel = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
                if sel.any():
                    x[sel] = np.roll(x[sel], (dy, dx), axis=(1, 2))
        x += rng.normal(0, 0.45, size=x.shape).astype(np.float32)
        images[start : start + m] = np.clip(x[:m] * 255, 0, 255).astype(np.uint8)
        labels[start : start + m] = y[:m]
    return Split(images[..., None], labels, "synthetic")


# ---------------------------------------------------------------------------- tf.data helpers


def normalize(image, label):
    """uint8 [0, 255] -> float32 [0, 1]; the preprocessing every model in the book expects."""
    import tensorflow as tf

    return tf.cast(image, tf.float32) / 255.0, label


def write_tfrecords(
    split: Split, directory: str | os.PathLike, num_files: int, prefix: str = "fashion_mnist"
) -> list[Path]:
    """Write ``split`` as ``num_files`` TFRecord files of consecutive examples, with their ids.

    Each record holds ``id`` (the example's index in ``split``), ``image`` (raw bytes) and
    ``label``. Returns the file paths in order.
    """
    import tensorflow as tf

    if num_files < 1:
        raise UsageError(f"num_files must be at least 1, got {num_files}")
    if num_files > len(split):
        raise UsageError(
            f"cannot write {len(split)} examples into {num_files} files (some files would be empty)"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{prefix}-{i:05d}-of-{num_files:05d}.tfrecord" for i in range(num_files)]
    writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
    try:
        for i, (image, label) in enumerate(zip(split.images, split.labels, strict=True)):
            feature = {
                "id": tf.train.Feature(int64_list=tf.train.Int64List(value=[i])),
                "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
                "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
            }
            record = tf.train.Example(features=tf.train.Features(feature=feature))
            writers[i * num_files // len(split)].write(record.SerializeToString())
    finally:
        for w in writers:
            w.close()
    return paths


_FEATURES = None


def parse_record(record):
    """One serialized record -> ``(id, image uint8 (28, 28, 1), label int64)``."""
    import tensorflow as tf

    global _FEATURES
    if _FEATURES is None:
        _FEATURES = {
            "id": tf.io.FixedLenFeature([], tf.int64),
            "image": tf.io.FixedLenFeature([], tf.string),
            "label": tf.io.FixedLenFeature([], tf.int64),
        }
    parsed = tf.io.parse_single_example(record, _FEATURES)
    image = tf.reshape(tf.io.decode_raw(parsed["image"], tf.uint8), IMAGE_SHAPE)
    return parsed["id"], image, parsed["label"]


def read_tfrecords(
    paths: Sequence[str | os.PathLike], cycle_length: int = 4, deterministic: bool = True
):
    """Read TFRecord files written by :func:`write_tfrecords`, interleaving across files."""
    import tensorflow as tf

    files = tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
    return files.interleave(
        tf.data.TFRecordDataset,
        cycle_length=cycle_length,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    ).map(parse_record, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
