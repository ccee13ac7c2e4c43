"""Section 5.2: three training steps fan out in parallel and fan in to a top-2 ensemble."""

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
    assert 0.0 <= result.ensemble_accuracy <= 1.0
    assert any(p.endswith("timeline.png") for p in result.paths)


def test_bad_flags_are_one_line_errors():
    proc = run_module("chapters.ch05_workflows.fan_in_fan_out", "--top", "5")
    assert_one_line_error(proc, "--top")
