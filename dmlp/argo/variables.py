"""The ``{{...}}`` variables of a workflow, checked before the run as Argo's validation does.

Argo v4.1.2 refuses a workflow that names a variable nothing provides, for the tags that start
with one of its prefixes (``item.``, ``steps.``, ``inputs.``, ``outputs.``, ``pod.``,
``workflow.``, ``tasks.``; ``workflow/validate/validate.go``, ``resolveAllVariables``). What a tag
may name depends on where it is written: a leaf template sees its inputs and the workflow's
globals; a step sees the outputs of the steps before it; a DAG task those of the tasks it
depends on (``validateSteps``, ``validateDAG``, ``addOutputsToScope``). Any other tag
(``{{item}}`` without a loop, ``{{foo}}``) is left as it is written, by Argo and here.

:func:`problems` gives each tag Argo would refuse, and each tag Argo would fill in but the local
runner cannot (``{{pod.name}}``, ``{{node.name}}``, ``{{lastRetry.*}}``, ``{{workflow.uid}}``,
a step's ``startedAt``...), and every ``{{=...}}`` expression tag, which the runner does not
evaluate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

from dmlp.argo import expr
from dmlp.argo.tasks import looped, task_needs

# Argo lets these through wherever they are written (resolveAllVariables' exceptions) or fills
# them in itself; none of them is given locally.
ARGO_ANYWHERE = (
    "outputs.",
    "workflow.creationTimestamp",
    "workflow.scheduledTime",
    "workflow.duration",
    "tasks.name",
    "steps.name",
    "workflow.uid",
    "workflow.serviceAccountName",
    "workflow.status",
    "workflow.labels",
    "workflow.annotations",
    "workflow.priority",
    "workflow.parameters.json",
)
NODE_ONLY_ARGO = ("id", "startedAt", "finishedAt", "hostNodeName", "ip")  # steps.X.id, ...
LEAVES = ("script", "container", "resource")
LAST_RETRY = tuple(f"lastRetry.{k}" for k in ("exitCode", "status", "duration", "message"))
# Template.HasOutput: the kinds whose node has outputs.result and exitCode
WITH_RESULT = ("script", "container", "containerSet", "data", "http", "plugin")
PARAMETER = re.compile(r"\{\{[-a-zA-Z0-9]+(\.[-a-zA-Z0-9_]+)*\}\}")  # validate.go isParameter
_KIND = ("Argo refuses it", "the local runner cannot give it")


def problems(data: dict, templates: Mapping[str, dict]) -> Iterator[tuple[bool, str]]:
    """``(argo_refuses, message)`` for each variable that cannot be resolved, in template order."""
    spec = data["spec"]
    params = [p["name"] for p in (spec.get("arguments") or {}).get("parameters") or []]
    globals_ = {"workflow.name", "workflow.namespace", "workflow.mainEntrypoint"}
    globals_ |= {f"workflow.parameters.{p}" for p in params}
    if params:  # Workflow(): the list exists only when there are arguments
        globals_.add("workflow.parameters")
    globals_ |= _global_outputs(templates.values())
    if spec.get("onExit"):  # Workflow(): an exit handler may read the failures
        globals_.add("workflow.failures")
    # resolveAllVariables: a WorkflowTemplate's parameters may come with the Workflow using it
    anywhere = ("workflow.parameters",) if data.get("kind") == "WorkflowTemplate" else ()
    for t in templates.values():
        where = f"template {t['name']!r}"
        scope = globals_ | _template_scope(t)
        t = _with_inputs_filled(t)
        if "steps" in t:
            found = _steps(t, templates, scope)
        elif "dag" in t:
            found = _dag(t, templates, scope)
        else:
            found = [(t, scope, {"pod.name"})]  # validateTemplate: a pod's template has it
        given = {"node.name"} | (set(LAST_RETRY) if "retryStrategy" in t else set())
        for part, local, argo in found:
            for tag in _tags(part):
                if tag in given:  # executeTemplate fills them in; they have no Argo prefix
                    yield False, f"{where}: {{{{{tag}}}}}: {_KIND[1]} (Argo gives it at run time)"
                    continue
                problem = _judge(tag, local, argo, anywhere)
                if problem is not None:
                    yield problem[0], f"{where}: {{{{{tag}}}}}: {problem[1]}"


def _with_inputs_filled(t: dict) -> dict:
    """``t`` with each ``{{inputs.parameters.NAME}}`` of its own inputs replaced by a stand-in
    value, as ``ProcessArgs`` does before ``validateSteps`` reads it: a step named
    ``run-{{inputs.parameters.day}}`` is then named, and referred to, like any other."""
    names = [p["name"] for p in (t.get("inputs") or {}).get("parameters") or []]
    if not names:
        return t
    text = json.dumps(t)
    for i, name in enumerate(names):
        pattern = r"\{\{\s*inputs\.parameters\." + re.escape(name) + r"\s*\}\}"
        text = re.sub(pattern, f"placeholder-{i}", text)
    return json.loads(text)


def _judge(tag: str, local: set, argo: set, anywhere=()) -> tuple[bool, str] | None:
    if tag.startswith("="):
        return False, "expression tags are not supported by the local runner"
    if not tag.startswith(expr.ARGO_PREFIXES) or tag in local:
        return None
    if any(tag.startswith(name[:-1]) for name in local if name.endswith(".*")):
        return None  # withParam's item.KEY, a globalName that is a parameter: any name
    if tag in argo or tag.startswith((*ARGO_ANYWHERE, *anywhere)):
        return False, f"{_KIND[1]} (Argo gives it at run time)"
    return True, f"failed to resolve (as Argo's validation says): {_KIND[0]}"


def _tags(node) -> Iterator[str]:
    """Every ``{{...}}`` in the strings of ``node`` (a template, a step, a task)."""
    text = json.dumps(node)
    for match in re.finditer(r"\{\{\s*(.*?)\s*\}\}", text):
        yield match.group(1)


def _template_scope(t: dict) -> set[str]:
    """What a template's own text may name: its inputs; a leaf's declared output paths too."""
    inputs = t.get("inputs") or {}
    found = {f"inputs.parameters.{p['name']}" for p in inputs.get("parameters") or []}
    found.add("inputs.parameters")  # SubstituteParams always gives the (maybe empty) list
    for a in inputs.get("artifacts") or []:
        found.add(f"inputs.artifacts.{a['name']}")
        if any(kind in t for kind in LEAVES):
            found.add(f"inputs.artifacts.{a['name']}.path")
    if any(kind in t for kind in LEAVES):
        outputs = t.get("outputs") or {}
        found |= {f"outputs.artifacts.{a['name']}.path" for a in outputs.get("artifacts") or []}
        for p in outputs.get("parameters") or []:
            if (p.get("valueFrom") or {}).get("path"):
                found.add(f"outputs.parameters.{p['name']}.path")
    return found


def _outputs(t: dict | None, prefix: str, name: str, loop: bool) -> tuple[set, set]:
    """``(given locally, given by Argo only)`` names of a step's or task's outputs."""
    base = f"{prefix}.{name}"
    argo = {f"{base}.{key}" for key in NODE_ONLY_ARGO}
    local: set[str] = set()
    if t is None:
        return local, argo
    if any(kind in t for kind in WITH_RESULT):
        local |= {f"{base}.outputs.result", f"{base}.exitCode"}
    outputs = t.get("outputs") or {}
    local |= {f"{base}.outputs.parameters.{p['name']}" for p in outputs.get("parameters") or []}
    local |= {f"{base}.outputs.artifacts.{a['name']}" for a in outputs.get("artifacts") or []}
    if loop:
        local.add(f"{base}.outputs.parameters")
        if "script" in t:
            local |= {f"{base}.outputs.result", f"{base}.exitCode"}
    return local, argo


def _global_outputs(templates) -> set[str]:
    """``workflow.outputs.*`` names the outputs' ``globalName`` give (``addOutputsToScope``);
    ``KIND.*`` when a globalName is itself a parameter."""
    found = set()
    for t in templates:
        for kind in ("parameters", "artifacts"):
            for out in (t.get("outputs") or {}).get(kind) or []:
                name = out.get("globalName")
                if name:
                    parameter = PARAMETER.search(str(name))
                    found.add(f"workflow.outputs.{kind}.{'*' if parameter else name}")
    return found


def _called(templates: Mapping[str, dict], call: dict) -> dict | None:
    """The template a step or task calls, ``None`` for a ``templateRef`` or ``inline`` one."""
    return templates.get(call.get("template"))


def _exit_hook(call: dict) -> bool:
    """``HasExitHook``: an ``onExit`` or an ``exit`` hook."""
    return bool(call.get("onExit") or "exit" in (call.get("hooks") or {}))


def _items(call: dict) -> set[str]:
    """``item.KEY`` names a loop gives (``addItemsToScope``); ``item.*`` stands for any."""
    if call.get("withParam"):
        return {"item.*"}
    keys = {k for item in call.get("withItems") or [] if isinstance(item, dict) for k in item}
    return {f"item.{k}" for k in keys}


def _steps(t: dict, templates: Mapping, scope: set) -> list[tuple[dict, set, set]]:
    local, argo, out = set(scope), set(), []
    for group in t["steps"] or []:
        for step in group or []:
            local.add(f"steps.{step['name']}.status")
            more, argo_more = _outputs(
                templates.get(step.get("template")), "steps", step["name"], looped(step)
            )
            own = more if _exit_hook(step) else set()  # validateSteps: its exit hook reads them
            out.append((step, local | own | _items(step), argo))
            local, argo = local | more, argo | argo_more
    return [*out, (t.get("outputs") or {}, local, argo)]  # validateOutputs: after every step


def _dag(t: dict, templates: Mapping, scope: set) -> list[tuple[dict, set, set]]:
    tasks = {task["name"]: task for task in t["dag"].get("tasks") or []}
    local, argo = set(scope), set()
    for name, task in tasks.items():  # validateDAG: every task's outputs, whatever the order
        more, argo_more = _outputs(_called(templates, task), "tasks", name, looped(task))
        local, argo = local | more, argo | argo_more
        if task.get("hooks"):
            local.add(f"tasks.{name}.status")
    # validateDAG reads the target, validateOutputs the outputs, once every task is in scope
    out = [({"target": t["dag"].get("target")}, local, argo), (t.get("outputs") or {}, local, argo)]
    for name, task in tasks.items():
        here = local | _items(task)
        for ancestor in _ancestors(name, tasks):
            found = tasks[ancestor]
            more, _ = _outputs(_called(templates, found), "tasks", ancestor, looped(found))
            here |= more | {f"tasks.{ancestor}.status"}
        out.append((task, here, argo))
    return out


def _ancestors(name: str, tasks: Mapping[str, dict]) -> set[str]:
    found: set[str] = set()
    todo = list(task_needs(tasks[name]))
    while todo:
        need = todo.pop()
        if need not in found and need in tasks:
            found.add(need)
            todo.extend(task_needs(tasks[need]))
    return found


def missing_dependency(task: dict, tasks: Mapping[str, dict]) -> str | None:
    """An argument that names ``{{tasks.X...`` for a task X this one does not depend on
    (``validateDAGTaskArgumentDependency``), or ``None``."""
    ancestors = _ancestors(task["name"], tasks)
    arguments = task.get("arguments") or {}
    values = [(p.get("name"), str(p.get("value", ""))) for p in arguments.get("parameters") or []]
    values += [(a.get("name"), str(a.get("from", ""))) for a in arguments.get("artifacts") or []]
    for name, value in values:
        if value.startswith("{{tasks."):
            ref = value.split(".")[1]
            if ref not in ancestors:
                return f"missing dependency {ref!r} for argument {name!r}"
    return None
