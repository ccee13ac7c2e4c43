"""ch03 all-reduce: two worker processes end with identical weights; one SavedModel, served."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chapters.ch03_distributed_training import collective_communication as cc
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


def test_the_printed_claim_is_the_returned_one_and_held(run):
    _, result = run
    assert result.claim.held
    assert result.claim.figures["distinct_digests"] == result.distinct_digests == 1
    assert result.claim.figures["saved_models"] == len(result.saved_models) == 1
