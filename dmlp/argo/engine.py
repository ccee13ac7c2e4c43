"""Execute an Argo Workflow on this machine, node by node, as the Argo controller would.

:class:`Engine` is one run: it reads the workflow's arguments, starts the entrypoint, enforces
``activeDeadlineSeconds`` and stops everything on Ctrl-C. Each template call goes through
:meth:`Engine.execute`: its inputs, its ``memoize`` cache, its ``retryStrategy``, then the work
itself: a ``steps`` group (:mod:`dmlp.argo.steps`), a ``dag`` (:mod:`dmlp.argo.dag`), or a leaf
step, a process or a TFJob (:mod:`dmlp.argo.leaves`). The nodes are recorded in a
:class:`~dmlp.argo.records.Ledger`, with a progress line when a step starts and when it ends.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from dmlp.argo import dag, expr, spec, steps
from dmlp.argo.cache import MemoCache
from dmlp.argo.leaves import Leaves
from dmlp.argo.records import Ledger, NodeRecord, WorkflowResult, short
from dmlp.argo.retries import Retries
from dmlp.example.errors import UsageError


class Engine:
    """One run of one workflow; use :func:`dmlp.argo.run`."""

    def __init__(
        self,
        data: dict,
        arguments: dict[str, Any] | None,
        work_dir: Path,
        cache_dir: Path | None,
        step_timeout: float | None,
        log,
        echo: bool,
    ):
        self.data = data
        self.arguments = self.workflow_arguments(arguments)  # a typo is named first
        # Checked as Argo checks it after `argo submit -p`: with the given arguments declared.
        self.templates = spec.check(_declare(data, arguments or {}))
        self.name = spec.workflow_name(data)
        self.work_dir, self.log = work_dir, log
        self.cache = MemoCache(cache_dir) if cache_dir is not None else None
        self.ledger = Ledger(log)
        self.cancel = threading.Event()
        self.leaves = Leaves(work_dir, step_timeout, log, echo, self.cancel)
        wf_spec = data["spec"]
        limit = wf_spec.get("parallelism")
        self.pod_slots = threading.BoundedSemaphore(int(limit)) if limit else None
        self.scope = {
            "workflow.name": self.name,
            "workflow.namespace": "local",
            "workflow.mainEntrypoint": wf_spec["entrypoint"],
        }
        for name, value in self.arguments.items():
            self.scope[f"workflow.parameters.{name}"] = value
        listed = [{"name": name, "value": value} for name, value in self.arguments.items()]
        self.scope["workflow.parameters"] = json.dumps(listed, separators=(",", ":"))
        self.deadline = wf_spec.get("activeDeadlineSeconds")

    def workflow_arguments(self, given: dict[str, Any] | None) -> dict[str, str]:
        """``spec.arguments.parameters`` with ``given`` over them, as ``argo submit -p`` does.

        A given name replaces the declared parameter's value or is added to the list
        (``overrideParameters`` in ``workflow/util/util.go``); the list is then the entrypoint's
        arguments (``operate`` in ``operator.go``), so it also sets the entrypoint's inputs. A name
        that is neither declared nor an input of the entrypoint would reach nothing: refused.
        """
        wf_spec = self.data["spec"]
        declared = {p["name"]: p for p in (wf_spec.get("arguments") or {}).get("parameters") or []}
        found = [
            t for t in wf_spec.get("templates") or [] if t.get("name") == wf_spec.get("entrypoint")
        ]
        entry = found[0] if found else {}
        inputs = [p["name"] for p in (entry.get("inputs") or {}).get("parameters") or []]
        given = {k: str(v) for k, v in (given or {}).items()}
        unknown = set(given) - set(declared) - set(inputs)
        if unknown:
            raise UsageError(
                f"unknown workflow argument(s) {', '.join(sorted(unknown))}; declared: "
                f"{', '.join(declared) or '(none)'}; "
                f"entrypoint inputs: {', '.join(inputs) or '(none)'}"
            )
        # spec.check refuses a missing value, or one outside its enum (validateArgumentsValues)
        values = {
            name: str(given.get(name, param.get("value"))) for name, param in declared.items()
        }
        return {**values, **{k: v for k, v in given.items() if k not in declared}}

    # -------------------------------------------------------------------- top level

    def run(self) -> WorkflowResult:
        entry = self.data["spec"]["entrypoint"]
        timer = None
        if self.deadline:
            timer = threading.Timer(float(self.deadline), self.cancel.set)
            timer.daemon = True
            timer.start()
        try:
            root = self.execute(entry, self.name, dict(self.arguments), {}, None)
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
            self.ledger.now(),
            dict(self.ledger.nodes),
            str(self.work_dir),
            root.outputs,
        )

    def kill_all(self) -> None:
        self.cancel.set()
        self.leaves.stop_all()

    @staticmethod
    def boundary_slots(t: dict) -> threading.BoundedSemaphore | None:
        """The slots of a steps or DAG template call's ``parallelism``, shared by all its loops.

        Argo counts a template's running children, pods and nested steps or DAGs alike, against
        its ``parallelism`` (``checkParallelism`` and ``getActiveChildren`` in
        ``workflow/controller``): one semaphore per call of the template.
        """
        limit = t.get("parallelism")
        return threading.BoundedSemaphore(int(limit)) if limit else None

    def take(self, slots: threading.BoundedSemaphore | None) -> bool:
        """Wait for one of ``slots`` (none: no limit); False if the run is cancelled meanwhile."""
        if slots is None:
            return True
        while not slots.acquire(timeout=0.1):
            if self.cancel.is_set():
                return False
        return True

    # -------------------------------------------------------------------- one template

    def execute(
        self,
        template_name: str,
        node_id: str,
        parameters: dict[str, str],
        artifacts: dict[str, str],
        parent: str | None,
        display: str | None = None,
        slots: threading.BoundedSemaphore | None = None,
    ) -> NodeRecord:
        """Run one template call to its end (memoized, retried) and return its node.

        Each attempt holds one of ``slots``, the calling template's parallelism.
        """
        t = self.templates[template_name]
        kind = next(k for k in spec.KINDS if k in t)
        node_type = {"steps": "Steps", "dag": "DAG", "resource": "Resource"}.get(kind, "Pod")
        display = display or node_id
        finish = self.ledger.finish
        record = self.ledger.new_node(node_id, display, template_name, node_type, parent)
        try:
            scope = self.input_scope(t, parameters, artifacts)
        except (expr.MissingVariable, UsageError) as err:
            return finish(record, "Error", str(err))
        memo = t.get("memoize")
        key = cached = None
        if memo:  # executeTemplate reads the key and maxAge whether or not the cache has entries
            try:
                key = expr.substitute(memo["key"], scope)
                MemoCache.check_key(key)
                age = expr.substitute(str(memo.get("maxAge") or ""), scope)
                max_age = expr.go_duration(age, "memoize.maxAge") if age else None
                if self.cache is not None:
                    cached = self.cache.load(memo["cache"]["configMap"]["name"], key, max_age)
            except (expr.MissingVariable, expr.ExpressionError, UsageError) as err:
                return finish(record, "Error", f"memoize: {err}")
            if cached is not None:
                record.cache, record.outputs = "hit", cached
                self.log(f"cache hit  {node_id}  (key {key})")
                return finish(record, "Succeeded", f"memoized: key {key}", quiet=True)
            record.cache = "miss" if self.cache is not None else None
        retry = Retries.of(t)
        phase, message, attempt = "Error", "", 0
        while True:
            record.attempts = attempt + 1
            if self.cancel.is_set():
                phase, message = "Failed", "cancelled"
                break
            seconds = retry.attempt_seconds(self.ledger.now() - record.started) if attempt else None
            phase, message, outputs = self.attempt(t, kind, record, scope, attempt, slots, seconds)
            record.outputs = outputs
            if phase == "Succeeded" or "retryStrategy" not in t or self.cancel.is_set():
                break
            if not retry.retries(phase, message):
                message = f"{message} (retryPolicy {retry.policy}: not retried)"
                break
            wait, why = retry.next_wait(attempt + 1, self.ledger.now() - record.started)
            if wait is None:
                message = f"{message} ({why})"
                break
            attempt += 1
            self.log(
                f"retrying  {node_id}  (attempt {attempt} {phase}: {short(message)}; "
                f"next in {wait:.1f}s)"
            )
            if self.cancel.wait(wait):
                break
        if phase == "Succeeded" and key is not None and self.cache is not None:
            self.cache.save(memo["cache"]["configMap"]["name"], key, node_id, record.outputs)
        if phase != "Succeeded" and record.attempts > 1:
            message = f"{message} (after {record.attempts} attempts)"
        return finish(record, phase, message, quiet=not record.leaf)

    def input_scope(self, t: dict, parameters: dict, artifacts: dict) -> dict[str, str]:
        """The variables a template sees: the workflow's, and its inputs (``inputs.*``)."""
        scope = dict(self.scope)
        inputs = t.get("inputs") or {}
        listed = []
        for p in inputs.get("parameters") or []:
            name = p["name"]
            if parameters.get(name) is expr.ABSENT and "value" not in p and "default" not in p:
                raise UsageError(
                    f"inputs.parameters.{name}: argument references an absent optional "
                    "(skipped/omitted node output with no default)"
                )
            if name in parameters and parameters[name] is not expr.ABSENT:
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
                scope[f"inputs.artifacts.{a['name']}"] = artifacts[a["name"]]
        return scope

    def attempt(self, t, kind, record, scope, attempt, slots, seconds=None):
        """``(phase, message, outputs)`` of one attempt, holding one of ``slots``; a leaf
        also waits for one of the workflow's pod slots, and may run ``seconds`` at most."""
        if not self.take(slots):
            return "Failed", "cancelled", {}
        try:
            if kind == "steps":
                return steps.run_steps(self, t, record, scope)
            if kind == "dag":
                return dag.run_dag(self, t, record, scope)
            return self.run_leaf(t, kind, record, scope, attempt, seconds)
        finally:
            if slots is not None:
                slots.release()

    def run_leaf(self, t, kind, record, scope, attempt, seconds=None):
        """One attempt of a pod: a script or container process, or a TFJob."""
        if not self.take(self.pod_slots):
            return "Failed", "cancelled", {}
        try:
            if attempt == 0:
                self.log(f"started    {record.id}")
            record.started = record.started if attempt else self.ledger.now()
            if kind == "resource":
                return self.leaves.run_resource(t, record, scope, seconds)
            scope = {**scope, "retries": str(attempt)} if "retryStrategy" in t else scope
            return self.leaves.run_process(t, kind, record, scope, attempt, seconds)
        finally:
            if self.pod_slots is not None:
                self.pod_slots.release()


def _declare(data: dict, given: dict[str, Any]) -> dict:
    """``data`` with the ``given`` arguments in ``spec.arguments.parameters``, each over the one
    of its name (``overrideParameters`` in ``workflow/util/util.go``)."""
    if not given:
        return data
    arguments = data["spec"].get("arguments") or {}
    kept = [p for p in arguments.get("parameters") or [] if p.get("name") not in given]
    declared = {p.get("name"): p for p in arguments.get("parameters") or []}
    added = [{**declared.get(k, {}), "name": k, "value": str(v)} for k, v in given.items()]
    parameters = [*kept, *added]
    return {**data, "spec": {**data["spec"], "arguments": {**arguments, "parameters": parameters}}}
