"""Conformance: the local runner ends a workflow as Argo v4.1.2 would, or refuses it up front.

Small workflows written here, run by :func:`dmlp.argo.run`. Every case names the upstream file and
function (argoproj/argo-workflows at tag v4.1.2, ``ARGO``) or the documentation page that fixes
its expected workflow phase, which nodes ran, were skipped or omitted, and their outputs.

Three leaf templates stand for the node phases Argo can give a pod: ``ok`` exits 0 (Succeeded),
``fail`` exits 1 (Failed: ``inferFailedReason`` in ``workflow/controller/operator.go`` gives a
main container's non-zero exit Failed), and ``error`` exits 0 without writing its declared output
parameter (Error: the wait container cannot save it, and a failed wait container is Error there).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.dmlp.argo.test_runner import py, run, wf

ARGO = "argo-workflows v4.1.2"
ASSESS = f"{ARGO} workflow/controller/dag.go assessDAGPhase"
DAG_TASK = f"{ARGO} workflow/controller/dag.go executeDAGTask"
DEPENDS = f"{ARGO} workflow/controller/dag.go evaluateDependsLogic"
STEP_GROUP = f"{ARGO} workflow/controller/steps.go executeStepGroup"

OK = py("ok", "print('ok')")
FAIL = py("fail", "import sys; sys.exit(1)")
ERROR = py(
    "error",
    "print('no output file')",
    outputs={"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}]},
)
ECHO = py("echo", "print('{{inputs.parameters.msg}}')", ["msg"])
EXIT = py("exit", "import sys; sys.exit(int('{{inputs.parameters.n}}'))", ["n"])
LEAVES = (OK, FAIL, ERROR, ECHO, EXIT)
ITEM_N = {"parameters": [{"name": "n", "value": "{{item}}"}]}


def t(name: str, template: str, depends: str | None = None, **fields) -> dict:
    """A DAG task (or a step) calling ``template``."""
    task = {"name": name, "template": template, **fields}
    if depends is not None:
        task["depends"] = depends
    return task


def dag(*tasks: dict, **fields) -> dict:
    """A workflow whose entrypoint ``main`` is a DAG of ``tasks`` over the leaf templates."""
    return wf({"name": "main", "dag": {"tasks": list(tasks), **fields}}, *LEAVES)


def phases(result) -> dict[str, str]:
    """``{display name: phase}`` of every node below the workflow's own."""
    return {n.name: n.phase for n in result.nodes.values() if n.id != result.name}


# ---------------------------------------------------------------------------- DAG phase

DAG_PHASE = [
    pytest.param(
        dag(t("bad", "fail"), t("next", "ok", "bad"), t("cleanup", "ok", "bad.Failed")),
        "Failed",
        {"bad": "Failed", "next": "Omitted", "cleanup": "Succeeded"},
        id=f"omitted target inherits the failed branch: {ASSESS}",
    ),
    pytest.param(
        dag(t("bad", "fail"), t("cleanup", "ok", "bad.Failed")),
        "Succeeded",
        {"bad": "Failed", "cleanup": "Succeeded"},
        id=f"a failure followed by a task that ran is not a failed branch: {ASSESS}",
    ),
    pytest.param(
        dag(t("bad", "fail"), t("cleanup", "ok", "bad.Failed", when="false")),
        "Failed",
        {"bad": "Failed", "cleanup": "Skipped"},
        id=f"a skipped target inherits the failed branch too (not Completed()): {ASSESS}",
    ),
    pytest.param(
        dag(
            t(
                "a",
                "echo",
                withItems=["x", "y"],
                arguments={"parameters": [{"name": "msg", "value": "{{item}}"}]},
            ),
            t("b", "fail", "a"),
            t("h", "ok", "b.Failed||a.Omitted"),
        ),
        "Succeeded",
        {
            "a": "Succeeded",
            "a(0:x)": "Succeeded",
            "a(1:y)": "Succeeded",
            "b": "Failed",
            "h": "Succeeded",
        },
        id=f"depends without spaces: {ARGO} workflow/common/ancestry.go GetTaskDependencies",
    ),
    pytest.param(
        dag(
            t("a", "fail", withItems=[1, 2]),
            t("b", "ok", withItems=[1]),
            t("c", "ok", "a.AnySucceeded || b.AnySucceeded"),
        ),
        "Succeeded",
        {
            "a": "Failed",
            "a(0:1)": "Failed",
            "a(1:2)": "Failed",
            "b": "Succeeded",
            "b(0:1)": "Succeeded",
            "c": "Succeeded",
        },
        id=f"the only target ran: its branch Succeeded, whatever came before: {ASSESS}",
    ),
    pytest.param(
        dag(t("a", "exit", withItems=[0, 1], arguments=ITEM_N), t("h", "ok", "a.AnySucceeded")),
        "Succeeded",
        {"a": "Failed", "a(0:0)": "Succeeded", "a(1:1)": "Failed", "h": "Succeeded"},
        id=f"a handler on AnySucceeded after a fan-out with one failed item: {DEPENDS}, {ASSESS}",
    ),
    pytest.param(
        dag(t("a", "exit", withItems=[0, 1], arguments=ITEM_N), t("h", "ok", "!a.Succeeded")),
        "Succeeded",
        {"a": "Failed", "a(0:0)": "Succeeded", "a(1:1)": "Failed", "h": "Succeeded"},
        id=f"a handler on !A.Succeeded after a fan-out with one failed item: {DEPENDS}",
    ),
    pytest.param(
        dag(t("a", "error", withItems=[1, 2]), t("h", "ok", "a.AllFailed || a.Errored")),
        "Succeeded",
        {"a": "Error", "a(0:1)": "Error", "a(1:2)": "Error", "h": "Succeeded"},
        id=f"a TaskGroup takes its items' Error; AllFailed wants Failed: {DAG_TASK}",
    ),
    pytest.param(
        dag(
            t(
                "a",
                "echo",
                withItems=["true", "maybe"],
                when="{{item}}",
                arguments={"parameters": [{"name": "msg", "value": "{{item}}"}]},
            )
        ),
        "Error",
        {"a": "Error", "a(0:true)": "Succeeded", "a(1:maybe)": "Error"},
        id=f"a when that is not boolean makes its item Error; the group and DAG Error: {DAG_TASK}",
    ),
    pytest.param(
        dag(t("a", "ok", when="maybe"), t("b", "ok"), t("h", "ok", "a.Errored")),
        "Succeeded",
        {"a": "Error", "b": "Succeeded", "h": "Succeeded"},
        id=f"a task whose when errs is Error and the DAG carries on: {DAG_TASK}",
    ),
    pytest.param(
        dag(t("a", "ok", withParam="[]"), t("b", "ok", "a")),
        "Succeeded",
        {"a": "Skipped", "b": "Succeeded"},
        id=f"a loop over no items is Skipped ('Skipped, empty params'): {DAG_TASK}",
    ),
    pytest.param(
        dag(t("a", "ok", withItems=[]), t("b", "ok", "a")),
        "Succeeded",
        {"a": "Succeeded", "b": "Succeeded"},
        id=f"withItems: [] is no loop, the task runs once: {ARGO} "
        "pkg/apis/workflow/v1alpha1/workflow_types.go DAGTask.ShouldExpand",
    ),
    pytest.param(
        dag(t("a", "fail"), t("b", "error")),
        "Failed",
        {"a": "Failed", "b": "Error"},
        id=f"failFast (default): the first failed target in name order decides: {ASSESS}",
    ),
    pytest.param(
        dag(t("a", "fail"), t("b", "error"), failFast=False),
        "Error",
        {"a": "Failed", "b": "Error"},
        id=f"failFast false: every target is read, the last failed one decides: {ASSESS}",
    ),
    pytest.param(
        dag(t("a", "ok"), t("b", "ok", "a"), t("c", "fail"), target="b"),
        "Succeeded",
        {"a": "Succeeded", "b": "Succeeded"},
        id=f"dag.target: only the targets and what they depend on run: {ARGO} dag.go executeDAG",
    ),
    pytest.param(
        dag(
            t("a", "ok", dependencies=[]),
            t("b", "ok", dependencies=["a"]),
            t("c", "fail", dependencies=["b"]),
            t("d", "ok", dependencies=["c"]),
        ),
        "Failed",
        {"a": "Succeeded", "b": "Succeeded", "c": "Failed", "d": "Omitted"},
        id=f"dependencies is depends joined by &&: {ARGO} workflow/common/ancestry.go",
    ),
    pytest.param(
        wf(
            {"name": "main", "dag": {"tasks": [t("inner", "inner"), t("after", "ok", "inner")]}},
            {"name": "inner", "dag": {"tasks": [t("bad", "fail"), t("h", "ok", "bad.Failed")]}},
            *LEAVES,
        ),
        "Succeeded",
        {"inner": "Succeeded", "bad": "Failed", "h": "Succeeded", "after": "Succeeded"},
        id=f"a nested DAG that handled its failure succeeds, and so does its caller: {ASSESS}",
    ),
]


