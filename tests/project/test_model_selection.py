"""Model selection (9.2): the rule, a tie, a failed candidate, and TF Serving's version layout."""

import pytest

from chapters.project.model_selection import Candidate, choose, publish
from dmlp.example.errors import UsageError


def test_the_most_accurate_model_wins():
    choice = choose([Candidate("cnn", 0.80, 0.6), Candidate("dropout", 0.85, 0.7),
                     Candidate("batch_norm", 0.82, 0.5)])  # fmt: skip
    assert choice.winner == "dropout"
    assert choice.ranking == ["dropout", "batch_norm", "cnn"]
    assert choice.decided_by == "accuracy" and choice.tie == [] and choice.skipped == {}


def test_a_tie_in_accuracy_goes_to_the_lower_loss():
    choice = choose([Candidate("cnn", 0.8, 0.60), Candidate("dropout", 0.8, 0.55),
                     Candidate("batch_norm", 0.7, 0.1)])  # fmt: skip
    assert choice.winner == "dropout"
    assert choice.tie == ["dropout", "cnn"] and choice.decided_by == "loss"


def test_a_full_tie_goes_to_the_simpler_model_whatever_the_order_given():
    tied = [Candidate("batch_norm", 0.8, 0.5), Candidate("dropout", 0.8, 0.5),
            Candidate("cnn", 0.8, 0.5)]  # fmt: skip
    for candidates in (tied, tied[::-1]):
        choice = choose(candidates)
        assert choice.winner == "cnn" and choice.decided_by == "model order"
        assert choice.ranking == ["cnn", "dropout", "batch_norm"]


def test_a_failed_candidate_is_skipped_and_reported_even_if_it_would_have_won():
    choice = choose([Candidate("cnn", 0.7, 0.9), Candidate("dropout", error="no SavedModel"),
                     Candidate("batch_norm", 0.75, 0.8)])  # fmt: skip
    assert choice.winner == "batch_norm"
    assert choice.skipped == {"dropout": "no SavedModel"}
    assert "dropout" not in choice.ranking


def test_no_scored_candidate_is_one_clear_error():
    with pytest.raises(UsageError, match="every candidate failed.*cnn: boom"):
        choose([Candidate("cnn", error="boom"), Candidate("dropout", error="gone")])


def test_publish_writes_the_next_version_folder(tmp_path):
    model = tmp_path / "saved_model" / "1"
    model.mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"x")
    base = tmp_path / "served" / "fashion-mnist"
    assert publish(model, base) == base / "1"
    assert publish(model, base) == base / "2"
    assert (base / "2" / "saved_model.pb").is_file()
    assert sorted(p.name for p in base.iterdir()) == ["1", "2"]  # no partial folder left
