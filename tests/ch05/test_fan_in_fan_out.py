"""Section 5.2: three training steps fan out in parallel and fan in to a top-2 ensemble."""

from pathlib import Path

import numpy as np
import pytest

from chapters.ch05_workflows.fan_in_fan_out import Settings, main
from tests.conftest import assert_one_line_error, run_module


def test_training_steps_overlap_and_the_ensemble_takes_the_top_two(out_dir):
    settings = Settings(
        dataset="synthetic", num_examples=256, train_steps=3, batch_size=16, out=out_dir
    )
    result = main(settings)
    assert result.overlap  # every training step was running at one same moment
    assert result.claim.held
    assert set(result.accuracy) == {"cnn", "dropout", "batch_norm"}
    ranked = sorted(result.accuracy, key=result.accuracy.get, reverse=True)
    assert sorted(result.members) == sorted(ranked[:2])
    assert any(p.endswith("timeline.png") for p in result.paths)
    # Every figure again from the files the steps wrote: the test labels and each model's logits.
    folder = Path(out_dir, "ch05", "fan-in-fan-out")
    labels = np.load(folder / "data.npz")["y_test"]
    logits = {m: np.load(folder / f"logits-{m}.npy") for m in result.accuracy}
    for model, values in logits.items():
        assert result.accuracy[model] == float(np.mean(values.argmax(1) == labels))
    mean = sum(softmax(logits[m]) for m in result.members) / len(result.members)
    assert result.ensemble_accuracy == pytest.approx(float(np.mean(mean.argmax(1) == labels)))


def softmax(logits):
    exp = np.exp(logits - logits.max(1, keepdims=True))
    return exp / exp.sum(1, keepdims=True)


def test_bad_flags_are_one_line_errors():
    proc = run_module("chapters.ch05_workflows.fan_in_fan_out", "--top", "5")
    assert_one_line_error(proc, "--top")