@pytest.mark.parametrize(("data", "phase", "nodes"), DAG_PHASE)
def test_dag_phase_comes_from_the_branches_of_its_targets(data, phase, nodes):
    result = run(data)
    assert result.phase == phase, result.message
    assert phases(result) == nodes


# ---------------------------------------------------------------------------- steps

STEPS = [
    pytest.param(
        [[t("a", "ok")], [t("b", "ok", when="maybe"), t("c", "ok")], [t("d", "ok")]],
        {"a": "Succeeded", "b": "Error"},
        id=f"a when that is not boolean: the step and its group Error, no later step: {STEP_GROUP}",
    ),
    pytest.param(
        [[t("a", "ok"), t("b", "ok", when="maybe")], [t("d", "ok")]],
        {"a": "Succeeded", "b": "Error"},
        id=f"steps before the bad when in its group were started and run: {STEP_GROUP}",
    ),
    pytest.param(
        [[t("a", "error")], [t("b", "ok")]],
        {"a": "Error"},
        id=f"a group with an Error step fails the steps (Failed): {ARGO} steps.go executeSteps",
    ),
    pytest.param(
        [[t("a", "ok", withParam="{{workflow.name}}")], [t("b", "ok")]],
        {},
        id=f"a loop that cannot be expanded: nothing of its group starts: {STEP_GROUP}",
    ),
]


def test_a_step_with_an_empty_withitems_runs_once():
    # steps.go expandStepGroup expands a step only if WorkflowStep.ShouldExpand (items not empty)
    result = run(wf({"name": "main", "steps": [[t("a", "ok", withItems=[])]]}, *LEAVES))
    node = result.raise_for_status().node("a")
    assert (node.type, node.outputs["result"]) == ("Pod", "ok")


@pytest.mark.parametrize(("groups", "nodes"), STEPS)
def test_a_steps_template_stops_at_its_first_unsuccessful_group(groups, nodes):
    result = run(wf({"name": "main", "steps": groups}, *LEAVES))
    assert result.phase == "Failed", result.message  # executeSteps marks the steps node Failed
    ran = {k: v for k, v in phases(result).items() if not k.startswith("[")}
    assert ran == nodes


# ---------------------------------------------------------------------------- entrypoint arguments

OPERATE = f"{ARGO} workflow/controller/operator.go operate (spec.arguments are the entrypoint's)"
SUBMIT_P = f"{ARGO} workflow/util/util.go overrideParameters (argo submit -p)"
SAY = py("say", "print('{{inputs.parameters.message}}')", {"parameters": [{"name": "message"}]})
SAY_DEFAULT = py(
    "say", "print('{{inputs.parameters.message}}')",
    {"parameters": [{"name": "message", "default": "input default"}]},
)  # fmt: skip


