"""Read an Argo Workflow (Hera ``Workflow``, dict or YAML); check the local runner can run it.

Everything is checked before anything runs: an unknown template name, a DAG cycle, a feature the
runner does not implement (``onExit``, ``synchronization``, a non-project container image, ...)
or an expression it cannot read is one :class:`UnsupportedWorkflow` error that names the feature
and the template; what Argo itself refuses is an :class:`InvalidWorkflow`, the one check
``make validate`` makes too. Fields that only matter to a cluster (``serviceAccountName``,
``podGC``, ``volumes``, resource requests, security contexts) are accepted and ignored on the
laptop. The parts: :mod:`~dmlp.argo.tasks` (a DAG's shape), :mod:`~dmlp.argo.retries`,
:mod:`~dmlp.argo.variables` (``{{...}}``), :mod:`~dmlp.argo.pods` (images and commands),
:mod:`~dmlp.argo.fields` (names, arguments, inputs, outputs), :mod:`~dmlp.argo.podrules` (what Argo
refuses in a template's pod).
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from dmlp.argo import expr, fields, podrules, pods, retries, shape, variables
from dmlp.argo.cache import CONFIGMAP_NAME
from dmlp.argo.tasks import dag_targets, find_cycle, looped, task_needs
from dmlp.example.errors import UsageError

SPEC_FIELDS = {"entrypoint", "templates", "arguments", "parallelism", "activeDeadlineSeconds"}
SPEC_CLUSTER_ONLY = {
    "serviceAccountName",
    "podGC",
    "volumes",
    "ttlStrategy",
    "podMetadata",
    "securityContext",
    "imagePullSecrets",
    "nodeSelector",
    "tolerations",
    "affinity",
    "priorityClassName",
    "podPriorityClassName",
    "workflowMetadata",
    "artifactRepositoryRef",
    "archiveLogs",
}
TEMPLATE_FIELDS = {
    "name",
    "inputs",
    "outputs",
    "steps",
    "dag",
    "script",
    "container",
    "resource",
    "retryStrategy",
    "memoize",
    "parallelism",
    "activeDeadlineSeconds",
}
TEMPLATE_CLUSTER_ONLY = {
    "metadata",
    "volumes",
    "nodeSelector",
    "tolerations",
    "affinity",
    "securityContext",
    "serviceAccountName",
    "podSpecPatch",
    "priorityClassName",
    "archiveLocation",
}
KINDS = ("steps", "dag", "script", "container", "resource")
STEP_FIELDS = {"name", "template", "arguments", "when", "withItems", "withParam"}
TASK_FIELDS = STEP_FIELDS | {"dependencies", "depends"}
CONTAINER_FIELDS = {"image", "command", "args", "env", "name", "workingDir"}
CONTAINER_CLUSTER_ONLY = {
    "imagePullPolicy",
    "resources",
    "securityContext",
    "volumeMounts",
    "ports",
    "livenessProbe",
    "readinessProbe",
}
RESOURCE_FIELDS = {"action", "manifest", "successCondition", "failureCondition"}
RESOURCE_CLUSTER_ONLY = {"setOwnerReference", "flags"}


class UnsupportedWorkflow(UsageError):
    """The workflow uses something the local runner cannot run; found before anything runs."""


class InvalidWorkflow(UnsupportedWorkflow):
    """Argo itself refuses the workflow (``workflow/validate/validate.go``): ``make validate``
    reports it too (:mod:`dmlp.kube.validate.webhooks`)."""


# Off while `make validate` checks a workflow: only what Argo refuses counts there, not what the
# local runner cannot do.
_RUNNER = contextvars.ContextVar("runner", default=True)
ARGO_KINDS = (*KINDS, "containerSet", "suspend", "data", "http", "plugin")


def load(workflow: Any) -> dict:
    """The workflow as Argo's dict: from a Hera ``Workflow``, a dict, YAML text or a YAML file."""
    if hasattr(workflow, "to_dict"):
        data = workflow.to_dict()
    elif isinstance(workflow, Mapping):
        data = dict(workflow)
    elif isinstance(workflow, str | os.PathLike):
        text = str(workflow)
        if isinstance(workflow, os.PathLike) or ("\n" not in text and Path(text).is_file()):
            try:
                text = Path(workflow).read_text()
            except OSError as err:
                raise UsageError(f"cannot read workflow {workflow}: {err.strerror}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise UsageError(f"workflow is not valid YAML: {str(err).splitlines()[0]}") from None
    else:
        raise UsageError(f"cannot read a workflow from {type(workflow).__name__}")
    if not isinstance(data, dict) or data.get("kind") not in ("Workflow", "WorkflowTemplate"):
        raise UsageError("not an Argo Workflow: kind must be Workflow (or WorkflowTemplate)")
    if not isinstance(data.get("spec"), dict):
        raise UsageError("the workflow has no spec")
    return data


def workflow_name(data: dict) -> str:
    meta = data.get("metadata") or {}
    return meta.get("name") or (meta.get("generateName") or "workflow-").rstrip("-")


def _unknown(found: Mapping, known: set, ignored: set, where: str) -> None:
    if not _RUNNER.get():
        return  # an unknown field is the schema's business (dmlp.kube.validate.schemas)
    for key in found:
        if key not in known and key not in ignored:
            raise UnsupportedWorkflow(f"{where}: {key!r} is not supported by the local runner")


def check(data: dict, runner: bool = True) -> dict[str, dict]:
    """Check the whole workflow; return its templates by name, or raise UnsupportedWorkflow.

    With ``runner`` false, only what Argo refuses is raised (:class:`InvalidWorkflow`); a
    template the local runner cannot run is passed over.
    """
    token = _RUNNER.set(runner)
    try:
        return _check(data)
    finally:
        _RUNNER.reset(token)


def _check(data: dict) -> dict[str, dict]:
    structure, values = shape.problems(data)
    _invalid(structure)  # the types: every later check may trust them
    spec = data["spec"]
    if "workflowTemplateRef" in spec:  # Workflow(): checked against a template not seen here
        if _RUNNER.get():
            raise UnsupportedWorkflow("workflow spec: 'workflowTemplateRef' is not supported")
        return {}
    _unknown(spec, SPEC_FIELDS, SPEC_CLUSTER_ONLY, "workflow spec")
    _invalid(podrules.pod_resources(spec.get("podResources")), "workflow spec")
    arguments = spec.get("arguments") or {}
    _unknown(arguments, {"parameters"}, set(), "workflow spec.arguments")
    for param in arguments.get("parameters") or []:
        where = f"workflow argument {param.get('name')!r}"
        _unknown(param, {"name", "value", "default", "enum", "description"}, set(), where)
    _invalid(fields.names(spec.get("templates"), "template"), "workflow spec")
    templates = {template["name"]: template for template in spec.get("templates") or []}
    kept = data.get("kind") == "WorkflowTemplate"  # its arguments may come with the Workflow
    empty = kept and not _RUNNER.get()
    _invalid(fields.arguments(arguments, "workflow argument", empty), "workflow spec")
    entry = spec.get("entrypoint")
    if not entry and not empty:  # WorkflowTemplate(): without one, IgnoreEntrypoint
        raise InvalidWorkflow("workflow spec: no entrypoint")
    if entry and entry not in templates:
        raise InvalidWorkflow(f"entrypoint {entry!r} is not a template; known: {_names(templates)}")
    defaults = spec.get("templateDefaults") or {}
    for template in templates.values():
        try:
            _check_template(template, templates, defaults)
        except InvalidWorkflow:
            raise
        except UnsupportedWorkflow:
            if _RUNNER.get():
                raise
    if not kept and entry:  # Workflow(): the entrypoint is checked with its arguments
        _invalid(fields.unsupplied(templates[entry], arguments), "workflow spec")
    for argo_refuses, message in variables.problems(data, templates):
        if argo_refuses:
            raise InvalidWorkflow(message)
        if _RUNNER.get():
            raise UnsupportedWorkflow(message)
    _invalid(values)  # what the schema alone says of a value
    return templates


def _names(templates: Mapping) -> str:
    return ", ".join(sorted(templates)) or "(none)"


def _invalid(message: str | None, where: str = "") -> None:
    if message:
        raise InvalidWorkflow(f"{where}: {message}" if where else message)


def _check_template(t: dict, templates: dict, defaults: Mapping) -> None:
    where = f"template {t['name']!r}"
    kinds = [k for k in ARGO_KINDS if k in t]
    if len(kinds) != 1:  # validateTemplateType
        raise InvalidWorkflow(
            f"{where}: needs exactly one template type (found {', '.join(kinds) or 'none'})"
        )
    kind = kinds[0]
    _invalid(fields.inputs(t), where)
    _invalid(fields.outputs(t, kind) or podrules.template_problem(t, kind), where)
    if kind in ("steps", "dag") and "activeDeadlineSeconds" in t:  # validateNonLeaf
        _invalid("activeDeadlineSeconds is only valid for leaf templates", where)
    if kind not in ("steps", "dag") and "parallelism" in t:  # validateLeaf
        _invalid("parallelism is only valid for steps and dag templates", where)
    if str(t.get("activeDeadlineSeconds", 0)).startswith("-"):  # validateLeaf
        _invalid("activeDeadlineSeconds must be a positive integer", where)
    if kind == "steps":
        every = [step for group in t["steps"] or [] for step in group or []]
        _invalid(fields.names(every, "step", steps=True), where)  # validateSteps: named, once
        for step in every:
            _check_call(step, STEP_FIELDS, templates, f"{where}, step {step.get('name')!r}")
    elif kind == "dag":
        _check_dag(t, templates, where)
        _unknown(t["dag"], {"tasks", "target", "failFast"}, set(), f"{where} dag")
    _unknown(t, TEMPLATE_FIELDS, TEMPLATE_CLUSTER_ONLY, where)
    if kind in ("steps", "dag") and t.get("outputs"):
        raise UnsupportedWorkflow(f"{where}: outputs of a {kind} template are not supported")
    if kind not in KINDS:
        raise UnsupportedWorkflow(f"{where}: {kind!r} templates are not supported locally")
    if kind in ("script", "container"):
        _check_container(t[kind], kind, where, (defaults.get(kind) or {}).get("image"))
    elif kind == "resource":
        _check_resource(t["resource"], where)
        if (t.get("outputs") or {}).get("parameters") or (t.get("outputs") or {}).get("artifacts"):
            raise UnsupportedWorkflow(f"{where}: outputs of a resource template are not supported")
    if "retryStrategy" in t:
        policy = (t["retryStrategy"] or {}).get("retryPolicy", "")
        if policy not in (*retries.POLICIES, ""):  # validateTemplateHolder
            raise InvalidWorkflow(f"{where}: {policy} is not a valid RetryPolicy")
        problem = retries.problem(t["retryStrategy"])
        if problem:
            raise UnsupportedWorkflow(f"{where} retryStrategy: {problem}")
    memo = t.get("memoize")
    if memo is not None:
        _unknown(memo, {"key", "maxAge", "cache"}, set(), f"{where} memoize")
        cache = memo.get("cache") or {}
        if not memo.get("key") or not (cache.get("configMap") or {}).get("name"):
            raise UnsupportedWorkflow(f"{where}: memoize needs key and cache.configMap.name")
        name = str(cache["configMap"]["name"])
        if "{{" not in name and not CONFIGMAP_NAME.match(name):
            raise InvalidWorkflow(f"{where}: memoize cache {name!r} is not a valid ConfigMap name")
        if memo.get("maxAge") and "{{" not in str(memo["maxAge"]):
            _guard(lambda: expr.go_duration(str(memo["maxAge"]), "memoize.maxAge"), where)
    for io in ("inputs", "outputs"):
        section = t.get(io) or {}
        _unknown(section, {"parameters", "artifacts", "result"}, set(), f"{where} {io}")
        for artifact in section.get("artifacts") or []:
            _unknown(artifact, {"name", "path", "from", "optional"}, {"archive"}, f"{where} {io}")
        for param in section.get("parameters") or []:
            known = {"name", "value", "default", "valueFrom", "description", "enum"}
            _unknown(param, known, set(), f"{where} {io} parameter {param.get('name')!r}")
            value_from = param.get("valueFrom") or {}
            _unknown(value_from, {"path", "default"}, set(), f"{where} {io} valueFrom")


def _guard(fn, where: str) -> None:
    try:
        fn()
    except expr.ExpressionError as err:
        raise UnsupportedWorkflow(f"{where}: {err}") from None


def _check_call(call: dict, known: set, templates: dict, where: str) -> None:
    """A step or task whose name :func:`fields.names` has checked."""
    for other in ("templateRef", "inline"):
        if other in call:
            raise UnsupportedWorkflow(f"{where}: {other!r} is not supported by the local runner")
    if call.get("template") not in templates:  # validateTemplateHolder: "... undefined"
        raise InvalidWorkflow(
            f"{where}: unknown template {call.get('template')!r}; known: {_names(templates)}"
        )
    _invalid(fields.arguments(call.get("arguments"), "argument"), where)
    _invalid(fields.unsupplied(templates[call["template"]], call.get("arguments")), where)
    _unknown(call, known, set(), where)
    if "when" in call:
        _guard(lambda: expr.check_when(str(call["when"])), f"{where} when")
    loops = [k for k in ("withItems", "withParam") if call.get(k)]
    loops += ["withSequence"] if call.get("withSequence") is not None else []
    if len(loops) > 1:  # addItemsToScope
        raise InvalidWorkflow(f"{where}: only one of {', '.join(loops)} can be specified")
    sequence = call.get("withSequence") or {}
    if sequence.get("count") is not None and sequence.get("end") is not None:
        raise InvalidWorkflow(f"{where}: only one of count or end can be defined in withSequence")
    arguments = call.get("arguments") or {}
    _unknown(arguments, {"parameters", "artifacts"}, set(), f"{where} arguments")
    for artifact in arguments.get("artifacts") or []:
        _unknown(artifact, {"name", "from"}, set(), f"{where} argument artifact")


def _check_dag(t: dict, templates: dict, where: str) -> None:
    _invalid(fields.names(t["dag"].get("tasks"), "task"), where)  # validateDAG: named, once
    tasks = {task["name"]: task for task in t["dag"].get("tasks") or []}
    if not tasks:
        _invalid("a DAG must have at least one task", where)
    using_depends = any(task.get("depends") for task in tasks.values())
    if not isinstance(t["dag"].get("failFast", True), bool):
        raise UnsupportedWorkflow(f"{where}: dag.failFast must be true or false")
    edges: dict[str, list[str]] = {}
    for name, task in tasks.items():
        here = f"{where}, task {name!r}"
        if using_depends and task.get("dependencies"):  # validateDAG, for the whole DAG
            raise InvalidWorkflow(f"{here}: dependencies and depends in one DAG")
        if using_depends and "continueOn" in task:
            _invalid("continueOn with depends (use TASK.Failed or TASK.Errored)", here)
        if (using_depends or task.get("dependencies")) and name[:1].isdigit():
            _invalid("a task name cannot begin with a digit with depends or dependencies", here)
        if "depends" in task:
            try:
                expr.check_depends(str(task["depends"]))
            except expr.ExpressionError as err:
                raise InvalidWorkflow(f"{here}: {err}") from None
        needs = task_needs(task)
        for need in needs:
            if need not in tasks:
                raise InvalidWorkflow(f"{here}: depends on unknown task {need!r}")
        for need, result in expr.depends_atoms(str(task.get("depends", ""))):
            if result in ("AnySucceeded", "AllFailed") and not looped(tasks[need]):
                raise InvalidWorkflow(f"{here}: {need}.{result} needs a task with a loop")
        missing = variables.missing_dependency(task, tasks)
        if missing:
            raise InvalidWorkflow(f"{here}: {missing}")
        edges[name] = needs
    cycle = find_cycle(edges)
    if cycle:
        raise InvalidWorkflow(f"{where}: dependency cycle {' -> '.join(reversed(cycle))}")
    for target in dag_targets(t["dag"]):  # validateDAGTargets, once every depends is read
        if target not in tasks and not variables.PARAMETER.search(target):
            raise InvalidWorkflow(f"{where}: dag.target names unknown task {target!r}")
    for name, task in tasks.items():  # the DAG's shape is sound: now what each task calls
        _check_call(task, TASK_FIELDS, templates, f"{where}, task {name!r}")


def _raise(problem: tuple[bool, str] | None, where: str) -> None:
    if problem is not None:
        argo_refuses, message = problem
        raise (InvalidWorkflow if argo_refuses else UnsupportedWorkflow)(f"{where}: {message}")


def _check_container(c: dict, kind: str, where: str, default_image=None) -> None:
    _raise(pods.image_problem(c.get("image") or default_image), f"{where} {kind}")
    known = CONTAINER_FIELDS | ({"source"} if kind == "script" else set())
    _unknown(c, known, CONTAINER_CLUSTER_ONLY, f"{where} {kind}")
    for env in c.get("env") or []:
        if "valueFrom" in env:
            raise UnsupportedWorkflow(
                f"{where}: env {env.get('name')!r} valueFrom is not supported"
            )
    _raise(pods.command_problem(c, kind), where)


def _check_resource(r: dict, where: str) -> None:
    _unknown(r, RESOURCE_FIELDS, RESOURCE_CLUSTER_ONLY, f"{where} resource")
    _raise(pods.resource_problem(r), where)
