"""The steps that do the work: script and container steps, and TFJob resource steps.

A script or container step is one process (the Python of this environment stands in for the
image's), started in the repository root, with the pod's paths moved under the step's own folder
(:mod:`dmlp.argo.artifacts`); its stdout becomes ``outputs.result``. A TFJob resource step is a
:class:`~dmlp.launch.tfcluster.LocalCluster` of the job's replicas; it succeeds when every task
exits 0 (its ``successCondition``/``failureCondition`` are not evaluated, and its note says so;
one without ``successCondition`` (Argo does not wait for the job) or ``failureCondition`` (Argo
waits for ever once a worker fails) is refused before the run).
Every process is started, and killed on timeout or cancellation, through
:mod:`dmlp.launch.supervisor`; a long step prints a "running" line every :data:`HEARTBEAT` s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

import dmlp
from dmlp.argo import artifacts, expr, pods
from dmlp.argo.records import NodeRecord
from dmlp.example.errors import UsageError
from dmlp.launch import supervisor
from dmlp.launch.supervisor import ClusterTimeout, TaskFailed
from dmlp.launch.tfcluster import LocalCluster, cluster_spec

# The project image's working directory: the repository root, where both dmlp and chapters live.
PROJECT_ROOT = Path(dmlp.__file__).resolve().parents[1]
SHOWN_WARNINGS: set[str] = set()
HEARTBEAT = 10.0  # seconds between "still running" lines of a long step
RESULT_LIMIT = 256 * 1024  # Argo keeps the last 256 kB of stdout as outputs.result


class Leaves:
    """Runs the leaf steps of one workflow run under ``work_dir``; :meth:`stop_all` ends them.

    A step may run ``step_timeout`` seconds if given (less if its template says so). ``cancel``
    is the run's: once set, a running step is killed and reported cancelled.
    """

    def __init__(
        self, work_dir: Path, step_timeout: float | None, log, echo: bool, cancel: threading.Event
    ):
        self.work_dir, self.step_timeout = work_dir, step_timeout
        self.log, self.echo, self.cancel = log, echo, cancel
        self.lock = threading.Lock()
        self.processes: set[subprocess.Popen] = set()
        self.clusters: set[LocalCluster] = set()

    def stop_all(self) -> None:
        """Kill every step process and TFJob cluster still running.

        Call it after setting ``cancel``: processes are started, and clusters registered, under
        ``lock`` only while ``cancel`` is clear, so none starts after this has looked.
        """
        with self.lock:
            processes, clusters = list(self.processes), list(self.clusters)
        for process in processes:
            supervisor.kill(process)
        for cluster in clusters:
            cluster.stop()

    def step_seconds(self, t: dict, seconds: float | None = None) -> float | None:
        """How long a step may run: the step timeout (none by default, as on Argo), the
        template's activeDeadlineSeconds, or ``seconds`` (what a retry's backoff.maxDuration
        leaves), whichever is shortest; ``None`` without any."""
        limits = [self.step_timeout, seconds, t.get("activeDeadlineSeconds")]
        return min((float(x) for x in limits if x is not None), default=None)

    # -------------------------------------------------------------------- script, container

    def run_process(self, t, kind, record: NodeRecord, scope, attempt: int, seconds=None):
        """``(phase, message, outputs)`` of one attempt of a script or container step."""
        node_dir = self.work_dir / _safe(record.id) / f"attempt-{attempt}"
        shutil.rmtree(node_dir, ignore_errors=True)  # a reused work dir: no stale outputs
        fs = node_dir / "fs"
        fs.mkdir(parents=True, exist_ok=True)

        def local(path: str) -> str:
            return str(fs / path.lstrip("/"))

        container = t[kind]
        declared = artifacts.declared_paths(t)
        for path in declared:  # the folders a pod would have (/tmp, the volume mounts)
            Path(local(path)).parent.mkdir(parents=True, exist_ok=True)
        scope = dict(scope)
        for a in (t.get("inputs") or {}).get("artifacts") or []:
            scope[f"inputs.artifacts.{a['name']}.path"] = artifacts.artifact_path(a)
        scope.update(artifacts.output_paths(t))
        moved = artifacts.mover(declared, local)

        def resolve(text: str) -> str:
            return moved(expr.substitute(text, scope))

        try:
            artifacts.stage_inputs(t, scope, local)
            command = [resolve(str(c)) for c in container.get("command") or []]
            args = [resolve(str(a)) for a in container.get("args") or []]
            env = {e["name"]: resolve(str(e.get("value", ""))) for e in container.get("env") or []}
            source = resolve(str(container.get("source", ""))) if kind == "script" else None
        except (expr.MissingVariable, expr.ExpressionError, UsageError) as err:
            return "Error", str(err), {}
        line = [sys.executable, *command[1:], *args]
        if kind == "script":
            script = node_dir / "script"
            script.write_text(source)
            line.append(str(script))
            if "hera.workflows.runner" in line:  # Hera's runner, its pod paths moved here
                line[line.index("hera.workflows.runner")] = "dmlp.argo.hera_local"
        outputs_dir = env.get("hera__outputs_directory", "/tmp/hera-outputs")
        env["hera__outputs_directory"] = (
            local(outputs_dir) if outputs_dir.startswith("/") else outputs_dir
        )
        env["DMLP_FS_ROOT"] = str(fs)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        timeout = self.step_seconds(t, seconds)
        code, stdout, stderr = self.spawn(line, {**os.environ, **env}, node_dir, timeout, record)
        # CaptureScriptResult (workflow/executor/executor.go): one trailing newline off, then the
        # last 256 kB; empty output is the result "".
        result = artifacts.trim_newline(stdout)[-RESULT_LIMIT:]
        outputs: dict[str, Any] = {"exitCode": str(code), "result": result}
        if code is None:
            why = "cancelled" if self.cancel.is_set() else f"timed out after {timeout:.0f}s"
            return "Failed", f"{why} (killed){_tail(stderr)}", outputs
        if code != 0:
            return "Failed", f"exit code {code}{_tail(stderr or stdout)}", outputs
        try:
            outputs.update(artifacts.collect_outputs(t, local))
        except UsageError as err:
            return "Error", str(err), outputs
        return "Succeeded", "", outputs

    def spawn(self, line, env, cwd: Path, timeout: float | None, record: NodeRecord):
        """Run one step's process; ``(exit code or None on timeout, stdout, stderr)``."""
        stdout_path, stderr_path = cwd / "stdout", cwd / "stderr"
        with open(stdout_path, "w") as out, open(stderr_path, "w") as err:
            with self.lock:  # stop_all() either sees this process or it never starts
                if self.cancel.is_set():
                    return None, "", ""
                process = supervisor.start(
                    line,
                    cwd=str(PROJECT_ROOT),
                    env=env,
                    stdout=out,
                    stderr=err,
                    stdin=subprocess.DEVNULL,
                )
                self.processes.add(process)
            try:
                begun = time.monotonic()
                deadline = begun + timeout if timeout is not None else float("inf")
                heartbeat = begun + HEARTBEAT
                code = None
                while True:
                    code = process.poll()
                    if code is not None:
                        break
                    if time.monotonic() > heartbeat:  # a line every few seconds, not silence
                        heartbeat += HEARTBEAT
                        self.log(f"running    {record.id}  {time.monotonic() - begun:.0f}s")
                    if time.monotonic() > deadline or self.cancel.is_set():
                        supervisor.kill(process)
                        code = None
                        break
                    time.sleep(0.02)
            finally:
                with self.lock:
                    self.processes.discard(process)
                if process.poll() is None:
                    supervisor.kill(process)
        stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
        for text in stderr.splitlines():
            if self.echo:
                print(f"[{record.name}] {text}", flush=True)
            elif text.startswith("WARNING: ") and text not in SHOWN_WARNINGS:
                SHOWN_WARNINGS.add(text)  # our own warnings reach the reader, once per command
                print(text, file=sys.stderr, flush=True)
        return code, stdout, stderr

    # -------------------------------------------------------------------- TFJob

    def run_resource(self, t, record: NodeRecord, scope, seconds=None):
        """``(phase, message, outputs)`` of a TFJob resource step: its replicas, run locally."""
        resource = t["resource"]
        try:
            manifest = yaml.safe_load(expr.substitute(resource["manifest"], scope))
        except (expr.MissingVariable, yaml.YAMLError) as err:
            return "Error", f"manifest: {err}", {}
        replicas = manifest["spec"]["tfReplicaSpecs"]
        counts = {k: int(v.get("replicas", 1)) for k, v in replicas.items()}
        container = replicas["Worker"]["template"]["spec"]["containers"][0]
        line = list(container.get("command") or []) + list(container.get("args") or [])
        module = pods.project_module(line)
        cluster = cluster_spec(
            num_workers=counts.get("Worker", 1),
            num_ps=counts.get("PS", 0),
            chief=bool(counts.get("Chief")),
        )
        timeout = self.step_seconds(t, seconds)
        group = LocalCluster(cluster, module, line[3:], echo=self.echo)
        with self.lock:
            if self.cancel.is_set():
                return "Failed", "cancelled", {}
            self.clusters.add(group)
        try:
            with group:
                group.wait(timeout=timeout if timeout is not None else float("inf"))
        except TaskFailed as err:
            return "Failed", f"TFJob task {err.task} exited with code {err.code}", {}
        except ClusterTimeout as err:
            return "Failed", str(err), {}
        finally:
            with self.lock:
                self.clusters.discard(group)
        # Only the processes were checked: there is no TFJob object here whose status a
        # successCondition or failureCondition could read, so neither is evaluated.
        unread = [c for c in ("successCondition", "failureCondition") if c in resource]
        note = f" ({' and '.join(unread)} not evaluated locally)" if unread else ""
        return "Succeeded", f"every task exited 0{note}", {}


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f": {lines[-1].strip()[:300]}" if lines else ""


def _safe(node_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in node_id)[:200]
