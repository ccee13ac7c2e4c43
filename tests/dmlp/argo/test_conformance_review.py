"""Conformance, second reading: cases found by reading the runner against Argo v4.1.2 again.

Same rules as :mod:`tests.dmlp.argo.test_conformance_runner`: small workflows written here, each
case naming the upstream file and function (argoproj/argo-workflows at tag v4.1.2) that fixes its
expected phase, the nodes that ran, or the refusal. ``make validate`` is
:func:`dmlp.kube.validate.webhooks.argo_workflow_rules`, the runner's own check without what only
the runner cannot do.
"""

from __future__ import annotations

import copy
import re

import pytest

from dmlp.argo import spec
from dmlp.kube.validate.webhooks import argo_workflow_rules
from tests.dmlp.argo.test_argo_examples import EVERY, EXAMPLES, workflows
from tests.dmlp.argo.test_conformance_runner import ARGO, ASSESS, LEAVES, OK, SAY, dag, phases, t
from tests.dmlp.argo.test_runner import py, run, wf

VALIDATE = f"{ARGO} workflow/validate/validate.go"


# ---------------------------------------------------------------------------- make validate


@pytest.mark.parametrize(("name", "index"), [p.values for p in EVERY], ids=[p.id for p in EVERY])
def test_make_validate_accepts_every_workflow_example_of_argo(name, index):
    # Argo's e2e test (test/e2e/examples_test.go) submits each of them: Workflow() accepts them.
    # Among them: a containerSet's and a data template's outputs.result (Template.HasOutput), an
    # exit hook reading its own step's outputs (validateSteps), workflow.failures with an onExit,
    # workflow.outputs.* from a globalName (addOutputsToScope), a workflowTemplateRef.
    data = workflows(EXAMPLES / f"{name}.yaml")[index]
    assert argo_workflow_rules(copy.deepcopy(data)) == [], VALIDATE


# ---------------------------------------------------------------------------- DAG phase


def test_a_dag_target_list_is_read_in_its_own_order():
    # executeDAG: targetTasks = strings.Split(dag.target, " "), not sorted; assessDAGPhase stops
    # at the first target whose branch Failed or Errored (failFast), so its phase is the DAG's.
    result = run(dag(t("z", "fail"), t("a", "error"), target="z a"))
    assert (result.phase, phases(result)) == ("Failed", {"z": "Failed", "a": "Error"}), ASSESS
    result = run(dag(t("z", "fail"), t("a", "error")))  # findLeafTaskNames sorts the leaves
    assert result.phase == "Error", ASSESS


# ---------------------------------------------------------------------------- what Argo refuses


def steps_of(*templates: dict, step: dict | None = None) -> dict:
    """A workflow whose entrypoint ``main`` runs ``step`` (default: ``ok``) alone."""
    return wf({"name": "main", "steps": [[step or t("a", "ok")]]}, *LEAVES, *templates)


def with_arguments(*parameters: dict) -> dict:
    data = wf(SAY, entrypoint="say")
    data["spec"]["arguments"] = {"parameters": list(parameters)}
    return data


