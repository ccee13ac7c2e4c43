"""Execute an Argo Workflow on this machine, node by node, as the Argo controller would.

Each ``steps`` group starts its members together and waits for all of them; a ``dag`` starts a
task as soon as what it ``depends`` on has finished. Script and container steps are subprocesses
(the Python of this environment stands in for the image's), a TFJob resource step is a
:class:`~dmlp.launch.tfcluster.LocalCluster`. Every node gets a record (phase, start, end,
attempts, outputs, cache hit) and a progress line when it starts and when it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import dmlp
from dmlp.argo import expr, spec
from dmlp.argo.cache import MemoCache
from dmlp.example.errors import UsageError

# The project image's working directory: the repository root, where both dmlp and chapters live.
PROJECT_ROOT = Path(dmlp.__file__).resolve().parents[1]
DONE = ("Succeeded", "Failed", "Error", "Skipped", "Omitted")
SHOWN_WARNINGS: set[str] = set()
HEARTBEAT = 10.0  # seconds between "still running" lines of a long step
RESULT_LIMIT = 256 * 1024  # Argo keeps the last 256 kB of stdout as outputs.result


class WorkflowFailed(RuntimeError):
    """The workflow ran and failed; the message names the failing step and its cause."""


class Cancelled(Exception):
    """The run was interrupted (Ctrl-C or another node's fatal error)."""


@dataclass
class NodeRecord:
    """One node of the run, as in Argo's ``status.nodes``: times are seconds since the start."""

    id: str
    name: str
    template: str
    type: str  # Pod, Resource, Steps, DAG, TaskGroup, Skipped
    phase: str = "Pending"
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    message: str = ""
    outputs: dict = field(default_factory=dict)
    cache: str | None = None  # "hit" / "miss" for memoized nodes
    parent: str | None = None

    @property
    def duration(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started

    @property
    def leaf(self) -> bool:
        return self.type in ("Pod", "Resource")


@dataclass
class WorkflowResult:
    """What :func:`run` returns: the phase, the nodes in start order, and where files went."""

    name: str
    phase: str
    message: str
    seconds: float
    nodes: dict[str, NodeRecord]
    work_dir: str
    outputs: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    def node(self, name: str) -> NodeRecord:
        """The node whose display name (or id) is ``name``, e.g. ``"train(0:cnn)"``."""
        for record in self.nodes.values():
            if name in (record.name, record.id):
                return record
        raise KeyError(f"no node {name!r}; nodes: {', '.join(r.name for r in self.nodes.values())}")

    def leaves(self) -> list[NodeRecord]:
        """Steps that ran (or were cache hits / skipped), in start order."""
        kinds = ("Pod", "Resource", "Skipped")
        nodes = [r for r in self.nodes.values() if r.type in kinds or r.cache == "hit"]
        return sorted(nodes, key=lambda r: (r.started is None, r.started or 0.0))

    def rows(self) -> list[tuple]:
        """``(step, template, phase, start s, end s, seconds, attempts, note)`` per leaf."""
        return [
            (
                r.name,
                r.template,
                r.phase,
                round(r.started or 0.0, 2),
                round(r.finished or 0.0, 2),
                round(r.duration, 2),
                r.attempts,
                "cache hit" if r.cache == "hit" else r.message[:60],
            )
            for r in self.leaves()
        ]

    def raise_for_status(self) -> WorkflowResult:
        if not self.succeeded:
            raise WorkflowFailed(f"workflow {self.name} {self.phase}: {self.message}")
        return self


ROW_HEADERS = ("step", "template", "phase", "start s", "end s", "seconds", "attempts", "note")


class Engine:
    """One run of one workflow; use :func:`dmlp.argo.run`."""

    def __init__(
        self,
        data: dict,
        arguments: dict[str, Any] | None,
        work_dir: Path,
        cache_dir: Path | None,
        step_timeout: float,
        log,
        echo: bool,
    ):
        self.data = data
        self.templates = spec.check(data)
        self.name = spec.workflow_name(data)
        self.work_dir, self.step_timeout, self.log, self.echo = work_dir, step_timeout, log, echo
        self.cache = MemoCache(cache_dir) if cache_dir is not None else None
        self.nodes: dict[str, NodeRecord] = {}
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.processes: set[subprocess.Popen] = set()
        self.clusters: set = set()
        self.start = time.perf_counter()
        wf_spec = data["spec"]
        limit = wf_spec.get("parallelism")
        self.pod_slots = threading.BoundedSemaphore(int(limit)) if limit else None
        self.scope = {"workflow.name": self.name, "workflow.namespace": "local"}
        declared = {p["name"]: p for p in (wf_spec.get("arguments") or {}).get("parameters") or []}
        given = {k: str(v) for k, v in (arguments or {}).items()}
        unknown = set(given) - set(declared)
        if unknown:
            raise UsageError(
                f"unknown workflow argument(s) {', '.join(sorted(unknown))}; "
                f"declared: {', '.join(declared) or '(none)'}"
            )
        for name, param in declared.items():
            value = given.get(name, param.get("value", param.get("default")))
            if value is None:
                raise UsageError(f"workflow argument {name!r} has no value")
            self.scope[f"workflow.parameters.{name}"] = str(value)
        self.deadline = wf_spec.get("activeDeadlineSeconds")

    def now(self) -> float:
        return time.perf_counter() - self.start

    # -------------------------------------------------------------------- top level

    def run(self) -> WorkflowResult:
        entry = self.data["spec"]["entrypoint"]
        timer = None
        if self.deadline:
            timer = threading.Timer(float(self.deadline), self.cancel.set)
            timer.daemon = True
            timer.start()
        try:
            root = self.execute(entry, self.name, {}, {}, None)
        except KeyboardInterrupt:
            self.cancel.set()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self.kill_all()
        message = root.message
        if root.phase != "Succeeded" and self.cancel.is_set() and self.deadline:
            message = f"activeDeadlineSeconds {self.deadline} exceeded; {message}"
        return WorkflowResult(
            self.name,
            root.phase,
            message,
            self.now(),
            dict(self.nodes),
            str(self.work_dir),
            root.outputs,
        )

    def kill_all(self) -> None:
        self.cancel.set()
        with self.lock:
            processes, clusters = list(self.processes), list(self.clusters)
        for process in processes:
            _kill(process)
        for cluster in clusters:
            cluster.stop()

    def add(self, record: NodeRecord) -> NodeRecord:
        with self.lock:
            self.nodes[record.id] = record
        return record

    def take(self, slots: threading.BoundedSemaphore | None) -> bool:
        """Wait for one of ``slots`` (none: no limit); False if the run is cancelled meanwhile."""
        if slots is None:
            return True
        while not slots.acquire(timeout=0.1):
            if self.cancel.is_set():
                return False
        return True

    def step_seconds(self, t: dict) -> float:
        """How long a step may run: the step timeout, or the template's activeDeadlineSeconds."""
        timeout = self.step_timeout
        if t.get("activeDeadlineSeconds"):
            timeout = min(timeout, float(t["activeDeadlineSeconds"]))
        return timeout

    def new_node(self, node_id, name, template, kind, parent, running=False) -> NodeRecord:
        """Record a node that starts now (``running``: a group whose children are starting)."""
        phase = "Running" if running else "Pending"
        return self.add(NodeRecord(node_id, name, template, kind, phase, self.now(), parent=parent))

    # -------------------------------------------------------------------- one template

    def execute(
        self,
        template_name: str,
        node_id: str,
        parameters: dict[str, str],
        artifacts: dict[str, str],
        parent: str | None,
        display: str | None = None,
    ) -> NodeRecord:
        t = self.templates[template_name]
        kind = next(k for k in spec.KINDS if k in t)
        node_type = {"steps": "Steps", "dag": "DAG", "resource": "Resource"}.get(kind, "Pod")
        display = display or node_id
        record = self.new_node(node_id, display, template_name, node_type, parent)
        try:
            scope = self.input_scope(t, parameters, artifacts)
        except (expr.MissingVariable, UsageError) as err:
            return self.finish(record, "Error", str(err))
        memo = t.get("memoize")
        key = None
        if memo and self.cache is not None:
            try:
                key = expr.substitute(memo["key"], scope)
                age = expr.substitute(str(memo.get("maxAge") or ""), scope)
                max_age = expr.duration(age, "memoize.maxAge") if age else None
                cached = self.cache.load(memo["cache"]["configMap"]["name"], key, max_age)
            except (expr.MissingVariable, expr.ExpressionError, UsageError) as err:
                return self.finish(record, "Error", f"memoize: {err}")
            if cached is not None:
                record.cache, record.outputs = "hit", cached
                self.log(f"cache hit  {node_id}  (key {key})")
                return self.finish(record, "Succeeded", f"memoized: key {key}", quiet=True)
            record.cache = "miss"
        retry = t.get("retryStrategy") or {}
        limit = int(retry.get("limit", 0)) if retry else 0
        backoff = retry.get("backoff") or {}
        delay = expr.duration(backoff.get("duration", 0))
        factor = float(backoff.get("factor", 1) or 1)
        max_wait = expr.duration(backoff["maxDuration"]) if "maxDuration" in backoff else None
        phase, message = "Error", ""
        for attempt in range(limit + 1):
            record.attempts = attempt + 1
            if self.cancel.is_set():
                phase, message = "Failed", "cancelled"
                break
            phase, message, outputs = self.attempt(t, kind, record, scope, attempt)
            record.outputs = outputs
            if phase == "Succeeded":
                break
            if attempt < limit:
                wait = delay * factor**attempt
                if max_wait is not None and self.now() + wait - record.started > max_wait:
                    message += f"; backoff maxDuration {backoff['maxDuration']} reached"
                    break
                self.log(
                    f"retrying  {node_id}  (attempt {attempt + 1}/{limit + 1} {phase}: "
                    f"{_short(message)}; next in {wait:.1f}s)"
                )
                if self.cancel.wait(wait):
                    break
        if phase == "Succeeded" and key is not None:
            self.cache.save(memo["cache"]["configMap"]["name"], key, node_id, record.outputs)
        if phase != "Succeeded" and limit:
            message = f"{message} (after {record.attempts} attempts)"
        return self.finish(record, phase, message, quiet=not record.leaf)

    def finish(self, record: NodeRecord, phase: str, message: str, quiet: bool = False):
        """Close a node; steps that ran (or were skipped) get a progress line."""
        record.phase, record.message, record.finished = phase, message, self.now()
        if not quiet and (record.leaf or record.type == "Skipped"):
            note = f": {_short(message)}" if message and phase != "Succeeded" else ""
            self.log(f"{phase:<10} {record.id}  {record.duration:.1f}s{note}")
        return record

    def input_scope(self, t: dict, parameters: dict, artifacts: dict) -> dict[str, str]:
        scope = dict(self.scope)
        inputs = t.get("inputs") or {}
        listed = []
        for p in inputs.get("parameters") or []:
            name = p["name"]
            if name in parameters:
                value = parameters[name]
            elif "value" in p:
                value = expr.substitute(str(p["value"]), scope)
            elif "default" in p:
                value = str(p["default"])
            else:
                raise UsageError(f"template {t['name']!r}: input parameter {name!r} has no value")
            if p.get("enum") and value not in [str(v) for v in p["enum"]]:
                raise UsageError(f"input parameter {name!r}={value!r} is not one of {p['enum']}")
            scope[f"inputs.parameters.{name}"] = value
            listed.append({"name": name, "value": value})
        scope["inputs.parameters"] = json.dumps(listed)
        for a in inputs.get("artifacts") or []:
            if a["name"] not in artifacts and not a.get("optional"):
                raise UsageError(f"template {t['name']!r}: input artifact {a['name']!r} not given")
            scope[f"inputs.artifacts.{a['name']}.path"] = a.get("path", "")
            if a["name"] in artifacts:
                scope[f"__from.{a['name']}"] = artifacts[a["name"]]
        return scope

    def attempt(self, t, kind, record, scope, attempt):
        if kind == "steps":
            return self.run_steps(t, record, scope)
        if kind == "dag":
            return self.run_dag(t, record, scope)
        slot = self.pod_slots
        if not self.take(slot):
            return "Failed", "cancelled", {}
        try:
            if attempt == 0:
                self.log(f"started    {record.id}")
            record.started = record.started if attempt else self.now()
            if kind == "resource":
                return self.run_resource(t, record, scope)
            return self.run_process(t, kind, record, scope, attempt)
        finally:
            if slot is not None:
                slot.release()

    # -------------------------------------------------------------------- steps and DAGs

    def expand(self, call: dict, scope: dict) -> list[tuple[str, dict]]:
        """``[(display name, scope with item)]`` for a step/task, one per item of a loop."""
        if "withItems" in call:
            items = call["withItems"]
        elif "withParam" in call:
            raw = expr.substitute(str(call["withParam"]), scope)
            try:
                items = json.loads(raw)
            except ValueError:
                items = None
            if not isinstance(items, list):
                raise UsageError(f"withParam of {call['name']!r} is not a JSON list: {raw[:80]}")
        else:
            return [(call["name"], scope)]
        out = []
        for i, item in enumerate(items):
            item_scope = dict(scope)
            if isinstance(item, dict):
                item_scope["item"] = json.dumps(item, separators=(",", ":"))
                for k, v in item.items():
                    item_scope[f"item.{k}"] = _text(v)
                label = ",".join(f"{k}:{_text(v)}" for k, v in item.items())
            else:
                item_scope["item"] = _text(item)
                label = _text(item)
            out.append((f"{call['name']}({i}:{label})", item_scope))
        return out

    def call(self, call: dict, parent: NodeRecord, scope: dict, prefix: str) -> NodeRecord:
        """Run one step/task (its loop, its ``when``) and publish its outputs under ``prefix``."""
        try:
            expanded = self.expand(call, scope)
        except (UsageError, expr.MissingVariable) as err:
            node = self.new_node(
                f"{parent.id}.{call['name']}", call["name"], call["template"], "Pod", parent.id
            )
            return self.finish(node, "Error", str(err))
        looped = "withItems" in call or "withParam" in call
        if not looped:
            node = self.one(call, parent.id, expanded[0][0], expanded[0][1])
            self.publish(scope, prefix, call["name"], [node], looped=False)
            return node
        group = self.new_node(
            f"{parent.id}.{call['name']}",
            call["name"],
            call["template"],
            "TaskGroup",
            parent.id,
            running=True,
        )
        children = self.in_parallel(
            [(lambda n=n, s=s: self.one(call, group.id, n, s, parent.id)) for n, s in expanded],
            parent,
        )
        failed = [c for c in children if c.phase in ("Failed", "Error")]
        self.publish(scope, prefix, call["name"], children, looped=True)
        group.outputs = {"children": [c.id for c in children]}
        if failed:
            return self.finish(
                group, "Failed", f"{failed[0].name}: {failed[0].message}", quiet=True
            )
        return self.finish(group, "Succeeded", "", quiet=True)

    def one(
        self, call: dict, parent_id: str, name: str, scope: dict, id_prefix: str | None = None
    ) -> NodeRecord:
        node_id = f"{id_prefix or parent_id}.{name}"
        if "when" in call:
            try:
                condition = expr.substitute(str(call["when"]), scope)
                go = expr.evaluate_when(condition)
            except (expr.MissingVariable, expr.ExpressionError) as err:
                node = self.new_node(node_id, name, call["template"], "Pod", parent_id)
                return self.finish(node, "Error", f"when: {err}")
            if not go:
                node = self.new_node(node_id, name, call["template"], "Skipped", parent_id)
                return self.finish(node, "Skipped", f"when '{condition}' evaluated false")
        arguments = call.get("arguments") or {}
        try:
            params = {
                p["name"]: expr.substitute(str(p.get("value", "")), scope)
                for p in arguments.get("parameters") or []
            }
            arts = {
                a["name"]: expr.substitute(str(a.get("from", "")), scope)
                for a in arguments.get("artifacts") or []
            }
        except expr.MissingVariable as err:
            node = self.new_node(node_id, name, call["template"], "Pod", parent_id)
            return self.finish(node, "Error", f"arguments: {err}")
        return self.execute(call["template"], node_id, params, arts, parent_id, name)

    def in_parallel(self, jobs: list, parent: NodeRecord) -> list[NodeRecord]:
        """Run ``jobs`` (callables returning records) in threads; the template's parallelism."""
        t = self.templates[parent.template]
        limit = t.get("parallelism")
        slots = threading.BoundedSemaphore(int(limit)) if limit else None
        results: list[NodeRecord | None] = [None] * len(jobs)
        errors: list[BaseException] = []

        def work(i: int, job) -> None:
            if not self.take(slots):
                return
            try:
                results[i] = job()
            except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(err)
                self.cancel.set()
            finally:
                if slots is not None:
                    slots.release()

        threads = [
            threading.Thread(target=work, args=(i, j), daemon=True) for i, j in enumerate(jobs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.1)
        if errors:
            raise errors[0]
        return [r for r in results if r is not None]

    def publish(self, scope: dict, prefix: str, name: str, nodes: list, looped: bool) -> None:
        base = f"{prefix}.{name}"
        if not looped:
            node = nodes[0]
            outputs = node.outputs or {}
            if "result" in outputs:
                scope[f"{base}.outputs.result"] = outputs["result"]
            for pname, value in (outputs.get("parameters") or {}).items():
                scope[f"{base}.outputs.parameters.{pname}"] = value
            for aname, path in (outputs.get("artifacts") or {}).items():
                scope[f"{base}.outputs.artifacts.{aname}"] = path
            if "exitCode" in outputs:
                scope[f"{base}.exitCode"] = outputs["exitCode"]
            scope[f"{base}.status"] = node.phase
            return
        ok = [n for n in nodes if n.phase == "Succeeded"]
        results = [_json_or_text(n.outputs["result"]) for n in ok if "result" in (n.outputs or {})]
        scope[f"{base}.outputs.result"] = json.dumps(results)
        maps = [n.outputs.get("parameters") or {} for n in ok if n.outputs.get("parameters")]
        scope[f"{base}.outputs.parameters"] = json.dumps(maps)
        for pname in {k for m in maps for k in m}:
            scope[f"{base}.outputs.parameters.{pname}"] = json.dumps(
                [m[pname] for m in maps if pname in m]
            )
        scope[f"{base}.status"] = "Succeeded" if len(ok) == len(nodes) else "Failed"

    def run_steps(self, t, record, scope):
        record.phase = "Running"
        scope = dict(scope)
        for group in t["steps"] or []:
            nodes = self.in_parallel(
                [(lambda c=c: self.call(c, record, scope, "steps")) for c in group], record
            )
            failed = [n for n in nodes if n.phase in ("Failed", "Error")]
            if failed:
                return (
                    "Failed",
                    f"step {failed[0].name!r} {failed[0].phase}: {failed[0].message}",
                    {},
                )
            if self.cancel.is_set():
                return "Failed", "cancelled", {}
        return "Succeeded", "", {}

    def run_dag(self, t, record, scope):
        record.phase = "Running"
        scope = dict(scope)
        tasks = {task["name"]: task for task in t["dag"]["tasks"]}
        needs = {name: spec.task_needs(task) for name, task in tasks.items()}
        handled = {
            name.split(".")[0]
            for task in tasks.values()
            for name in str(task.get("depends", "")).replace("(", " ").replace(")", " ").split()
            if name.endswith((".Failed", ".Errored", ".AllFailed"))
        }
        done: dict[str, NodeRecord] = {}
        pending = list(tasks)
        running: dict[str, threading.Thread] = {}
        outcome: dict[str, NodeRecord] = {}
        limit = t.get("parallelism")
        changed = threading.Event()

        def state(name: str, result: str) -> bool:
            node = done[name]
            phase = node.phase
            mapping = {"Errored": "Error"}
            with self.lock:  # other tasks' threads add nodes meanwhile
                kids = [n for n in self.nodes.values() if n.parent == node.id]
            if result == "AnySucceeded":
                return any(k.phase == "Succeeded" for k in kids) or phase == "Succeeded"
            if result == "AllFailed":
                return bool(kids) and all(k.phase in ("Failed", "Error") for k in kids)
            if result == "Daemoned":
                return False
            return phase == mapping.get(result, result)

        def start(name: str) -> None:
            def work() -> None:
                try:
                    outcome[name] = self.call(tasks[name], record, scope, "tasks")
                finally:
                    changed.set()

            thread = threading.Thread(target=work, daemon=True)
            running[name] = thread
            thread.start()

        while pending or running:
            if self.cancel.is_set() and not running:
                break
            for name in list(pending):
                if any(dep not in done for dep in needs[name]):
                    continue
                if limit and len(running) >= int(limit):
                    break
                pending.remove(name)
                task = tasks[name]
                if "depends" in task:
                    go = expr.evaluate_depends(str(task["depends"]), state)
                else:
                    go = all(state(d, "Succeeded") or state(d, "Skipped") for d in needs[name])
                if go and not self.cancel.is_set():
                    start(name)
                else:
                    node = self.new_node(
                        f"{record.id}.{name}", name, task["template"], "Skipped", record.id
                    )
                    done[name] = self.finish(node, "Omitted", "dependencies not satisfied")
            changed.wait(0.1)
            changed.clear()
            for name, thread in list(running.items()):
                if not thread.is_alive():
                    thread.join()
                    del running[name]
                    done[name] = outcome[name]
        failed = [
            n for name, n in done.items() if n.phase in ("Failed", "Error") and name not in handled
        ]
        if failed:
            return "Failed", f"task {failed[0].name!r} {failed[0].phase}: {failed[0].message}", {}
        if self.cancel.is_set():
            return "Failed", "cancelled", {}
        return "Succeeded", "", {}

    # -------------------------------------------------------------------- leaves

    def run_process(self, t, kind, record, scope, attempt):
        node_dir = self.work_dir / _safe(record.id) / f"attempt-{attempt}"
        shutil.rmtree(node_dir, ignore_errors=True)  # a reused work dir: no stale outputs
        fs = node_dir / "fs"
        fs.mkdir(parents=True, exist_ok=True)

        def local(path: str) -> str:
            return str(fs / path.lstrip("/"))

        container = t[kind]
        declared = _declared_paths(t)
        for path in declared:  # the folders a pod would have (/tmp, the volume mounts)
            Path(local(path)).parent.mkdir(parents=True, exist_ok=True)
        scope = dict(scope)
        for a in (t.get("inputs") or {}).get("artifacts") or []:
            scope[f"inputs.artifacts.{a['name']}.path"] = local(_artifact_path(a))

        def resolve(text: str) -> str:
            text = expr.substitute(text, scope)
            for path in declared:
                text = text.replace(path, local(path))
            return text

        try:
            self._stage_inputs(t, scope, local)
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
        timeout = self.step_seconds(t)
        code, stdout, stderr = self.spawn(line, {**os.environ, **env}, node_dir, timeout, record)
        outputs: dict[str, Any] = {"exitCode": str(code)}
        result = stdout[-RESULT_LIMIT:].rstrip("\n")
        if result or kind == "script":
            outputs["result"] = result
        if code is None:
            why = "cancelled" if self.cancel.is_set() else f"timed out after {timeout:.0f}s"
            return "Failed", f"{why} (killed){_tail(stderr)}", outputs
        if code != 0:
            return "Failed", f"exit code {code}{_tail(stderr or stdout)}", outputs
        try:
            outputs.update(_collect_outputs(t, local))
        except UsageError as err:
            return "Error", str(err), outputs
        return "Succeeded", "", outputs

    @staticmethod
    def _stage_inputs(t: dict, scope: dict, local) -> None:
        """Copy input artifacts to the paths the step reads them from."""
        for a in (t.get("inputs") or {}).get("artifacts") or []:
            source = scope.get(f"__from.{a['name']}")
            if source:
                copy_artifact(source, local(_artifact_path(a)))

    def spawn(self, line, env, cwd, timeout, record):
        """Run one step's process; ``(exit code or None on timeout, stdout, stderr)``."""
        stdout_path, stderr_path = cwd / "stdout", cwd / "stderr"
        with open(stdout_path, "w") as out, open(stderr_path, "w") as err:
            process = subprocess.Popen(
                line,
                cwd=str(PROJECT_ROOT),
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            with self.lock:
                self.processes.add(process)
            try:
                begun = time.monotonic()
                deadline, heartbeat = begun + timeout, begun + HEARTBEAT
                code = None
                while True:
                    code = process.poll()
                    if code is not None:
                        break
                    if time.monotonic() > heartbeat:  # a line every few seconds, not silence
                        heartbeat += HEARTBEAT
                        self.log(f"running    {record.id}  {time.monotonic() - begun:.0f}s")
                    if time.monotonic() > deadline or self.cancel.is_set():
                        _kill(process)
                        code = None
                        break
                    time.sleep(0.02)
            finally:
                with self.lock:
                    self.processes.discard(process)
                if process.poll() is None:
                    _kill(process)
        stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
        for text in stderr.splitlines():
            if self.echo:
                print(f"[{record.name}] {text}", flush=True)
            elif text.startswith("WARNING: ") and text not in SHOWN_WARNINGS:
                SHOWN_WARNINGS.add(text)  # our own warnings reach the reader, once per command
                print(text, file=sys.stderr, flush=True)
        return code, stdout, stderr

    def run_resource(self, t, record, scope):
        from dmlp.launch.supervisor import ClusterTimeout, TaskFailed
        from dmlp.launch.tfcluster import LocalCluster, cluster_spec

        resource = t["resource"]
        try:
            manifest = yaml.safe_load(expr.substitute(resource["manifest"], scope))
        except (expr.MissingVariable, yaml.YAMLError) as err:
            return "Error", f"manifest: {err}", {}
        replicas = manifest["spec"]["tfReplicaSpecs"]
        counts = {k: int(v.get("replicas", 1)) for k, v in replicas.items()}
        container = replicas["Worker"]["template"]["spec"]["containers"][0]
        line = list(container.get("command") or []) + list(container.get("args") or [])
        module = spec.project_module(line)
        cluster = cluster_spec(
            num_workers=counts.get("Worker", 1),
            num_ps=counts.get("PS", 0),
            chief=bool(counts.get("Chief")),
        )
        timeout = self.step_seconds(t)
        group = LocalCluster(cluster, module, line[3:], echo=self.echo)
        with self.lock:
            self.clusters.add(group)
        try:
            with group:
                group.wait(timeout=timeout)
        except TaskFailed as err:
            return "Failed", f"TFJob task {err.task} exited with code {err.code}", {}
        except ClusterTimeout as err:
            return "Failed", str(err), {}
        finally:
            with self.lock:
                self.clusters.discard(group)
        condition = resource.get("successCondition", "every task exited 0")
        return "Succeeded", f"successCondition ({condition}): every task exited 0", {}


# ---------------------------------------------------------------------------- helpers


def _artifact_path(a: dict) -> str:
    """Where a step reads or writes artifact ``a``: its ``path``, else ``/tmp/<name>``."""
    return a.get("path", f"/tmp/{a['name']}")


def _declared_paths(t: dict) -> list[str]:
    """Absolute paths the template declares (artifacts, output parameter files), longest first."""
    paths = []
    for io in ("inputs", "outputs"):
        for a in (t.get(io) or {}).get("artifacts") or []:
            if a.get("path", "").startswith("/"):
                paths.append(a["path"])
    for p in (t.get("outputs") or {}).get("parameters") or []:
        path = (p.get("valueFrom") or {}).get("path", "")
        if path.startswith("/"):
            paths.append(path)
    return sorted(set(paths), key=len, reverse=True)


def _collect_outputs(t: dict, local) -> dict:
    out: dict[str, Any] = {}
    declared = t.get("outputs") or {}
    params = {}
    for p in declared.get("parameters") or []:
        value_from = p.get("valueFrom") or {}
        path = value_from.get("path")
        if path is None:
            if "value" in p:
                params[p["name"]] = str(p["value"])
            continue
        file = Path(local(path))
        if file.is_file():
            params[p["name"]] = file.read_text().rstrip("\n")
        elif "default" in value_from:
            params[p["name"]] = str(value_from["default"])
        else:
            raise UsageError(f"output parameter {p['name']!r}: the step did not write {path}")
    if params:
        out["parameters"] = params
    artifacts = {}
    for a in declared.get("artifacts") or []:
        file = Path(local(_artifact_path(a)))
        if file.exists():
            artifacts[a["name"]] = str(file)
        elif not a.get("optional"):
            raise UsageError(
                f"output artifact {a['name']!r}: the step did not write {a.get('path')}"
            )
    if artifacts:
        out["artifacts"] = artifacts
    return out


def _die_with_parent() -> None:  # in the child between fork and exec (Linux only)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f": {lines[-1].strip()[:300]}" if lines else ""


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _safe(node_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in node_id)[:200]


def copy_artifact(source: str, target: str) -> None:
    """Put an artifact (file or folder) where a step reads it."""
    src, dst = Path(source), Path(target)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    elif src.is_file():
        shutil.copy2(src, dst)
    else:
        raise UsageError(f"artifact {source} does not exist")
