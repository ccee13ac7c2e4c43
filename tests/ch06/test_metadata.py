"""ch06 metadata: a run that fails in training resumes from the store without re-running finished
steps; the model in service is unchanged by the failure; the lineage query names the right run,
data and parameters. Everything is read back from the MLflow store, not from returned objects."""

from __future__ import annotations

import pytest

from chapters.ch06_operations import metadata as md
from chapters.ch06_operations.metadata_store import PipelineFailed, Store, sha256
from dmlp.example.errors import UsageError
from tests.conftest import assert_one_line_error, run_module

SMALL = dict(
    dataset="synthetic",
    num_examples=256,
    train_steps=8,
    batch_size=16,
    checkpoint_every=3,
    fail_at_step=7,  # after the checkpoint at step 6
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("metadata")
    return md.main(md.Settings(out=str(out), **SMALL)), Store(out)


def test_the_failed_run_is_reported_with_its_cause(demo):
    result, store = demo
    failed = result.runs[1]
    assert "injected failure at training step 7" in failed["error"]
    assert "'train'" in failed["error"]
    attempt = store.client.get_run(failed["attempt"])
    assert attempt.info.status == "FAILED"
    assert "injected failure at training step 7" in attempt.data.tags["dmlp.error"]
    train = store.runs_of_step(failed["pipeline"], "train")[0]
    assert train.info.status == "FAILED"
    assert train.data.tags["dmlp.error_type"] == "RuntimeError"
    assert train.info.end_time >= train.info.start_time
    # what was saved before the failure is recorded: the checkpoint at step 6
    history = store.client.get_metric_history(train.info.run_id, "checkpoint_step")
    assert [m.value for m in history] == [3, 6]


def test_resume_skips_finished_steps_and_continues_from_the_checkpoint(demo):
    result, store = demo
    pipeline = result.runs[1]["pipeline"]
    assert result.runs[2]["pipeline"] == pipeline and result.runs[2]["error"] is None
    ingest = store.runs_of_step(pipeline, "ingest")
    assert len(ingest) == 1 and ingest[0].info.status == "FINISHED"  # ran once, not twice
    train = store.runs_of_step(pipeline, "train")
    assert [r.info.status for r in train] == ["FAILED", "FINISHED"]
    resumed = train[1]
    assert resumed.data.tags["dmlp.out.resumed_from_step"] == "6"
    assert resumed.data.metrics["steps_this_attempt"] == 2  # steps 7 and 8 only
    # the resumed training read the data the first attempt's ingest recorded
    assert resumed.data.tags["dmlp.in.ingest_run"] == ingest[0].info.run_id
    attempt = store.client.get_run(result.runs[2]["attempt"]).data.tags
    assert attempt["dmlp.reused.ingest"] == ingest[0].info.run_id
    assert attempt["dmlp.resumes"] == result.runs[1]["attempt"]
    for step in ("evaluate", "publish"):
        assert [r.info.status for r in store.runs_of_step(pipeline, step)] == ["FINISHED"]


def test_the_model_in_service_is_unchanged_by_the_failure(demo):
    result, _store = demo
    before, after_failure, now = result.served_before, result.served_after_failure, result.served
    assert before is not None
    assert after_failure == before  # same pointer, same file digest
    assert before["file_sha256"] == before["model_sha256"]
    assert now["model_sha256"] != before["model_sha256"]  # publish of the resumed run replaced it
    assert now["file_sha256"] == now["model_sha256"]


def test_lineage_names_the_run_data_and_parameters_of_the_served_model(demo):
    result, store = demo
    lineage = store.lineage()
    pipeline = result.runs[2]["pipeline"]
    train = store.runs_of_step(pipeline, "train")[-1]
    ingest = store.runs_of_step(pipeline, "ingest")[0]
    assert lineage["train_run"] == train.info.run_id
    assert lineage["ingest_run"] == ingest.info.run_id
    assert lineage["model_sha256"] == sha256(lineage["model_uri"]) == result.served["model_sha256"]
    assert lineage["data_sha256"] == sha256(lineage["data_uri"])
    assert lineage["train_params"]["train_steps"] == "8"
    assert lineage["data_params"] == {"dataset": "synthetic", "num_examples": "256", "seed": "42"}


def test_once_mode_fails_then_resumes(tmp_path):
    settings = md.Settings(out=str(tmp_path), mode="once", **SMALL)
    with pytest.raises(PipelineFailed, match="injected failure"):
        md.main(settings)
    assert Store(tmp_path).served() is None  # nothing was ever published
    result = md.main(settings.replace(fail_at_step=0))
    assert result.runs[0]["error"] is None
    statuses = [s["status"] for s in result.runs[0]["steps"]]
    assert statuses == ["REUSED", "FINISHED", "FINISHED", "FINISHED"]
    assert result.served is not None
    # the claim reads the store, not the absence of an exception
    assert result.claim.held and result.claim.figures["recorded"] == dict(
        zip(md.STEPS, statuses, strict=True)
    )


def test_settings_reject_a_failure_after_the_last_step():
    with pytest.raises(UsageError, match="--fail-at-step"):
        md.Settings(train_steps=10, fail_at_step=11)


def test_bad_flags_are_one_line_errors(tmp_path):
    proc = run_module(
        "chapters.ch06_operations.metadata", "--fail-at-step", "99", "--out", str(tmp_path)
    )
    assert_one_line_error(proc, "--fail-at-step")


def test_the_printed_claim_is_the_returned_one_and_held(demo):
    result, _store = demo
    assert result.claim.held
    assert result.claim.figures["served_unchanged"] is True
    assert "ingest" in result.claim.figures["reused_steps"]
    assert result.claim.figures["resumed_at_step"] > 0
