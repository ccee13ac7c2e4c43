"""ch03 all-reduce: two worker processes end with identical weights; one SavedModel, served."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chapters.ch03_distributed_training import collective_communication as cc
from chapters.common.data import load_fashion_mnist
from chapters.common.export import load_serving_function

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("collective")
    settings = cc.Settings(
        num_workers=2,
        num_epochs=3,
        steps_per_epoch=10,
        batch_size=32,
        dataset="synthetic",
        num_examples=1000,
        out=str(out),
        timeout=300,
    )
    return settings, cc.main(settings)


def test_every_worker_ends_with_identical_weights(run):
    _, result = run
    reports = result.reports
    assert sorted(reports) == ["worker-0", "worker-1"]
    assert result.distinct_digests == 1
    assert reports["worker-0"]["weights_sha256"] == reports["worker-1"]["weights_sha256"]
    assert reports["worker-0"]["losses"] == reports["worker-1"]["losses"]  # lock-step


def test_global_batch_scales_with_workers(run):
    for report in run[1].reports.values():
        assert report["replicas"] == 2 and report["global_batch_size"] == 64


def test_exactly_one_saved_model_on_disk_the_chiefs(run):
    settings, result = run
    on_disk = sorted(p.parent for p in Path(settings.out).rglob("saved_model.pb"))
    assert on_disk == [Path(settings.out, "saved_model", "1")]
    assert result.saved_models == [str(on_disk[0])]
    assert result.reports["worker-0"]["chief"] and not result.reports["worker-1"]["chief"]
    assert result.reports["worker-1"]["saved_model"] is None


def test_the_served_model_learned(run):
    settings, result = run
    predict = load_serving_function(Path(settings.out, "saved_model", "1"))
    outputs = predict(np.zeros((3, 28, 28), np.float32))
    assert outputs["class_id"].shape == (3,)
    np.testing.assert_allclose(outputs["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert result.accuracy > 0.2  # chance is 0.1; 30 steps of a CNN on the synthetic set
    assert result.reports["worker-0"]["losses"][-1] < result.reports["worker-0"]["losses"][0]


def test_outputs_and_pictures_stay_under_out(run):
    settings, result = run
    assert Path(result.plot).is_file() and Path(result.plot).parent == Path(settings.out)
    assert result.examples_per_s > 0


def test_the_claims_figures_are_what_the_test_measures_itself(run):
    settings, result = run
    assert result.claim.held
    reports = [json.loads(p.read_text()) for p in Path(settings.out, "reports").glob("*.json")]
    digests = {r["weights_sha256"] for r in reports}  # each worker's own file
    assert len(reports) == 2 and result.claim.figures["distinct_digests"] == len(digests) == 1
    on_disk = list(Path(settings.out).rglob("saved_model.pb"))
    assert result.claim.figures["saved_models"] == len(on_disk) == 1
    # The accuracy, scored here 100 images at a time on the same 1,000 test images.
    predict = load_serving_function(on_disk[0].parent)
    test = load_fashion_mnist("test", "synthetic", None, 1000, settings.seed)
    right = sum(
        int(np.sum(predict(test.images[i : i + 100])["class_id"] == test.labels[i : i + 100]))
        for i in range(0, 1000, 100)
    )
    assert result.claim.figures["accuracy"] == pytest.approx(right / 1000, abs=5e-4)