@pytest.mark.parametrize(
    ("template", "declared", "given", "printed"),
    [
        pytest.param(SAY, {"message": "hello world"}, {}, "hello world", id=OPERATE),
        pytest.param(SAY, {"message": "hello world"}, {"message": "bye"}, "bye", id=SUBMIT_P),
        pytest.param(SAY_DEFAULT, {}, {}, "input default", id=f"no argument: {OPERATE}"),
        pytest.param(SAY_DEFAULT, {}, {"message": "given"}, "given", id=f"-p adds one: {SUBMIT_P}"),
        pytest.param(SAY_DEFAULT, {"message": "set"}, {}, "set", id=f"over one: {OPERATE}"),
    ],
)  # fmt: skip
def test_workflow_arguments_are_the_entrypoints_arguments(template, declared, given, printed):
    data = wf(template, entrypoint="say", arguments=declared)
    result = run(data, arguments=given).raise_for_status()
    assert result.node("t").outputs["result"] == printed


def test_a_workflow_argument_without_a_value_or_reaching_nothing_is_refused():
    from dmlp import argo

    data = wf(SAY, entrypoint="say")
    data["spec"]["arguments"] = {"parameters": [{"name": "message"}]}
    # validate.go validateArgumentsValues: "spec.arguments.message.value ... is required"
    with pytest.raises(argo.UsageError, match="'message' has no value"):
        run(data)
    with pytest.raises(argo.UsageError, match="unknown workflow argument.*nope.*inputs: message"):
        run(wf(SAY, entrypoint="say"), arguments={"nope": 1})  # a local guard against typos


TARGETS = f"{ARGO} workflow/validate/validate.go validateDAGTargets; dag.go executeDAG"


@pytest.mark.parametrize(
    ("target", "ran"),
    [
        pytest.param("c", {"a", "c"}, id=f"a parameter, resolved when the DAG runs: {TARGETS}"),
        pytest.param("b c", {"a", "b", "c"}, id=f"space-separated targets: {TARGETS}"),
    ],
)
def test_a_dag_target_given_as_a_parameter(target, ran):
    data = dag(t("a", "ok"), t("b", "ok", "a"), t("c", "ok", "a"), t("d", "ok", "b && c"),
               target="{{workflow.parameters.target}}")  # fmt: skip
    data["spec"]["arguments"] = {"parameters": [{"name": "target", "value": "b"}]}
    result = run(data, arguments={"target": target}).raise_for_status()
    assert set(phases(result)) == ran  # only the targets and what they depend on


def test_a_dag_target_naming_no_task_is_an_error_when_resolved():
    data = dag(t("a", "ok"), target="{{workflow.parameters.target}}")
    data["spec"]["arguments"] = {"parameters": [{"name": "target", "value": "nope"}]}
    result = run(data)  # validateDAGTargets passes a parameter over; its value names no task
    assert (result.phase, "target 'nope' is not defined" in result.message) == ("Error", True)
    assert phases(result) == {}  # no task ran


# ---------------------------------------------------------------------------- retries

RETRIES = f"{ARGO} workflow/controller/operator.go processNodeRetries"
COUNTED = """
import sys
path = '{{inputs.parameters.counter}}'
open(path, 'a').write('x')
n = len(open(path).read())
if n >= int('{{inputs.parameters.until}}'):
    open('/tmp/p', 'w').write(str(n))
elif '{{inputs.parameters.how}}' == 'fail':
    sys.exit(1)
"""  # attempt n < until: Failed (exit 1) or Error (no output file); then Succeeded


