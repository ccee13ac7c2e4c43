"""Model training (9.2): without TF_CONFIG the module is one worker, and it trains what it says."""

import os

import pytest

from chapters.project import model_training


@pytest.mark.slow
def test_without_tf_config_it_trains_as_a_single_worker(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    stale = tmp_path / "models" / "dropout" / "saved_model" / "1" / "from-an-earlier-run"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    settings = model_training.Settings(
        out=str(tmp_path), quick=True, dataset="synthetic", model_type="dropout", num_epochs=2
    )
    result = model_training.main(settings)
    assert list(result.reports) == ["worker-0"]
    report = result.reports["worker-0"]
    assert report["workers"] == 1 and report["chief"] and len(report["losses"]) == 2
    assert result.saved_type == "dropout" and not stale.exists()
    assert len(result.checkpoints) == 2  # one per epoch, in this model's own folder
    assert all(os.path.commonpath([c, str(tmp_path / "models" / "dropout")]) ==
               str(tmp_path / "models" / "dropout") for c in result.checkpoints)  # fmt: skip
