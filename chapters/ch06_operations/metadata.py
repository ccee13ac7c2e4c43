"""Chapter 6, section 6.3 "Metadata pattern": record every step, and handle failures appropriately.

Claim: because every step of the pipeline (ingest -> train -> evaluate -> publish) records its
status, start and end, inputs, parameters, artifact locations, metrics and error in a metadata
store (MLflow tracking), a run whose training fails part-way is resumed from the last good step
in the store (finished steps are not re-run, training continues from its checkpoint), the failure
is reported with its cause, the model in service stays in service until ``publish`` replaces it,
and "which data and parameters produced the served model?" is a query on the store.

The demo runs the pipeline three times: a first run whose model goes into service, a run with
new parameters whose training fails at ``--fail-at-step``, and its resumption from the store.
``--mode once`` runs the pipeline once: it resumes the last failed run if there is one.

Run: python -m chapters.ch06_operations.metadata [--fail-at-step 50] [--mode demo|once]
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid

from chapters.ch06_operations import pipeline_steps as steps
from chapters.ch06_operations.metadata_store import PipelineFailed, StepFailed, Store
from chapters.common.flags import DataSettings
from chapters.common.models import MODEL_TYPES
from dmlp.example import cli
from dmlp.example import report as claims_report
from dmlp.example.settings import option

STEPS = {
    "ingest": steps.ingest,
    "train": steps.train,
    "evaluate": steps.evaluate,
    "publish": steps.publish,
}


def run_step(store: Store, attempt: str, name: str, inputs: dict, params: dict, log=print) -> dict:
    """Run one step as an MLflow run under the pipeline attempt and record all it did."""
    recorded = {k: params[k] for k in steps.PARAMS[name]}
    run = store.start_step(attempt, name, inputs, recorded)  # RUNNING, start time, inputs, params
    ctx = store.context(run, inputs, params, log)
    try:
        result = STEPS[name](ctx)
    except Exception as err:
        store.end_step(run, error=err)  # status FAILED, end time, the error and its cause
        raise StepFailed(name, run, err) from err
    else:
        store.end_step(run, result)  # status FINISHED, end time, outputs, metrics, artifacts
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)
    return {**result.outputs, f"{name}_run": run}


def run_pipeline(
    store: Store, params: dict, resume: bool = True, fail_at_step: int = 0, log=print
) -> dict:
    """Run ingest -> train -> evaluate -> publish, resuming the last failed pipeline if asked.

    A resumed attempt takes the outputs of the steps that already FINISHED from the store
    instead of running them again; the training step finds its checkpoint there too.
    ``fail_at_step`` injects a crash into this attempt's training (it is not a parameter of the
    model, so it is not part of the pipeline's recorded parameters).
    """
    failed = store.last_failed_pipeline() if resume else None
    pipeline = failed["pipeline"] if failed else uuid.uuid4().hex[:8]
    params = failed["params"] if failed else params
    attempt = store.start_pipeline(pipeline, params, resumes=failed and failed["attempt"])
    if fail_at_step:
        store.client.set_tag(attempt, "dmlp.injected_failure_at_step", str(fail_at_step))
    finished = store.finished_steps(pipeline)  # step name -> outputs recorded in the store
    record = {"pipeline": pipeline, "attempt": attempt, "steps": [], "error": None}
    outputs: dict = {}
    try:
        for name in STEPS:
            if name in finished:
                outputs.update(finished[name])
                store.note_reuse(attempt, name, finished[name][f"{name}_run"])
                record["steps"].append({"step": name, "status": "REUSED", **finished[name]})
                log(f"{pipeline} {name}: finished in an earlier attempt, taken from the store")
                continue
            log(f"{pipeline} {name}: running")
            attempt_params = {**params, "fail_at_step": fail_at_step}
            outputs.update(run_step(store, attempt, name, dict(outputs), attempt_params, log))
            record["steps"].append({"step": name, "status": "FINISHED"})
    except StepFailed as failure:
        record["steps"].append({"step": failure.step, "status": "FAILED"})
        record["error"] = str(failure)
        store.end_pipeline(attempt, error=failure)
        log(f"{pipeline} FAILED: {failure}")
        return record
    store.end_pipeline(attempt)
    record["outputs"] = outputs
    return record


@dataclasses.dataclass(frozen=True)
class Settings(DataSettings):
    out: str = option("out/ch06_metadata", "directory for the MLflow store, checkpoints, serving")
    num_examples: int | None = option(2000, "training examples (test: a quarter)", minimum=8)
    model_type: str = option("cnn", "which of the book's models", choices=MODEL_TYPES)
    train_steps: int = option(80, "training steps of the new model", minimum=2)
    batch_size: int = option(64, "examples per training step", minimum=1)
    learning_rate: float = option(5e-3, "learning rate of the new model", minimum=1e-6)
    checkpoint_every: int = option(10, "steps between training checkpoints", minimum=1)
    fail_at_step: int = option(50, "inject a training failure at this step (0: none)", minimum=0)
    min_accuracy: float = option(0.0, "publish only models at least this accurate", maximum=1)
    mode: str = option("demo", "demo: three runs; once: one run (resumes a failed one)",
                       choices=("demo", "once"))  # fmt: skip

    def check(self) -> None:
        if self.fail_at_step > self.train_steps:
            raise cli.UsageError("--fail-at-step must be at most --train-steps (or 0 for none)")


@dataclasses.dataclass
class Result:
    runs: list[dict]
    served_before: dict | None
    served_after_failure: dict | None
    served: dict | None
    lineage: dict | None
    store: str
    claim: claims_report.Claim | None = None


def main(settings: Settings) -> Result:
    log = cli.Progress("ch06.metadata")
    store = Store(settings.out, verbose=settings.verbose)
    new = steps.params_from(settings)
    runs: list[dict] = []
    served_before = served_after_failure = None
    if settings.mode == "demo":
        if store.served() is None:
            log("nothing in service yet: a first pipeline run with half the training steps")
            first = {**new, "train_steps": max(1, settings.train_steps // 2)}
            runs.append(run_pipeline(store, first, resume=False, log=log))
        served_before = store.served()
        log(f"new parameters; training fails at step {settings.fail_at_step or 'never'}")
        runs.append(run_pipeline(store, new, False, settings.fail_at_step, log=log))
        served_after_failure = store.served()
        log("resuming from the store")
        runs.append(run_pipeline(store, new, log=log))
    else:
        served_before = store.served()
        runs.append(run_pipeline(store, new, fail_at_step=settings.fail_at_step, log=log))
    served = store.served()
    result = Result(runs, served_before, served_after_failure, served, store.lineage(), store.uri)
    report(settings, store, result)
    if settings.mode == "once" and runs[-1]["error"]:
        raise PipelineFailed(runs[-1]["error"])
    return result


def report(settings: Settings, store: Store, result: Result) -> None:
    rows = []
    for run in result.runs:
        for step in store.steps_of(run["attempt"], run["steps"]):
            rows.append((run["pipeline"], step["attempt"], step["step"], step["status"],
                         step["seconds"], step["note"]))  # fmt: skip
    cli.print_table(rows, ["pipeline", "attempt", "step", "status", "seconds", "recorded"],
                    title="Pipeline steps as recorded in the MLflow store")  # fmt: skip
    for run in result.runs:
        if run["error"]:
            print(f"failure reported: {run['error']}")
    lineage = result.lineage or {}
    if lineage:
        print(f"lineage of the served model {lineage['model_sha256'][:12]}: data "
              f"{lineage['data_sha256'][:12]} ({lineage['data_params']}), parameters "
              f"{lineage['train_params']}, train run {lineage['train_run']}")  # fmt: skip
    resumed = steps.resumed_from(result)
    kept = result.served_before is not None and result.served_before == result.served_after_failure
    reused = steps.reused_steps(result)
    print()
    wrote = f"{store.uri} (MLflow store), {store.serving_file} (model in service)"
    if settings.mode == "demo":
        result.claim = claims_report.finish(
            "6.3",
            f"the failed run resumed at training step {resumed} (checkpoint in the store) "
            f"without re-running {', '.join(reused) or 'any step'}; the model in service was "
            f"{'unchanged' if kept else 'CHANGED'} by the failure, and the store names the data "
            f"and parameters of the model now served.",
            bool(resumed) and bool(reused) and kept and bool(lineage), wrote=wrote,
            resumed_at_step=resumed, reused_steps=reused, served_unchanged=kept,
        )  # fmt: skip
    else:
        run = result.runs[-1]
        error = run["error"]
        # held: the run finished AND the store holds every step of it, each finished now or
        # reused from an earlier finished attempt, and names the model it put in service
        recorded = {r["step"]: r["status"] for r in store.steps_of(run["attempt"], run["steps"])}
        complete = list(recorded) == list(STEPS) and set(recorded.values()) <= {
            "FINISHED",
            "REUSED",
        }
        result.claim = claims_report.finish(
            "6.3",
            f"pipeline {run['pipeline']} {'failed: ' + error if error else 'finished'}; the store "
            f"records {', '.join(f'{k} {v}' for k, v in recorded.items()) or 'no step'}.",
            not error and complete and bool(lineage),
            wrote=wrote,
            recorded=recorded,
        )


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