def counted(tmp_path, how: str, until: int, **retry) -> dict:
    """A workflow of one step that fails (``how``) until its ``until``-th attempt."""
    template = py(
        "counted", COUNTED, ["counter", "until", "how"], retryStrategy=retry,
        outputs={"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}]},
    )  # fmt: skip
    values = {"counter": str(tmp_path / "count"), "until": str(until), "how": how}
    arguments = {"parameters": [{"name": k, "value": v} for k, v in values.items()]}
    steps = {
        "name": "main",
        "steps": [[{"name": "s", "template": "counted", "arguments": arguments}]],
    }
    return wf(steps, template)


@pytest.mark.parametrize(
    ("how", "until", "retry", "phase", "attempts"),
    [
        pytest.param("fail", 3, {"limit": 3}, "Succeeded", 3,
                     id=f"OnFailure retries Failed: {RETRIES}"),
        pytest.param("error", 3, {"limit": 3}, "Error", 1,
                     id=f"OnFailure (default) not Error: {RETRIES}"),
        pytest.param("fail", 3, {"limit": 3, "retryPolicy": "OnError"}, "Failed", 1,
                     id=f"OnError does not retry Failed: {RETRIES}"),
        pytest.param("error", 3, {"limit": 3, "retryPolicy": "OnError"}, "Succeeded", 3,
                     id=f"OnError retries Error: {RETRIES}"),
        pytest.param("error", 9, {"limit": 1, "retryPolicy": "Always"}, "Error", 2,
                     id=f"Always, until the limit: {RETRIES}"),
        pytest.param("fail", 5, {"retryPolicy": "Always"}, "Succeeded", 5,
                     id=f"no limit, no cap: {RETRIES} (Limit nil)"),
        pytest.param("fail", 2, {"limit": 0}, "Failed", 1, id=f"limit 0: {RETRIES}"),
        pytest.param("fail", 2, {"limit": 3, "retryPolicy": "OnTransientError"}, "Failed", 1,
                     id=f"an exit code is not transient: {ARGO} util/errors/errors.go"),
    ],
)  # fmt: skip
def test_retry_policies_and_limits(tmp_path, how, until, retry, phase, attempts):
    result = run(counted(tmp_path, how, until, **retry))
    node = result.node("s")
    assert (node.phase, node.attempts) == (phase, attempts), node.message
    assert result.phase == ("Succeeded" if phase == "Succeeded" else "Failed")


def test_on_transient_error_follows_transient_error_pattern(tmp_path, monkeypatch):
    # errors.go matchTransientErrPattern: the controller's TRANSIENT_ERROR_PATTERN, matched
    # against the node's message, which for a step that exited 1 is "main: Error (exit code 1)".
    monkeypatch.setenv("TRANSIENT_ERROR_PATTERN", r"\(exit code 1\)")
    retry = {"limit": 2, "retryPolicy": "OnTransientError"}
    result = run(counted(tmp_path, "fail", 3, **retry)).raise_for_status()
    assert result.node("s").attempts == 3


def test_backoff_waits_only_when_a_limit_is_set(tmp_path):
    # processNodeRetries waits `duration * factor ** (attempts - 1)` only if `Limit != nil`.
    (tmp_path / "a").mkdir()
    start = time.monotonic()
    run(counted(tmp_path / "a", "fail", 3, backoff={"duration": "30s"})).raise_for_status()
    assert time.monotonic() - start < 30
    start = time.monotonic()
    backoff = {"duration": "0.5s", "factor": 2}
    run(counted(tmp_path, "fail", 3, limit=2, backoff=backoff)).raise_for_status()
    assert time.monotonic() - start >= 0.5 + 1.0
    (tmp_path / "b").mkdir()  # "1", a whole number, is seconds (utils.go ParseStringToDuration)
    start = time.monotonic()
    run(counted(tmp_path / "b", "fail", 2, limit=1, backoff={"duration": "1"})).raise_for_status()
    assert time.monotonic() - start >= 1.0


@pytest.mark.parametrize(
    ("retry", "needle"),
    [
        ({"limit": 1, "retryPolicy": "Sometimes"}, "Sometimes is not a valid RetryPolicy"),
        ({"limit": 1, "expression": "true"}, "'expression' is not supported"),
        ({"limit": 1, "backoff": {"factor": 2}}, "backoff needs a duration"),
        ({"limit": 1, "backoff": {"duration": "1s", "factor": 1.5}}, "factor must be integer or s"),
        ({"limit": "{{workflow.parameters.n}}"}, "limit must be a whole number"),
        # pkg/apis/workflow/v1alpha1/utils.go ParseStringToDuration: Atoi, else time.ParseDuration
        ({"limit": 1, "backoff": {"duration": "1.5"}}, "'1.5' is not a duration"),
        ({"limit": 1, "backoff": {"duration": "1s", "cap": "2.0"}}, "'2.0' is not a duration"),
    ],
)  # fmt: skip
def test_retry_strategies_argo_refuses_are_refused_before_the_run(tmp_path, retry, needle):
    from dmlp import argo

    with pytest.raises(argo.UnsupportedWorkflow, match=needle):
        run(counted(tmp_path, "fail", 1, **retry))


# ---------------------------------------------------------------------------- artifact paths

SUBSTITUTE = f"{ARGO} workflow/common/util.go SubstituteParams"


def test_input_artifact_paths_and_nested_declared_paths(tmp_path):
    # SubstituteParams: {{inputs.artifacts.NAME.path}} is the artifact's declared path in the pod,
    # and {{outputs.artifacts.NAME.path}} the output's; the step reads and writes there.
    produce = py(
        "produce",
        "import os\nos.makedirs('/work/data', exist_ok=True)\n"
        "open('/work/data/x.txt', 'w').write('seven')",
        outputs={"artifacts": [{"name": "data", "path": "/work/data"}]},
    )
    consume = py(
        "consume",
        "text = open('{{inputs.artifacts.data.path}}/x.txt').read()\n"
        "open('{{outputs.artifacts.summary.path}}', 'w').write(text.upper())\n"
        "print('{{inputs.artifacts.data.path}}', open('/work/data/summary.txt').read())",
        inputs={"artifacts": [{"name": "data", "path": "/work/data"}]},
        outputs={"artifacts": [{"name": "summary", "path": "/work/data/summary.txt"}]},
    )
    steps = [
        [t("p", "produce")],
        [
            t(
                "c",
                "consume",
                arguments={
                    "artifacts": [{"name": "data", "from": "{{steps.p.outputs.artifacts.data}}"}]
                },
            )
        ],
    ]
    result = run(wf({"name": "main", "steps": steps}, produce, consume), work_dir=tmp_path)
    result.raise_for_status()
    printed = result.node("c").outputs["result"]
    assert printed.endswith("/fs/work/data SEVEN"), f"{SUBSTITUTE}: {printed}"
    assert printed.count("/work/data") == 1  # moved under the step's folder once, not twice
    summary = result.node("c").outputs["artifacts"]["summary"]
    assert open(summary).read() == "SEVEN"


# ---------------------------------------------------------------------------- one check

VALIDATE = f"{ARGO} workflow/validate/validate.go"


def test_the_runner_and_make_validate_make_one_check():
    from dmlp import argo
    from dmlp.argo import spec
    from dmlp.kube.validate.webhooks import operator_rules

    missing = dag(t("a", "ok"), t("b", "helo", "a"))  # validateTemplateHolder: "... undefined"
    with pytest.raises(spec.InvalidWorkflow) as refused:
        run(missing)
    assert operator_rules(missing) == [("spec", str(refused.value))], VALIDATE
    local_only = dag(t("a", "wait"))  # Argo runs a suspend template; the runner cannot
    local_only["spec"]["templates"].append({"name": "wait", "suspend": {}})
    with pytest.raises(argo.UnsupportedWorkflow, match="'suspend' is not supported"):
        run(local_only)
    assert operator_rules(local_only) == []


# ---------------------------------------------------------------------------- variables

RESOLVE = f"{ARGO} workflow/validate/validate.go resolveAllVariables"


def first_marks(tmp_path, later: dict) -> dict:
    """Steps: ``first`` touches a file, then ``later`` runs (``pod`` prints ``{{pod.name}}``)."""
    marker = tmp_path / "ran"
    touch = py("touch", f"open({str(marker)!r}, 'w')")
    pod = py("pod", "print('{{pod.name}}')")  # validateTemplate: pod.name in a pod's template
    steps = {"name": "main", "steps": [[t("first", "touch")], [later]]}
    return wf(steps, touch, pod, *LEAVES)


def echo(value: str, name: str = "later", **fields) -> dict:
    return t(name, "echo", arguments={"parameters": [{"name": "msg", "value": value}]}, **fields)


@pytest.mark.parametrize(
    ("later", "argo_refuses", "needle"),
    [
        (echo("{{steps.nope.outputs.result}}"), True, f"failed to resolve: {RESOLVE}"),
        (echo("{{steps.first.outputs.parameters.p}}"), True, f"undeclared output: {RESOLVE}"),
        (echo("{{workflow.parameters.nope}}"), True, f"undeclared parameter: {RESOLVE}"),
        (echo("{{pod.name}}"), True, f"pod.name outside a pod's template: {RESOLVE}"),
        (t("later", "pod"), False, "pod.name: the local runner cannot give it"),
        (echo("{{workflow.uid}}"), False, "workflow.uid: the local runner cannot give it"),
        (echo("{{steps.first.startedAt}}"), False, "a node's startedAt: not given locally"),
        (echo("{{=sprig.upper('x')}}"), False, "expression tags are not supported"),
    ],
)  # fmt: skip
def test_a_variable_that_cannot_be_resolved_is_refused_before_the_first_step(
    tmp_path, later, argo_refuses, needle
):
    from dmlp.argo import spec

    with pytest.raises(spec.UnsupportedWorkflow) as refused:
        run(first_marks(tmp_path, later))
    assert isinstance(refused.value, spec.InvalidWorkflow) == argo_refuses, str(refused.value)
    assert "template '" in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "ran").exists(), needle


