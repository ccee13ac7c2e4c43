"""Stage 4: the references. An object naming one that the rendering does not define, or an
unpinned image, is reported with its path; references may span the files of one kustomization."""

from __future__ import annotations

import pytest

from dmlp.kube import validate as mf
from tests.dmlp.kube.validate.samples import (
    DEPLOYMENT,
    ISVC,
    TFJOB,
    WORKFLOW,
    assert_rejected,
    edit,
    write_kustomization,
)

DANGLING = {
    "hpa-target-missing": (
        DEPLOYMENT + "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
        "metadata: {name: h, namespace: dmlp}\nspec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: webb}\n"
        "  minReplicas: 1\n  maxReplicas: 2\n",
        "HorizontalPodAutoscaler dmlp/h",
        "spec.scaleTargetRef",
        "no Deployment named 'webb'",
    ),
    "service-selects-nothing": (
        edit(DEPLOYMENT, "  selector: {app: web}", "  selector: {app: wen}"),
        "Service dmlp/web",
        "spec.selector",
        "selects no pod template's labels",
    ),
    "pvc-not-defined": (
        edit(ISVC, "pvc://data/model", "pvc://dmlp-data/model"),
        "InferenceService dmlp/isvc",
        "spec.predictor.model.storageUri",
        "PersistentVolumeClaim 'dmlp-data' is not defined",
    ),
    "pod-volume-pvc-not-defined": (
        edit(
            TFJOB,
            '            - {name: tensorflow, image: "dmlp:dev"}',
            '            - {name: tensorflow, image: "dmlp:dev"}\n'
            "          volumes: [{name: d, persistentVolumeClaim: {claimName: gone}}]",
        ),
        "TFJob dmlp/job",
        "spec.tfReplicaSpecs.Worker.template.spec.volumes[0].persistentVolumeClaim.claimName",
        "PersistentVolumeClaim 'gone' is not defined",
    ),
    "configmap-not-defined": (
        edit(
            DEPLOYMENT,
            "          ports:",
            "          envFrom: [{configMapRef: {name: cfg}}]\n          ports:",
        ),
        "Deployment dmlp/web",
        "spec.template.spec.containers[0].envFrom[0].configMapRef.name",
        "ConfigMap 'cfg' is not defined",
    ),
    "service-account-not-defined": (
        edit(WORKFLOW, "  entrypoint: main", "  entrypoint: main\n  serviceAccountName: runner"),
        "Workflow dmlp/wf",
        "spec.serviceAccountName",
        "ServiceAccount 'runner' is not defined",
    ),
    "image-latest": (
        edit(WORKFLOW, '"dmlp:dev"', "python:latest"),
        "Workflow dmlp/wf",
        "spec.templates[0].container.image",
        "uses ':latest'",
    ),
    "image-untagged": (
        edit(DEPLOYMENT, '"dmlp:dev"', "nginx"),
        "Deployment dmlp/web",
        "spec.template.spec.containers[0].image",
        "has no tag",
    ),
}


@pytest.mark.parametrize("case", sorted(DANGLING))
def test_a_dangling_reference_or_unpinned_image_is_reported(tmp_path, case):
    assert_rejected(tmp_path, case, DANGLING[case])


def test_the_cross_references_span_the_whole_rendering(tmp_path):
    (tmp_path / "isvc.yaml").write_text(ISVC.split("---")[0])
    (tmp_path / "pvc.yaml").write_text(ISVC.split("---")[1])
    write_kustomization(tmp_path, ["isvc.yaml", "pvc.yaml"])
    assert mf.validate_path(tmp_path, renderer="python") == []
