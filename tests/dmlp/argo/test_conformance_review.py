"""Conformance, second reading: cases found by reading the runner against Argo v4.1.2 again.

Same rules as :mod:`tests.dmlp.argo.test_conformance_runner`: small workflows written here, each
case naming the upstream file and function (argoproj/argo-workflows at tag v4.1.2) that fixes its
expected phase, the nodes that ran, or the refusal. ``make validate`` is
:func:`dmlp.kube.validate.webhooks.argo_workflow_rules`, the runner's own check without what only
the runner cannot do.
"""

from __future__ import annotations

import copy

import pytest

from dmlp.kube.validate.webhooks import argo_workflow_rules
from tests.dmlp.argo.test_argo_examples import EVERY, EXAMPLES, workflows
from tests.dmlp.argo.test_conformance_runner import ARGO, ASSESS, dag, phases, run, t

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