@pytest.mark.parametrize(
    "task",
    [
        t("h", "ok", "a.AnySucceeded"),
        t("h", "echo", "b", arguments={"parameters": [
            {"name": "msg", "value": "{{tasks.a.outputs.result}}"}]}),
    ],
    ids=[f"AnySucceeded of a task without a loop: {ARGO} validate.go validateDAG",
         "an argument from a task it does not depend on: validateDAGTaskArgumentDependency"],
)  # fmt: skip
def test_what_argos_dag_validation_refuses(task):
    from dmlp.argo import spec

    with pytest.raises(spec.InvalidWorkflow):
        run(dag(t("a", "ok"), t("b", "ok"), task))


NAMES = f"{ARGO} workflow/validate/validate.go validateWorkflowFieldNames"


@pytest.mark.parametrize(
    "data",
    [
        dag(t("a_b", "ok"), t("c", "ok", "a_b")),
        dag(t("a.b", "ok")),
        wf({"name": "main", "steps": [[t("s_1", "ok")]]}, *LEAVES),
        wf({"name": "main", "steps": [[t("s", "o_k")]]}, py("o_k", "print(1)")),
        wf({"name": "main", "steps": [[t("s", "p")]]}, py("p", "print(1)", ["a b"])),
        dag(t("a", "ok"), t("b", "ok", dependencies=["a"]), t("c", "ok", "a")),
        dag(t("a", "ok"), t("1b", "ok", dependencies=["a"])),
        dag(t("1a", "ok"), t("b", "ok"), t("c", "ok", "b")),
    ],
    ids=[f"a task name with '_': {NAMES}", f"a task name with '.': {NAMES}",
         f"a step name with '_': {ARGO} validate.go validateSteps isValidStepName",
         f"a template name with '_': {NAMES}",
         f"a parameter name with a space: {ARGO} validate.go isValidParamOrArtifactName",
         f"depends and dependencies in one DAG: {ARGO} validate.go validateDAG",
         f"a task name beginning with a digit, with dependencies: {ARGO} validateDAG",
         f"any task name beginning with a digit once depends is used: {ARGO} validateDAG"],
)  # fmt: skip
def test_names_argo_refuses_are_refused_in_one_line(data):
    from dmlp.argo import spec

    with pytest.raises(spec.InvalidWorkflow) as refused:
        run(data)
    assert "template '" in str(refused.value) or "workflow spec" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_retries_and_tags_without_an_argo_prefix(tmp_path):
    # executeTemplate gives {{retries}} (the attempt number) to a template with a retryStrategy;
    # SubstituteParams leaves a tag it does not know as it is written (allowUnresolved).
    log = tmp_path / "log"
    source = f"open({str(log)!r}, 'a').write('{{{{retries}}}} ')\nprint('{{{{foo}}}}')\n"
    source += "import sys; sys.exit(0 if '{{retries}}' == '2' else 1)"
    flaky = py("flaky", source, retryStrategy={"limit": 3})
    result = run(wf({"name": "main", "steps": [[t("s", "flaky")]]}, flaky)).raise_for_status()
    assert log.read_text().split() == ["0", "1", "2"]
    assert result.node("s").outputs["result"] == "{{foo}}"


# ---------------------------------------------------------------------------- smaller rules

SKIPPED_OUT = f"{ARGO} workflow/controller/scope.go addSkippedNodeOutputsToScope"
PRODUCE = py(
    "produce", "open('/tmp/out.txt', 'w').write('hello')",
    outputs={"parameters": [{"name": "msg", "valueFrom": {"path": "/tmp/out.txt"}}]},
)  # fmt: skip


