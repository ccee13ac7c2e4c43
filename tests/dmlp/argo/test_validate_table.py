"""Argo v4.1.2's own validation tests as a table: ``make validate``'s check gives Argo's answer.

Each Workflow in ``workflow/validate/validate_test.go`` and ``validate_dag_test.go`` (Go raw
strings, copied into ``validate_table.yaml`` beside this file with the Go test function that checks
it) must be accepted by :func:`dmlp.argo.spec.check` with ``runner=False`` (what
:func:`dmlp.kube.validate.webhooks.argo_workflow_rules` runs) when Argo's test expects no error,
and refused as an :class:`~dmlp.argo.spec.InvalidWorkflow` when it expects one.

Where the two differ on purpose the case says so (``argo:`` starts with "(the full CRD"): Argo's
full CRD, which ``manifests/cluster-install`` installs in v4.1.2 and ``kubectl create`` checks,
refuses what ``validate.go`` alone lets through (an integer ``value``, a ``{{...}}`` where the CRD
has an enum or a pattern, a gauge without ``realtime``); the schema check (:mod:`dmlp.argo.shape`)
follows the CRD. Left out, with the reason (:data:`LEFT_OUT`): cases that need WorkflowTemplates in
a cluster (``templateRef``), ``argo lint`` or submit-time options, or a workflow edited in Go.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dmlp.argo import spec
from dmlp.kube.validate.webhooks import argo_workflow_rules

TABLE = yaml.safe_load((Path(__file__).parent / "validate_table.yaml").read_text())
LEFT_OUT = {
    "TestVolumeMountArtifactPathCollision (second call)": "the Go test edits the mount path first",
    "TestSpecArgumentNoValue (Opts{Lint: true})": "argo lint leaves spec arguments to submit time",
    "TestNestedTemplateRef*, TestUndefinedTemplateRef, TestTemplateRefWithPlaceholderInName*": (
        "need the cluster's WorkflowTemplates (templateRef)"
    ),
    "TestWorkflowTemplateWithEnumValueWithoutValue (Opts{Submit: true})": "submit-time arguments",
    "TestExecutorPluginsValidation, TestInvalidPodGCLabelSelector, TestMaxLengthName, "
    "TestSubstituteGlobalVariablesLabelsAnnotations, TestInvalidContainerSetNoMainContainer": (
        "YAML built inside Go code or with cluster defaults, not a plain raw string"
    ),
}


def _id(case: dict) -> str:
    return f"{case['source']} {case['test']} {case['workflow']}"


@pytest.mark.parametrize("case", TABLE, ids=[_id(case) for case in TABLE])
def test_argo_validation_answer(case):
    data = yaml.safe_load(case["yaml"])
    if case["expect"] == "accepted":
        spec.check(data, runner=False)
        assert argo_workflow_rules(data) == []
        return
    with pytest.raises(spec.InvalidWorkflow) as caught:
        spec.check(data, runner=False)
    assert case["match"] in str(caught.value), (case["argo"], str(caught.value))
    assert argo_workflow_rules(data) == [("spec", str(caught.value))]


def test_table_covers_both_answers():
    answers = [case["expect"] for case in TABLE]
    assert answers.count("accepted") >= 50
    assert answers.count("refused") >= 70
