"""The metadata store behind ``metadata.py`` (chapter 6, section 6.3): MLflow tracking.

One MLflow experiment holds the pipeline. Each pipeline *attempt* is an MLflow run tagged with its
pipeline id; each step is a child run (``mlflow.parentRunId``) whose record holds:

* status (RUNNING -> FINISHED or FAILED), start and end time (MLflow's own fields);
* inputs: the outputs of earlier steps it used, as ``dmlp.in.<name>`` tags (run ids included);
* parameters: MLflow params;
* outputs and artifact locations: ``dmlp.out.<name>`` tags, artifacts in the run's artifact store;
* metrics (with their step number) and, on failure, ``dmlp.error`` and ``dmlp.error_type``.

The store is a local file store under ``--out`` (``MLFLOW_ALLOW_FILE_STORE=true``, set here: the
``mlflow-skinny`` package has no SQL back end). In a cluster it sits on the PVC; pointing
``tracking_uri`` at an MLflow server changes nothing else. The model in service is named by one
small file, ``serving/current.json``, that only the ``publish`` step rewrites (atomically).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

EXPERIMENT = "dmlp-ch06-pipeline"
PARENT = "mlflow.parentRunId"


class StepFailed(RuntimeError):
    """A pipeline step raised: names the step, its run in the store and the cause."""

    def __init__(self, step: str, run: str, cause: BaseException):
        self.step, self.run, self.cause = step, run, cause
        super().__init__(f"step {step!r} failed (run {run[:8]}): {type(cause).__name__}: {cause}")


class PipelineFailed(RuntimeError):
    """The pipeline stopped at a failed step (``--mode once`` exits with it)."""


@dataclass
class StepResult:
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, Path] = field(default_factory=dict)  # output name -> local file


@dataclass
class StepContext:
    """What a step function sees: its inputs and params, a scratch dir, and live recording."""

    store: Store
    run: str
    inputs: dict
    params: dict
    scratch: Path
    log: Callable[[str], None] = print

    def record(self, key: str, value) -> None:
        """Record an output now (kept even if the step fails later)."""
        self.store.client.set_tag(self.run, f"dmlp.out.{key}", str(value))

    def metric(self, key: str, value: float, step: int = 0) -> None:
        self.store.client.log_metric(self.run, key, float(value), step=step)


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)


class Store:
    """Pipeline metadata in MLflow tracking, plus the serving pointer."""

    def __init__(self, out: str | os.PathLike, verbose: bool = False):
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        if not verbose:
            logging.getLogger("mlflow").setLevel(logging.ERROR)
        from mlflow.tracking import MlflowClient

        self.out = Path(out).resolve()
        self.uri = (self.out / "mlruns").as_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(EXPERIMENT)
        self.experiment = (
            found.experiment_id if found else self.client.create_experiment(EXPERIMENT)
        )
        self.serving_file = self.out / "serving" / "current.json"
        self.checkpoints = self.out / "checkpoints"

    # ------------------------------------------------------------------ pipeline attempts

    def start_pipeline(self, pipeline: str, params: dict, resumes: str | None = None) -> str:
        attempts = self._search(
            f"tags.`dmlp.pipeline` = '{pipeline}' and tags.`dmlp.kind` = 'pipeline'"
        )
        tags = {
            "dmlp.kind": "pipeline",
            "dmlp.pipeline": pipeline,
            "dmlp.attempt": str(len(attempts) + 1),
            "dmlp.params": json.dumps(params, sort_keys=True),
        }
        if resumes:
            tags["dmlp.resumes"] = resumes
        run = self.client.create_run(self.experiment, tags=tags, run_name=f"pipeline-{pipeline}")
        return run.info.run_id

    def end_pipeline(self, attempt: str, error: BaseException | None = None) -> None:
        if error is not None:
            self.client.set_tag(attempt, "dmlp.error", str(error))
        self.client.set_terminated(attempt, "FAILED" if error else "FINISHED")

    def note_reuse(self, attempt: str, step: str, run: str) -> None:
        self.client.set_tag(attempt, f"dmlp.reused.{step}", run)

    def last_failed_pipeline(self) -> dict | None:
        """The most recent pipeline attempt, if it failed: its id, attempt run and params."""
        latest = self._search("tags.`dmlp.kind` = 'pipeline'", max_results=1)
        if not latest or latest[0].info.status != "FAILED":
            return None
        tags = latest[0].data.tags
        return {
            "pipeline": tags["dmlp.pipeline"],
            "attempt": latest[0].info.run_id,
            "params": json.loads(tags["dmlp.params"]),
        }

    def finished_steps(self, pipeline: str) -> dict[str, dict]:
        """Outputs of every step of ``pipeline`` that FINISHED in some attempt, from the store."""
        done: dict[str, dict] = {}
        query = (
            f"tags.`dmlp.pipeline` = '{pipeline}' and tags.`dmlp.kind` = 'step' "
            "and attributes.status = 'FINISHED'"
        )
        for run in reversed(self._search(query)):  # oldest first: the latest wins
            tags = run.data.tags
            outputs = {
                k[len("dmlp.out.") :]: v for k, v in tags.items() if k.startswith("dmlp.out.")
            }
            done[tags["dmlp.step"]] = {**outputs, f"{tags['dmlp.step']}_run": run.info.run_id}
        return done

    # ------------------------------------------------------------------ steps

    def start_step(self, attempt: str, step: str, inputs: dict, params: dict) -> str:
        parent = self.client.get_run(attempt).data.tags
        tags = {
            PARENT: attempt,
            "dmlp.kind": "step",
            "dmlp.step": step,
            "dmlp.pipeline": parent["dmlp.pipeline"],
            **{f"dmlp.in.{k}": str(v) for k, v in inputs.items()},
        }
        run = self.client.create_run(self.experiment, tags=tags, run_name=step)
        for key, value in params.items():
            self.client.log_param(run.info.run_id, key, value)
        return run.info.run_id

    def context(self, run: str, inputs: dict, params: dict, log=print) -> StepContext:
        scratch = Path(tempfile.mkdtemp(prefix="dmlp-step-"))
        return StepContext(self, run, inputs, params, scratch, log)

    def end_step(
        self, run: str, result: StepResult | None = None, error: BaseException | None = None
    ) -> None:
        if error is not None:
            self.client.set_tag(run, "dmlp.error", f"{type(error).__name__}: {error}")
            self.client.set_tag(run, "dmlp.error_type", type(error).__name__)
            self.client.set_terminated(run, "FAILED")
            return
        artifact_root = local_path(self.client.get_run(run).info.artifact_uri)
        for name, path in result.artifacts.items():
            self.client.log_artifact(run, str(path), artifact_path=name)
            stored = artifact_root / name / Path(path).name
            result.outputs[f"{name}_uri"] = str(stored)
            result.outputs[f"{name}_sha256"] = sha256(stored)
        for key, value in result.outputs.items():  # the artifacts' uri and digest among them
            self.client.set_tag(run, f"dmlp.out.{key}", str(value))
        for key, value in result.metrics.items():
            self.client.log_metric(run, key, float(value))
        self.client.set_terminated(run, "FINISHED")

    def steps_of(self, attempt: str, records: list[dict]) -> list[dict]:
        """Rows for the report: each step of an attempt as the store has it."""
        number = self.client.get_run(attempt).data.tags["dmlp.attempt"]
        children = {
            r.data.tags["dmlp.step"]: r for r in self._search(f"tags.`{PARENT}` = '{attempt}'")
        }
        rows = []
        for record in records:
            run = children.get(record["step"])
            if run is None:  # reused: the run of an earlier attempt
                source = record[record["step"] + "_run"][:8]
                rows.append({"attempt": number, "step": record["step"], "status": "REUSED",
                             "seconds": 0.0, "note": f"outputs of run {source}"})  # fmt: skip
                continue
            info, data = run.info, run.data
            seconds = ((info.end_time or info.start_time) - info.start_time) / 1000
            note = data.tags.get("dmlp.error") or ", ".join(
                f"{k}={v:.4g}" for k, v in sorted(data.metrics.items()) if k != "loss"
            )
            rows.append({"attempt": number, "step": record["step"], "status": info.status,
                         "seconds": seconds, "note": note[:70]})  # fmt: skip
        return rows

    def runs_of_step(self, pipeline: str, step: str) -> list:
        """Every run of one step of one pipeline, oldest first (to check what was re-run)."""
        query = f"tags.`dmlp.pipeline` = '{pipeline}' and tags.`dmlp.step` = '{step}'"
        return list(reversed(self._search(query)))

    def _search(self, query: str, max_results: int = 1000) -> list:
        return self.client.search_runs(
            [self.experiment],
            query,
            max_results=max_results,
            order_by=["attributes.start_time DESC"],
        )

    # ------------------------------------------------------------------ serving and lineage

    def serve(self, record: dict) -> None:
        """Point serving at a model: write the pointer file atomically (only ``publish`` calls)."""
        self.serving_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.serving_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
        os.replace(tmp, self.serving_file)

    def served(self) -> dict | None:
        """The pointer, with the digest of the model file it names (checked now)."""
        if not self.serving_file.exists():
            return None
        record = json.loads(self.serving_file.read_text())
        return {**record, "file_sha256": sha256(record["model_uri"])}

    def lineage(self) -> dict | None:
        """Which data and parameters produced the served model, answered from the store."""
        served = self.served()
        if served is None:
            return None
        publish = self.client.get_run(served["publish_run"]).data.tags
        train = self.client.get_run(publish["dmlp.in.train_run"])
        ingest = self.client.get_run(train.data.tags["dmlp.in.ingest_run"])
        return {
            "model_sha256": train.data.tags["dmlp.out.model_sha256"],
            "model_uri": train.data.tags["dmlp.out.model_uri"],
            "train_run": train.info.run_id,
            "train_params": dict(sorted(train.data.params.items())),
            "ingest_run": ingest.info.run_id,
            "data_uri": ingest.data.tags["dmlp.out.data_uri"],
            "data_sha256": ingest.data.tags["dmlp.out.data_sha256"],
            "data_params": dict(sorted(ingest.data.params.items())),
            "pipeline": train.data.tags["dmlp.pipeline"],
            "served_since": served["published_at"],
        }

    def now(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