def consumer(default: str | None) -> dict:
    inputs = {"parameters": [{"name": "in", **({"default": default} if default else {})}]}
    return py("consume", "print('{{inputs.parameters.in}}')", inputs)


@pytest.mark.parametrize(
    ("producer_default", "consumer_default", "phase", "printed"),
    [
        ("default-from-producer", None, "Succeeded", "default-from-producer"),
        (None, "FALLBACK-FROM-INPUT", "Succeeded", "FALLBACK-FROM-INPUT"),
        (None, None, "Error", None),
    ],
    ids=[f"TestDAGSkippedOutputDefault: {SKIPPED_OUT}",
         f"TestDAGSkippedInputDefaultUsed: {ARGO} workflow/common/util.go ProcessArgs",
         f"TestDAGSkippedOutputRef: an absent optional with no default is an Error: {SKIPPED_OUT}"],
)  # fmt: skip
def test_outputs_of_a_skipped_task(producer_default, consumer_default, phase, printed):
    produce = PRODUCE if producer_default is None else py(
        "produce", PRODUCE["script"]["source"],
        outputs={"parameters": [{"name": "msg", "valueFrom": {
            "path": "/tmp/out.txt", "default": producer_default}}]},
    )  # fmt: skip
    tasks = [
        t("producer", "produce", when="false"),
        t("consumer", "consume", "producer.Succeeded || producer.Skipped", arguments={
            "parameters": [{"name": "in", "value": "{{tasks.producer.outputs.parameters.msg}}"}]}),
    ]  # fmt: skip
    result = run(wf({"name": "main", "dag": {"tasks": tasks}}, produce, consumer(consumer_default)))
    node = result.node("consumer")
    assert node.phase == phase, node.message
    if printed is None:
        assert "absent optional" in node.message
    else:
        assert node.outputs["result"] == printed


