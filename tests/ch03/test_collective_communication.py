"""ch03 all-reduce: two TF worker processes end with identical weights; the SavedModel works."""

from __future__ import annotations

import numpy as np
import pytest

from chapters.ch03_distributed_training import collective_communication as cc

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("collective")
    return cc.main(
        num_workers=2,
        num_epochs=2,
        steps_per_epoch=8,
        batch_size=16,
        dataset="synthetic",
        num_examples=600,
        out=str(out),
        timeout=240,
    )


def test_both_workers_report_identical_weights(result):
    reports = result["reports"]
    assert sorted(reports) == ["worker-0", "worker-1"]
    assert result["identical"]
    assert reports["worker-0"]["weights_sha256"] == reports["worker-1"]["weights_sha256"]
    assert reports["worker-0"]["losses"] == reports["worker-1"]["losses"]


def test_global_batch_scales_with_workers(result):
    for report in result["reports"].values():
        assert report["replicas"] == 2 and report["global_batch_size"] == 32


def test_only_the_chief_keeps_the_model(result, tmp_path):
    reports = result["reports"]
    assert reports["worker-0"]["chief"] and not reports["worker-1"]["chief"]
    assert reports["worker-1"]["saved_model"] is None


def test_chief_saved_model_loads_and_predicts(result):
    import tensorflow as tf

    model = tf.keras.models.load_model(result["saved_model"])
    logits = model.predict(np.zeros((4, 28, 28, 1), np.float32), verbose=0)
    assert logits.shape == (4, 10)
    assert 0.0 <= result["accuracy"] <= 1.0
