"""chapters.common.data: synthetic stand-in, TFDS path, fallback warning, TFRecord round trip."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from chapters.common import data
from dmlp.example.errors import UsageError
from tests.conftest import ROOT


def test_synthetic_has_fashion_mnist_shapes_and_is_deterministic():
    a = data.synthetic_split("train", 500)
    b = data.synthetic_split("train", 500)
    assert a.images.shape == (500, 28, 28, 1) and a.images.dtype == np.uint8
    assert a.labels.shape == (500,) and a.labels.dtype == np.int64
    assert set(np.unique(a.labels)) == set(range(10))
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.source == "synthetic"


def test_synthetic_prefix_does_not_depend_on_size_and_splits_differ():
    small, big = data.synthetic_split("train", 100), data.synthetic_split("train", 5000)
    np.testing.assert_array_equal(small.images, big.images[:100])
    test = data.synthetic_split("test", 100)
    assert not np.array_equal(test.images, small.images)


def test_full_split_sizes_match_fashion_mnist():
    assert len(data.synthetic_split("test")) == 10_000
    assert data.SPLIT_SIZES == {"train": 60_000, "test": 10_000}


def test_auto_falls_back_with_one_warning_per_command(tmp_path, capsys):
    split = data.load_fashion_mnist("train", "auto", data_dir=str(tmp_path), num_examples=50)
    assert split.source == "synthetic" and len(split) == 50
    data.load_fashion_mnist("test", "auto", data_dir=str(tmp_path), num_examples=5)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("WARNING: real Fashion-MNIST unavailable")
    assert "absl" not in err[0] and "dataset_info.json" not in err[0]


def test_the_warning_is_not_repeated_by_child_processes(tmp_path):
    """A launcher's tasks inherit the environment: the command warns once, not once per task."""
    load = (
        "from chapters.common import data; "
        f"data.load_fashion_mnist('test', 'auto', data_dir={str(tmp_path)!r}, num_examples=5)"
    )
    script = f"import subprocess, sys; {load}; subprocess.run([sys.executable, '-c', {load!r}])"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("WARNING: real Fashion-MNIST unavailable") == 1, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # nothing else: no absl lines


def test_tfds_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data.load_fashion_mnist("test", "auto", data_dir=str(tmp_path / "datasets"), num_examples=5)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith("tfds")] == []


def test_auto_falls_back_when_tfds_itself_fails(tmp_path, monkeypatch, capsys):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(data, "_host_reachable", lambda *a, **k: True)

    def broken_load(*args, **kwargs):
        raise ConnectionError("simulated: download failed")

    monkeypatch.setattr(tfds, "load", broken_load)
    split = data.load_fashion_mnist("test", "auto", data_dir=str(tmp_path), num_examples=20)
    assert split.source == "synthetic"
    assert "simulated: download failed" in capsys.readouterr().err


def test_tfds_only_is_a_clear_error_offline(tmp_path):
    with pytest.raises(UsageError, match="--dataset tfds"):
        data.load_fashion_mnist("train", "tfds", data_dir=str(tmp_path), num_examples=10)


def test_tfds_path_with_mock_data(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(data, "_host_reachable", lambda *a, **k: True)
    with tfds.testing.mock_data(num_examples=30):
        split = data.load_fashion_mnist("train", "tfds", data_dir=str(tmp_path), num_examples=12)
    assert split.source == "tfds"
    assert split.images.shape == (12, 28, 28, 1) and split.images.dtype == np.uint8
    assert split.labels.shape == (12,) and split.labels.max() < 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dataset": "mnist"}, "unknown dataset 'mnist'; valid: auto, tfds, synthetic"),
        ({"split": "validation"}, "unknown split"),
        ({"num_examples": 0}, "at least 1"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        data.load_fashion_mnist(**{"dataset": "synthetic", **kwargs})


def test_tfrecord_round_trip_equals_source(tmp_path):
    split = data.synthetic_split("train", 103)
    paths = data.write_tfrecords(split, tmp_path, num_files=4)
    assert len(paths) == 4 and all(p.stat().st_size > 0 for p in paths)
    rows = sorted(data.read_tfrecords(paths).as_numpy_iterator(), key=lambda r: r[0])
    assert [int(r[0]) for r in rows] == list(range(103))
    np.testing.assert_array_equal(np.stack([r[1] for r in rows]), split.images)
    np.testing.assert_array_equal(np.array([r[2] for r in rows]), split.labels)


def test_synthetic_data_is_learnable():
    """A few hundred steps of the book's CNN beat chance (10%) by far on held-out data."""
    from chapters.common.models import build_model

    train = data.synthetic_split("train", 4000).to_dataset().map(data.normalize)
    test = data.synthetic_split("test", 1000).to_dataset().map(data.normalize)
    model = build_model("cnn")
    model.fit(
        train.shuffle(4000, seed=0).batch(32).repeat(), steps_per_epoch=250, epochs=1, verbose=0
    )
    _, accuracy = model.evaluate(test.batch(500), verbose=0)
    assert accuracy > 0.6