def test_results_and_output_parameters_lose_one_trailing_newline():
    # executor.go CaptureScriptResult and SaveParameters: "Trims off a single newline".
    two = py(
        "two", "print('a\\n')\nopen('/tmp/p', 'w').write('x\\n\\n')",
        outputs={"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}]},
    )  # fmt: skip
    result = run(wf({"name": "main", "steps": [[t("two", "two")]]}, two)).raise_for_status()
    node = result.node("two")
    assert node.outputs["result"] == "a\n" and node.outputs["parameters"]["p"] == "x\n"
    empty = run(wf({"name": "main", "steps": [[t("e", "empty")]]}, py("empty", "pass")))
    assert empty.node("e").outputs["result"] == ""  # CaptureScriptResult: "" when nothing printed


def test_no_step_timeout_unless_asked_for():
    import inspect

    from dmlp import argo

    # Argo kills a pod only at its template's activeDeadlineSeconds (or the workflow's).
    assert inspect.signature(argo.run).parameters["step_timeout"].default is None


# ---------------------------------------------------------------------------- fan-out aggregates

AGGREGATE = f"{ARGO} workflow/controller/operator.go processAggregateNodeOutputs"
ITEM_WRITES = py(
    "writes",
    "open('/tmp/p', 'w').write('{{inputs.parameters.v}}')\nprint('{{inputs.parameters.v}}')",
    ["v"], outputs={"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}]},
)  # fmt: skip
EXPECT = py(
    "expect", "import sys\ngot = r'''{{inputs.parameters.got}}'''\n"
    "sys.exit(0 if got == r'''{{inputs.parameters.want}}''' else f'got {got}')",
    ["got", "want"],
)  # fmt: skip


def fan_in(items: list, ref: str, want: str | None = None, prefix: str = "tasks") -> dict:
    """``fan`` writes each item as its output parameter ``p`` and its result, ``check`` wants
    ``ref`` (a reference to the fan-out's aggregated outputs) to read ``want``."""
    fan = t("fan", "writes", withItems=items,
            arguments={"parameters": [{"name": "v", "value": "{{item}}"}]})  # fmt: skip
    values = {"got": "{{" + f"{prefix}.fan.{ref}" + "}}", "want": want or ""}
    check = t("check", "expect", arguments={"parameters": [
        {"name": k, "value": v} for k, v in values.items()]})  # fmt: skip
    if prefix == "steps":
        return wf({"name": "main", "steps": [[fan], [check]]}, ITEM_WRITES, EXPECT)
    return wf({"name": "main", "dag": {"tasks": [fan, {**check, "depends": "fan"}]}},
              ITEM_WRITES, EXPECT)  # fmt: skip


@pytest.mark.parametrize(
    ("items", "ref", "want"),
    [
        (['{"b": 2, "a": 1}', '{"a": 3}'], "outputs.parameters.p", '[{"a":1,"b":2},{"a":3}]'),
        (["[1, 2]", "[]"], "outputs.parameters.p", "[[1,2],[]]"),
        (["1", "2"], "outputs.parameters.p", '["1","2"]'),
        (['{"a": 1}', "x"], "outputs.parameters.p", '["{\\"a\\": 1}","x"]'),
        (["1", "2"], "outputs.parameters", '[{"p":"1"},{"p":"2"}]'),
        (["1.50", '{"b": 2, "a": 1}'], "outputs.result", '[1.50,{"b":2,"a":1}]'),
        (['{"lr": 1.0, "n": 12345678901234567890}', '{"lr": 1e-7}'], "outputs.parameters.p",
         '[{"lr":1,"n":12345678901234567000},{"lr":1e-7}]'),
        (["a<b & c", "café"], "outputs.parameters.p", r'["a\u003cb \u0026 c","café"]'),
    ],
    ids=["maps parsed, Go's JSON", "lists parsed", "numbers stay strings",
         "not all maps: strings", "the parameter maps",
         "results are Items: raw JSON compacted, key order and numbers as printed",
         "parsed values are float64: 1.0 is 1, big integers rounded, 1e-7 as Go writes it",
         "Go's json.Marshal escapes <, > and & and keeps other non-ASCII"],
)  # fmt: skip
def test_aggregated_outputs_of_a_fan_out(items, ref, want):
    for prefix in ("tasks", "steps"):
        result = run(fan_in(items, ref, want, prefix))
        assert result.phase == "Succeeded", f"{AGGREGATE} aggregatedJSONValueList: {result.message}"


def test_a_result_that_is_not_json_cannot_be_aggregated_when_used():
    # processAggregateNodeOutputs unmarshals every result into an Item: "x" is not JSON. The DAG's
    # task that needs it is Error (buildLocalScopeFromTask); a steps template is Error itself.
    dag_run = run(fan_in(["x", "1"], "outputs.result", "unused"))
    assert (dag_run.phase, dag_run.node("check").phase) == ("Error", "Error")
    steps_run = run(fan_in(["x", "1"], "outputs.result", "unused", prefix="steps"))
    assert steps_run.phase == "Error" and "not JSON" in steps_run.message
    unused = run(fan_in(["x", "1"], "outputs.parameters.p", '["x","1"]'))
    assert unused.phase == "Succeeded", unused.message  # includeScriptOutput: not captured
    # An omitted task is fulfilled too: executeDAGTask builds its scope the same way and marks
    # its node Error, so the DAG is Error rather than Succeeded.
    omitted = fan_in(["x", "1"], "outputs.result", "unused")
    omitted["spec"]["templates"][0]["dag"]["tasks"][1]["depends"] = "fan.Failed"
    result = run(omitted)
    assert (result.phase, result.node("check").phase) == ("Error", "Error"), result.message
    assert "not JSON" in result.node("check").message


ITEM = f"{ARGO} workflow/controller/operator.go processItem, generateNodeName"
SHOW = py("show", "print(r'''{{inputs.parameters.v}}''')", ["v"])


def test_item_values_and_node_names_as_argo_prints_them():
    # A map item's values are fmt'd as wfv1.Item (item.go Item.String: JSON, a string's quotes
    # taken off, its escapes kept); a string item is given as it is. Node names join the map's
    # "key:value" pairs sorted, and drop parentheses.
    def loop(name: str, items: list, value: str) -> dict:
        arguments = {"parameters": [{"name": "v", "value": value}]}
        return t(name, "show", withItems=items, arguments=arguments)

    maps = loop("m", [{"b": 'say "hi" (1) <&>', "a": 2}], "{{item.b}}")
    strings = loop("s", ['x "y" (z)'], "{{item}}")
    result = run(wf({"name": "main", "steps": [[maps, strings]]}, SHOW)).raise_for_status()
    mapped = result.node('m(0:a:2,b:say \\"hi\\" 1 <&>)').outputs["result"]
    assert mapped == 'say \\"hi\\" (1) <&>', ITEM
    assert result.node('s(0:x \\"y\\" z)').outputs["result"] == 'x "y" (z)', ITEM


# ---------------------------------------------------------------------------- memoize

MEMO = f"{ARGO} docs/memoization.md; workflow/controller/operator.go executeTemplate (cache hit)"


def memo_artifacts(content: str, key: str, log) -> dict:
    """A memoized step writes ``content`` to an artifact; the next step prints it."""
    make = py(
        "make",
        f"open({str(log)!r}, 'a').write('ran ')\nopen('/tmp/a.txt', 'w').write('{content}')",
        outputs={"artifacts": [{"name": "a", "path": "/tmp/a.txt"}]},
        memoize={"key": key, "maxAge": "1h", "cache": {"configMap": {"name": "artifacts"}}},
    )  # fmt: skip
    show = py("show", "print(open('/tmp/in.txt').read())",
              inputs={"artifacts": [{"name": "a", "path": "/tmp/in.txt"}]})  # fmt: skip
    steps = [[t("make", "make")], [t("show", "show", arguments={
        "artifacts": [{"name": "a", "from": "{{steps.make.outputs.artifacts.a}}"}]})]]  # fmt: skip
    return wf({"name": "main", "steps": steps}, make, show)


def test_a_memoized_artifact_is_the_one_cached_across_processes(tmp_path):
    cache, log, work = tmp_path / "cache", tmp_path / "ran", tmp_path / "work"
    source = tmp_path / "wf.json"
    source.write_text(json.dumps(memo_artifacts("first", "k1", log)))
    code = (  # the first run, in a process of its own, in a temporary work dir it removes
        "import json; from dmlp import argo; "
        f"argo.run(json.load(open({str(source)!r})), cache_dir={str(cache)!r}, quiet=True)"
        ".raise_for_status()"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
    hit = run(memo_artifacts("first", "k1", log), cache_dir=cache, work_dir=work)
    assert hit.node("make").cache == "hit" and hit.node("show").outputs["result"] == "first", MEMO
    other = run(memo_artifacts("second", "k2", log), cache_dir=cache, work_dir=work)
    assert other.node("show").outputs["result"] == "second"  # the same work dir, overwritten
    again = run(memo_artifacts("first", "k1", log), cache_dir=cache, work_dir=work)
    assert again.node("make").cache == "hit" and again.node("show").outputs["result"] == "first"
    assert log.read_text().split() == ["ran", "ran"]  # k1 once, k2 once


MEMO_KEY = f"{ARGO} workflow/controller/cache/configmap_cache.go load (cacheKeyRegex)"
MAX_AGE = f"{ARGO} workflow/controller/operator.go executeTemplate (time.ParseDuration)"


def memo_step(key: str, max_age: str = "1h") -> dict:
    memoize = {"key": key, "maxAge": max_age, "cache": {"configMap": {"name": "c"}}}
    step = py("m", "print('ran')", ["key", "age"], memoize=memoize)
    values = {"key": "k1", "age": "10s"}
    arguments = {"parameters": [{"name": k, "value": v} for k, v in values.items()]}
    return wf({"name": "main", "steps": [[t("s", "m", arguments=arguments)]]}, step)


@pytest.mark.parametrize("cache", [False, True], ids=["no cache_dir", "a cache_dir"])
@pytest.mark.parametrize(
    ("key", "max_age", "needle"),
    [
        ("0.01", "1h", f"invalid cache key: {MEMO_KEY}"),
        ("{{inputs.parameters.key}}-lr_0", "1h", f"invalid cache key: {MEMO_KEY}"),
        ("{{inputs.parameters.key}}", "{{inputs.parameters.key}}", f"maxAge: {MAX_AGE}"),
    ],
)  # fmt: skip
def test_a_memoize_key_or_max_age_argo_cannot_read_is_an_error(tmp_path, cache, key, max_age,
                                                               needle):  # fmt: skip
    result = run(memo_step(key, max_age), cache_dir=tmp_path if cache else None)
    node = result.node("s")
    assert (node.phase, node.attempts, result.phase) == ("Error", 0, "Failed"), needle
    assert "memoize" in node.message


def test_a_max_age_without_a_unit_is_refused_before_the_run():
    from dmlp.argo import spec

    # time.ParseDuration("60") fails ("missing unit in duration"): the step would end Error.
    with pytest.raises(spec.UnsupportedWorkflow, match="maxAge '60' is not a duration"):
        run(memo_step("k1", "60"))
    assert run(memo_step("k1", "1m30s")).raise_for_status().node("s").cache is None


@pytest.mark.parametrize(
    ("name", "valid"), [("dmlp-cache", True), ("dmlp.cache.v1", True), ("Cache", False),
                        ("cache_1", False), ("-cache", False)],
)  # fmt: skip
def test_a_memoize_cache_is_a_configmap_and_has_a_configmap_name(tmp_path, name, valid):
    # The cache is the ConfigMap of that name (cache/configmap_cache.go); the API server takes
    # only a DNS-1123 subdomain as a ConfigMap's name (apimachinery IsDNS1123Subdomain).
    from dmlp.argo import spec

    data = memo_step("k1")
    data["spec"]["templates"][1]["memoize"]["cache"]["configMap"]["name"] = name
    if valid:
        run(data, cache_dir=tmp_path).raise_for_status()
        again = run(data, cache_dir=tmp_path).raise_for_status()
        assert again.node("s").cache == "hit" and (tmp_path / f"{name}.json").is_file()
    else:
        with pytest.raises(spec.UnsupportedWorkflow, match="is not a valid ConfigMap name"):
            run(data, cache_dir=tmp_path)


# ---------------------------------------------------------------------------- resource steps


def test_a_tfjob_step_without_both_conditions_is_refused(monkeypatch):
    from dmlp.argo import pods, spec
    from tests.dmlp.argo.test_runner import TFJOB

    # executor/resource.go WaitResource returns at once without conditions, and matchConditions
    # succeeds at its first poll with a failureCondition alone: Argo does not wait for the job.
    # With a successCondition alone, matchConditions polls until it holds: a TFJob whose worker
    # failed never gets there, and the step waits for ever (the local run would say Failed).
    monkeypatch.setattr(pods, "LOCAL_MODULES", ("chapters.", "tests."))
    success = {"successCondition": "status.replicaStatuses.Worker.succeeded == 2"}
    failure = {"failureCondition": "status.replicaStatuses.Worker.failed > 0"}
    for conditions, missing in (({}, "success"), (failure, "success"), (success, "failure")):
        resource = {"action": "create", "manifest": TFJOB, **conditions}
        with pytest.raises(spec.UnsupportedWorkflow, match=f"without {missing}Condition"):
            run(wf({"name": "main", "resource": resource}))


# ---------------------------------------------------------------------------- parallelism

PARALLEL = f"{ARGO} workflow/controller/operator.go checkParallelism, node_counters.go"
NAP = py("nap", "import time; time.sleep(0.4)")


def most_at_once(result) -> int:
    nodes = [n for n in result.leaves() if n.template == "nap"]
    return max(sum(m.started <= n.started < m.finished for m in nodes) for n in nodes)


@pytest.mark.parametrize("kind", ["steps", "dag"])
def test_template_parallelism_counts_all_its_loops_together(kind):
    # getActiveChildren counts a template's running pods (and steps/DAGs) whatever loop they
    # belong to: two loops of three under `parallelism: 2` run two pods at a time, not four.
    loops = [t(name, "nap", withItems=[1, 2, 3]) for name in ("a", "b")]
    body = {"steps": [loops]} if kind == "steps" else {"dag": {"tasks": loops}}
    result = run(wf({"name": "main", "parallelism": 2, **body}, NAP)).raise_for_status()
    assert most_at_once(result) <= 2, PARALLEL


# ---------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("image", "refusal"),
    [
        ("dmlp:dev", None),
        ("registry.example:5000/team/dmlp:0.3", None),
        ("python:3.11-alpine", "image 'python:3.11-alpine' cannot run locally"),
        ("dmlp-tools:dev", "image 'dmlp-tools:dev' cannot run locally"),
        ("", "the image may not be empty"),  # validate.go validateLeaf: Argo refuses it too
    ],
)  # fmt: skip
def test_only_the_project_image_runs_locally(image, refusal):
    from dmlp.argo import spec

    script = py("s", "print('ran')")
    script["script"]["image"] = image
    data = wf({"name": "main", "steps": [[t("s", "s")]]}, script)
    if refusal is None:
        assert run(data).raise_for_status().node("s").outputs["result"] == "ran"
        return
    with pytest.raises(spec.UnsupportedWorkflow, match=refusal) as refused:
        run(data)
    assert isinstance(refused.value, spec.InvalidWorkflow) == (image == "")