NAMES = f"{VALIDATE} validateWorkflowFieldNames"
REFUSED = [
    pytest.param(steps_of({**OK, "name": "my_ok"}, step=t("a", "my_ok")), "template name 'my_ok'",
                 id=f"a template name with '_': {NAMES}"),
    pytest.param(steps_of(step=t("a_b", "ok")), "step name 'a_b'",
                 id=f"a step name with '_': {VALIDATE} validateSteps isValidStepName"),
    pytest.param(dag(t("a.b", "ok")), "task name 'a.b'", id=f"a task name with '.': {NAMES}"),
    pytest.param(steps_of(py("p", "print(1)", ["a.b"]), step=t("a", "p", arguments={
        "parameters": [{"name": "a.b", "value": "1"}]})), "parameter name 'a.b'",
        id=f"a parameter name with '.': {VALIDATE} validateInputs"),
    pytest.param(steps_of(py("p", "print(1)", ["x", "x"]), step=t("a", "p", arguments={
        "parameters": [{"name": "x", "value": "1"}]})), "'x' is not unique",
        id=f"an input declared twice: {NAMES}"),
    pytest.param(with_arguments({"name": "message", "value": "a"}, {"name": "message"}),
                 "'message' is not unique", id=f"a workflow argument twice: {NAMES}"),
    pytest.param(with_arguments({"name": "message", "value": "x", "enum": ["a", "b"]}),
                 "not one of", id=f"a value outside its enum: {VALIDATE} validateArgumentsValues"),
    pytest.param(steps_of(step=t("a", "echo")), "'msg' of template 'echo' had no value",
                 id=f"an input no argument gives: {ARGO} workflow/common/util.go SubstituteParams"),
    pytest.param(wf(SAY, entrypoint="say"), "'message' of template 'say' had no value",
                 id=f"an entrypoint input without a workflow argument: {VALIDATE} Workflow"),
    pytest.param(dag(), "at least one task", id=f"a DAG without tasks: {VALIDATE} validateDAG"),
    pytest.param(dag(t("1a", "ok"), t("b", "ok"), t("c", "ok", "b")), "begin with a digit",
                 id=f"any task name beginning with a digit in a DAG with depends: {VALIDATE} "
                    "validateDAG"),
    pytest.param(dag(t("a", "ok"), t("b", "ok", "a"), t("c", "ok", dependencies=["a"])),
                 "dependencies and depends in one DAG",
                 id=f"depends in one task, dependencies in another: {VALIDATE} validateDAG"),
    pytest.param(dag(t("a", "ok", continueOn={"failed": True}), t("b", "ok", "a")),
                 "continueOn with depends", id=f"continueOn and depends: {VALIDATE} validateDAG"),
    pytest.param(dag(t("z", "ok"), t("a", "ok"), target="z  a"), "unknown task ''",
                 id=f"two spaces in dag.target: {VALIDATE} validateDAGTargets"),
    pytest.param(wf({"name": "main", "activeDeadlineSeconds": 5, "steps": [[t("a", "ok")]]},
                    *LEAVES), "only valid for leaf templates",
                 id=f"activeDeadlineSeconds of a steps template: {VALIDATE} validateNonLeaf"),
    pytest.param(steps_of({**OK, "name": "p", "parallelism": 1}, step=t("a", "p")),
                 "parallelism is only valid", id=f"parallelism of a leaf: {VALIDATE} validateLeaf"),
    pytest.param(steps_of({**OK, "name": "p", "activeDeadlineSeconds": -1}, step=t("a", "p")),
                 "must be a positive", id=f"a negative deadline: {VALIDATE} validateLeaf"),
    pytest.param(steps_of({**OK, "name": "p", "inputs": {"artifacts": [{"name": "d"}]}}, step=t(
        "a", "p", arguments={"artifacts": [{"name": "d", "from": "{{workflow.name}}"}]})),
        "has no path", id=f"a leaf's input artifact without a path: {VALIDATE} validateInputs"),
    pytest.param(wf({"name": "main", "inputs": {"artifacts": [{"name": "d", "path": "/tmp/d"}]},
                     "steps": [[t("a", "ok")]]}, *LEAVES), "only valid in a leaf",
                 id=f"a path on a steps template's input artifact: {VALIDATE} validateInputs"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "needle"), REFUSED)
def test_what_argo_refuses_the_runner_and_make_validate_refuse(data, needle):
    with pytest.raises(spec.InvalidWorkflow, match=re.escape(needle)) as refused:
        run(copy.deepcopy(data))
    assert "\n" not in str(refused.value)
    assert argo_workflow_rules(data) == [("spec", str(refused.value))]


# ---------------------------------------------------------------------------- variables

RESOLVE = f"{VALIDATE} resolveAllVariables"
PRINT = "print('{{%s}}')"


@pytest.mark.parametrize(
    ("template", "argo_refuses"),
    [
        pytest.param(py("p", PRINT % "node.name"), False,
                     id=f"node.name: {ARGO} operator.go executeTemplate gives it"),
        pytest.param(py("p", PRINT % "lastRetry.exitCode", retryStrategy={"limit": 1}), False,
                     id=f"lastRetry.* with a retryStrategy: {ARGO} operator.go executeTemplate"),
        pytest.param(py("p", PRINT % "workflow.parameters"), True,
                     id=f"workflow.parameters without arguments: {VALIDATE} Workflow, {RESOLVE}"),
    ],
)  # fmt: skip
def test_variables_the_runner_would_print_wrong_are_refused(template, argo_refuses):
    data = steps_of(template, step=t("a", "p"))
    with pytest.raises(spec.UnsupportedWorkflow) as refused:
        run(copy.deepcopy(data))
    assert isinstance(refused.value, spec.InvalidWorkflow) == argo_refuses
    assert (argo_workflow_rules(data) != []) == argo_refuses


def test_last_retry_without_a_retry_strategy_stays_as_written():
    # No Argo prefix (common.go GlobalVarValidWorkflowVariablePrefix) and no retryStrategy:
    # nothing fills it in, and SubstituteParams leaves the tag as written.
    result = run(steps_of(py("p", PRINT % "lastRetry.exitCode"), step=t("a", "p")))
    assert result.raise_for_status().node("a").outputs["result"] == "{{lastRetry.exitCode}}"
