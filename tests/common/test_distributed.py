"""chapters.common.distributed: the launch branch, reports, digests and the every-worker export."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from chapters.common import distributed as dist
from dmlp.example.errors import UsageError
from dmlp.launch.tfcluster import tf_config


def test_without_tf_config_i_launch_with_it_i_am_one_task(monkeypatch):
    calls = []
    monkeypatch.delenv("TF_CONFIG", raising=False)
    dist.launch_or_run(
        "s", lambda s, t: calls.append(("task", t)), lambda s: calls.append("launch")
    )
    spec = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", tf_config(spec, "worker", 1))
    dist.launch_or_run(
        "s", lambda s, t: calls.append(("task", t)), lambda s: calls.append("launch")
    )
    assert calls == ["launch", ("task", ("worker", 1, spec))]


def test_cluster_settings_validate_and_round_trip():
    settings = dist.ClusterSettings(num_workers=3, timeout=30.0)
    assert dist.ClusterSettings.from_argv(settings.argv()) == settings
    with pytest.raises(UsageError, match="--num-workers must be at least 1"):
        dist.ClusterSettings(num_workers=0)


def test_reports_round_trip_and_missing_tasks_are_named(tmp_path):
    dist.write_report(tmp_path, "worker-0", {"losses": [1.0, 0.5]})
    assert dist.read_reports(tmp_path, ["worker-0"]) == {"worker-0": {"losses": [1.0, 0.5]}}
    assert json.loads((tmp_path / "reports" / "worker-0.json").read_text())["losses"] == [1.0, 0.5]
    with pytest.raises(RuntimeError, match="worker-1"):
        dist.read_reports(tmp_path, ["worker-0", "worker-1"])
    dist.clear_reports(tmp_path)
    assert dist.read_reports(tmp_path) == {}


def test_steady_throughput_leaves_out_the_first_epoch():
    assert dist.steady_examples_per_s([9.0, 1.0, 1.0], 10, 64) == 640.0
    assert dist.steady_examples_per_s([2.0], 10, 64) == 320.0


class _Weights:
    def __init__(self, arrays):
        self.arrays = arrays

    def get_weights(self):
        return self.arrays


def test_digest_tells_equal_weights_from_different_ones():
    a = [np.ones((3, 3), np.float32), np.zeros(4, np.float32)]
    b = [np.ones((3, 3), np.float32), np.zeros(4, np.float32)]
    c = [np.ones((3, 3), np.float32), np.array([0, 0, 0, 1e-7], np.float32)]
    assert dist.weights_digest(_Weights(a)) == dist.weights_digest(_Weights(b))
    assert dist.weights_digest(_Weights(a)) != dist.weights_digest(_Weights(c))


def test_only_the_chief_export_stays_on_disk(tmp_path, monkeypatch):
    from chapters.common.models import build_model

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    model = build_model("cnn", filters=4, dense_units=8)
    kept = dist.export_on_every_worker(model, tmp_path / "out" / "saved_model" / "1", chief=True)
    other = dist.export_on_every_worker(model, tmp_path / "other" / "saved_model" / "1", False)
    assert other is None and not (tmp_path / "other").exists()
    assert not list(scratch.glob("non-chief-export-*"))  # the non-chief's export is gone
    assert sorted(p.parent for p in tmp_path.rglob("saved_model.pb")) == [kept]


def test_steps_per_execution_reaches_compile():
    from chapters.common.models import build_model

    model = build_model("cnn", filters=4, dense_units=8, steps_per_execution=7)
    assert int(model._steps_per_execution.numpy()) == 7


def test_loss_plot_is_written(tmp_path):
    path = dist.plot_losses(
        tmp_path / "loss.png", {"a": ([0, 1], [2.0, 1.0])}, "t", marks={"kill": 1}
    )
    assert Path(path).is_file() and Path(path).stat().st_size > 1000


def test_the_launcher_decides_the_dataset_once(tmp_path):
    # An empty data folder, and tests run offline (DMLP_OFFLINE=1): no real data to be found.
    offline = dist.ClusterSettings(dataset="auto", data_dir=str(tmp_path))
    assert dist.resolve_dataset(offline).dataset == "synthetic"
    synthetic = dist.ClusterSettings(dataset="synthetic")
    assert dist.resolve_dataset(synthetic) is synthetic
    with pytest.raises(UsageError, match="--dataset tfds"):
        dist.resolve_dataset(dist.ClusterSettings(dataset="tfds", data_dir=str(tmp_path)))


def test_epoch_marks_read_back_what_the_callback_printed():
    lines = ["EPOCH_BEGIN 3", "noise", "EPOCH_END 3 loss=1.5000", "EPOCH_BEGIN 4"]
    marks = dist.epoch_marks(lines)
    assert (marks.first, marks.ended, marks.losses) == (3, [3], [1.5])
    assert dist.epoch_marks([]).first is None


def test_convert_keeps_the_shared_fields_and_applies_changes():
    from chapters.common.flags import TrainSettings

    source = dist.ClusterSettings(num_epochs=7, num_workers=3, out="x")
    target = dist.convert(source, TrainSettings, out="y")
    assert (target.num_epochs, target.out) == (7, "y") and not hasattr(target, "num_workers")
