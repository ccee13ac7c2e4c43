"""Sections 8.1 and 8.3: the small model learns; a 2-worker TFJob ends with identical weights."""

import json

import pytest

from chapters.ch08_basics import kubeflow_tfjob, tensorflow_basics
from dmlp.example.errors import UsageError


def test_a_few_steps_lower_the_loss_and_beat_chance(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    settings = tensorflow_basics.Settings(
        out=str(tmp_path), dataset="synthetic", num_examples=512, test_examples=256, train_steps=40
    )
    result = tensorflow_basics.main(settings)
    measured = result.report
    assert result.claim.held
    assert measured["replicas"] == 1 and measured["steps"] == 40
    assert measured["loss_after"] < measured["loss_before"]
    assert measured["accuracy_after"] > 0.2 > measured["accuracy_before"] - 0.1
    assert json.loads((tmp_path / "reports" / "local-0.json").read_text()) == measured


@pytest.mark.slow
def test_the_tfjob_workflow_runs_two_workers_to_identical_weights(tmp_path):
    settings = kubeflow_tfjob.Settings(out=str(tmp_path), train_steps=6)
    result = kubeflow_tfjob.main(settings)
    assert set(result.reports) == {"worker-0", "worker-1"}
    assert all(r["replicas"] == 2 and r["steps"] == 6 for r in result.reports.values())
    assert result.same_steps and result.distinct_digests == 1
    assert result.claim.held and [r["chief"] for r in result.reports.values()] == [True, False]


def test_a_bad_tf_config_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    settings = tensorflow_basics.Settings(out=str(tmp_path), dataset="synthetic")
    with pytest.raises(UsageError, match="TF_CONFIG is not valid"):
        tensorflow_basics.main(settings)
