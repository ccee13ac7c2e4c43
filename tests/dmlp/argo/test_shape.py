"""The runner's first check: Argo v4.1.2's Workflow schema, so a wrong type is refused in one line.

Argo's full CRD (``manifests/base/crds/full/argoproj.io_workflows.yaml`` at v4.1.2, vendored in
``manifests/schemas/``) is what ``kubectl create`` checks a Workflow against with strict field
validation, and its Go types (``pkg/apis/workflow/v1alpha1/workflow_types.go``) are what ``argo
submit`` decodes it into. Each case below is refused before the first step, naming the template
(and the step or task) and the field; and no change to a workflow makes the check raise anything
but that refusal.
"""

from __future__ import annotations

import copy
import random

import pytest

from dmlp import argo
from dmlp.argo import spec
from dmlp.kube.validate.webhooks import argo_workflow_rules
from tests.dmlp.argo.test_argo_examples import EVERY, example
from tests.dmlp.argo.test_conformance_runner import OK, t
from tests.dmlp.argo.test_runner import run, wf

CRD = "argo-workflows v4.1.2 manifests/base/crds/full/argoproj.io_workflows.yaml"
TYPES = "argo-workflows v4.1.2 pkg/apis/workflow/v1alpha1/workflow_types.go"


def steps(*calls: dict, **main_fields) -> dict:
    return wf({"name": "main", "steps": [list(calls)], **main_fields}, OK)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(steps(t("a", "ok", withItem=[1, 2])),
                     "template 'main', step 'a': unknown field 'withItem' (did you mean 'with",
                     id=f"a misspelled field: {CRD}"),
        pytest.param(wf({"name": "main", "steps": {"a": t("a", "ok")}}, OK),
                     "template 'main': steps must be array, not a mapping",
                     id=f"steps is a list of lists: {TYPES} Template.Steps"),
        pytest.param(steps(t("a", "ok", withItems=3)),
                     "template 'main' steps[0][0]: withItems must be a list, not a int 3",
                     id=f"withItems is []Item, open in the schema: {TYPES} WorkflowStep.WithItems"),
        pytest.param(steps(t("a", "ok"), parallelism="two"),
                     "template 'main': parallelism must be integer, not a string \"two\"",
                     id=f"parallelism is an int64: {CRD}"),
        pytest.param(wf({**OK, "memoize": {"key": "k", "cache": {"configMap": {"name": "c"}}}}),
                     "template 'ok': memoize.maxAge: required field is missing",
                     id=f"Memoize.MaxAge has no omitempty: {CRD}"),
        pytest.param({**steps(t("a", "ok")), "spec": {**steps(t("a", "ok"))["spec"],
                                                      "podGC": {"strategy": "Sometimes"}}},
                     'workflow spec: podGC.strategy is "Sometimes", not one of "", "OnPodComplet',
                     id=f"an enum the runner otherwise passes over: {CRD}"),
    ],
)  # fmt: skip
def test_a_field_of_the_wrong_type_or_name_is_refused_naming_where(data, message):
    with pytest.raises(spec.InvalidWorkflow) as refused:
        run(data)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert argo_workflow_rules(data) == [("spec", str(refused.value))]  # make validate agrees


WEIRD = [None, 0, 1, -1, 1.5, True, "", "x", "{{", "{{inputs.parameters.nope}}", "a b", [], {},
         [None], {"a": None}]  # fmt: skip


def mutated(rng: random.Random, data: dict) -> dict:
    """``data`` with one to three fields removed or replaced by a value of another type."""
    data = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        paths, todo = [], [((), data["spec"])]
        while todo:
            path, node = todo.pop()
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                paths.append((*path, key))
                if isinstance(child, dict | list):
                    todo.append(((*path, key), child))
        if not paths:
            break
        *parents, last = rng.choice(paths)
        parent = data["spec"]
        for key in parents:
            parent = parent[key]
        if rng.random() < 0.3:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(rng.choice(WEIRD))
    return data


def test_no_change_to_a_workflow_makes_the_check_fail_with_a_traceback():
    rng = random.Random(17)
    bases = [example(*param.values) for param in EVERY]
    refused = 0
    for _ in range(1500):
        data = mutated(rng, rng.choice(bases))
        for check in (spec.check, argo_workflow_rules):
            try:
                check(copy.deepcopy(data))
            except argo.UnsupportedWorkflow as err:
                assert str(err) and "\n" not in str(err)
                refused += 1
    assert refused > 1000  # about half of the 3,000 checks refuse; none raised anything else
