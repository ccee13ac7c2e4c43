"""``make demo --quick`` end to end (9.4): three typed models, a winner, served with its answers,
and a second run's ingestion is a cache hit."""

import json
from pathlib import Path

import pytest

from chapters.project import config, demo, workflow
from dmlp import argo as runner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "project"
    settings = demo.Settings(out=str(out), quick=True, dataset="synthetic", num_samples=6)
    return settings, demo.main(settings)


def test_the_demo_trains_three_models_each_really_its_type(run):
    _settings, result = run
    assert list(result.models) == ["cnn", "dropout", "batch_norm"]
    for name, model in result.models.items():
        assert model["error"] is None and model["saved_type"] == name  # read from the SavedModel
        assert model["workers"] == 2
    folders = {Path(m["saved_model"]).parents[1] for m in result.models.values()}
    assert len(folders) == 3  # its own checkpoint and model directory each
    assert all(any((f / "checkpoints").iterdir()) for f in folders)


def test_the_winner_is_served_and_answers_with_its_own_predictions(run):
    settings, result = run
    from chapters.common.data import load_fashion_mnist
    from chapters.common.export import load_serving_function

    assert result.winner in result.models and result.served_matches_winner
    served = Path(result.served_version)
    assert served == config.served_dir(Path(settings.out).resolve()) / "1"
    winner = Path(result.models[result.winner]["saved_model"])
    images = load_fashion_mnist("test", "synthetic", None, 6, settings.seed).images
    expected = load_serving_function(winner)(images)["class_id"].tolist()
    assert result.samples["replicated"] == expected
    assert len(set(result.samples["served_by"])) == 2  # both replicas answered


def test_the_report_has_steps_times_a_picture_and_a_json_summary(run):
    settings, result = run
    assert result.ingest == "miss" and not result.ingest_untouched  # a miss writes the data
    assert result.parallel  # the three training steps' intervals overlap in the runner's records
    assert {"fingerprint", "ingest", "select", "serve"} <= set(result.steps)
    assert sum(name.startswith("train(") for name in result.steps) == 3
    out = Path(settings.out).resolve()
    assert (out / "project.png").stat().st_size > 10_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["winner"] == result.winner and set(summary["models"]) == set(result.models)


def test_a_second_run_skips_ingestion(run):
    """The demo's own ingestion templates and cache, again: a hit, and no new files written."""
    settings, _result = run
    out = Path(settings.out).resolve()
    laptop = workflow.for_laptop()
    dag = next(t for t in laptop["spec"]["templates"] if t["name"] == "pipeline")
    dag["dag"]["tasks"] = [t for t in dag["dag"]["tasks"] if t["name"] in ("fingerprint", "ingest")]
    arguments = workflow.arguments(settings, data_root=str(out.parent), run_dir=out.name)
    data = next((out / "data").iterdir())
    before = data.stat().st_mtime_ns
    again = runner.run(laptop, arguments, cache_dir=out / "cache", quiet=True)
    again.raise_for_status()
    assert again.node("ingest").cache == "hit"
    assert data.stat().st_mtime_ns == before


def test_selection_skips_a_missing_and_a_mislabelled_model_and_serves_the_next_version(
    run, tmp_path
):
    """The workflow's selection step on a copy of the demo's folder, with two candidates broken."""
    import shutil

    from chapters.project.model_selection import select_and_publish

    settings, _result = run
    out = tmp_path / "project"
    shutil.copytree(Path(settings.out).resolve(), out)
    shutil.rmtree(config.model_dir(out, "dropout") / "saved_model")  # a job that never exported
    wrong = config.saved_model_dir(out, "batch_norm")
    shutil.rmtree(wrong)
    shutil.copytree(config.saved_model_dir(out, "cnn"), wrong)  # not batch_norm
    summary = select_and_publish(str(out), str(next((out / "data").iterdir())))
    choice = summary["choice"]
    assert choice["winner"] == "cnn" and choice["ranking"] == ["cnn"]
    assert "no SavedModel" in choice["skipped"]["dropout"]
    assert choice["skipped"]["batch_norm"] == "the SavedModel is a cnn model"
    assert Path(summary["served_version"]) == config.served_dir(out) / "2"
