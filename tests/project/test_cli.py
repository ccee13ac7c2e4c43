"""Bad input to the project's commands is one clear line, never a traceback."""

import pytest

from tests.conftest import assert_one_line_error, run_module


@pytest.mark.parametrize(
    ("module", "args", "needle"),
    [
        ("chapters.project.demo", ["--quick", "--full"], "--quick and --full"),
        ("chapters.project.demo", ["--num-workers", "3", "--num-files", "2"], "--num-files"),
        ("chapters.project.demo", ["--num-examples", "59000", "--num-validation", "2000"],
         "at most 60000"),
        ("chapters.project.model_training", ["--model-type", "resnet"], "--model-type"),
        ("chapters.project.inference", ["--num-samples", "0"], "--num-samples"),
    ],
)  # fmt: skip
def test_bad_flags_are_one_line_errors(module, args, needle):
    assert_one_line_error(run_module(module, *args, timeout=120), needle)


def test_serving_before_selection_names_what_to_run_first(tmp_path):
    proc = run_module("chapters.project.inference", "--out", str(tmp_path), "--dataset",
                      "synthetic", timeout=120)  # fmt: skip
    assert_one_line_error(proc, "no served model", "model selection")


def test_selection_before_training_names_what_to_run_first(tmp_path):
    proc = run_module("chapters.project.model_selection", "--out", str(tmp_path), "--quick",
                      "--dataset", "synthetic", timeout=120)  # fmt: skip
    assert_one_line_error(proc, "no ingested data", "model_training")


@pytest.mark.parametrize("module", ["demo", "data_pipeline", "model_training",
                                    "model_selection", "inference", "manifests"])  # fmt: skip
def test_help(module):
    proc = run_module(f"chapters.project.{module}", "--help", timeout=120)
    assert proc.returncode == 0 and "--verbose" in proc.stdout, proc.stderr
