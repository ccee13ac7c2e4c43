"""Stage 3: the webhook rules. What the TFJob admission webhook, or Argo's validation of a
Workflow, refuses although the CRD schema allows it is reported with its path."""

from __future__ import annotations

import pytest

from tests.dmlp.kube.validate.samples import TFJOB, WORKFLOW, assert_rejected, edit

REFUSED = {
    "tfjob-container-not-named-tensorflow": (
        edit(TFJOB, "name: tensorflow", "name: trainer"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.template.spec.containers",
        "needs a container named 'tensorflow'",
    ),
    "tfjob-replica-type": (
        edit(TFJOB, "    Worker:", "    Workers:"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Workers",
        "unknown replica type 'Workers' (did you mean 'Worker'?)",
    ),
    "tfjob-two-chiefs": (
        edit(TFJOB, "    Worker:", "    Chief:" + TFJOB.split("    Worker:")[1] + "    Master:"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs",
        "at most one Chief or Master",
    ),
    "tfjob-restart-policy": (
        edit(TFJOB, "restartPolicy: OnFailure", "restartPolicy: Sometimes"),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.restartPolicy",
        "'Sometimes' is not one of",
    ),
    "tfjob-clean-pod-policy": (
        edit(TFJOB, "cleanPodPolicy: None", "cleanPodPolicy: Never"),
        "TFJob dmlp/job",
        "spec.runPolicy.cleanPodPolicy",
        "'Never' is not one of",
    ),
    "tfjob-name-not-dns-1035": (
        edit(TFJOB, "name: job,", "name: 3job,"),
        "TFJob dmlp/3job",
        "metadata.name",
        "DNS-1035",
    ),
}


DAG = edit(
    WORKFLOW,
    "    - name: main\n",
    "    - name: main\n      dag:\n        tasks:\n          - {name: a, template: hello}\n"
    "          - {name: b, template: hello, depends: a}\n    - name: hello\n",
)

# What Argo's validation refuses (workflow/validate/validate.go at v4.1.2), found by the local
# runner's own check (dmlp.argo.spec.check), so `make validate` and the runner cannot disagree.
ARGO_REFUSED = {
    "dag-task-names-a-missing-template": (
        edit(DAG, "{name: b, template: hello", "{name: b, template: helo"),
        "Workflow dmlp/wf",
        "spec",
        "task 'b': unknown template 'helo'",
    ),
    "dag-cycle": (
        edit(DAG, "{name: a, template: hello}", "{name: a, template: hello, depends: b}"),
        "Workflow dmlp/wf",
        "spec",
        "dependency cycle",
    ),
    "duplicate-task-names": (
        edit(DAG, "{name: b, template: hello, depends: a}", "{name: a, template: hello}"),
        "Workflow dmlp/wf",
        "spec",
        "task name 'a' is not unique",
    ),
}

REFUSED.update(ARGO_REFUSED)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_a_webhook_or_argo_refuses_is_reported_with_its_path(tmp_path, case):
    assert_rejected(tmp_path, case, REFUSED[case])
