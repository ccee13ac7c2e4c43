"""How this repository's workflows run on Argo: image, namespace, volume, service account.

One place for the cluster-side conventions every Hera definition shares (introduced in chapter 5,
used again by chapter 8 and the project), so a pattern module only says what its steps do::

    @script(constructor="runner", **conventions.script_options())
    def train(...): ...

    with Workflow(**conventions.workflow_options("fan-in-fan-out"), entrypoint="pipeline", ...):

Steps read and write files under ``/data`` (the ``dmlp-data`` PVC, as in chapters 3 and 4); on a
laptop the runner gets a local folder for the same ``out`` argument instead. The local runner
ignores these cluster-only fields.
"""

from __future__ import annotations

from hera.workflows import Resources
from hera.workflows import models as m

IMAGE = "dmlp:dev"  # built from the repository's Dockerfile; kind loads it (scripts/build-load.sh)
NAMESPACE = "dmlp"
SERVICE_ACCOUNT = "dmlp-workflow"  # manifests/ch05/rbac.yaml: workflowtaskresults create/patch
DATA_PVC = "dmlp-data"  # manifests/base/pvc.yaml
DATA_MOUNT = "/data"
CACHE_CONFIGMAP = "dmlp-workflow-cache"  # in the controller's namespace (argo), label type=Cache


def labels(chapter: str) -> dict[str, str]:
    """The labels of every object a chapter creates (``kubectl get -l dmlp/chapter=ch08``)."""
    return {"app.kubernetes.io/part-of": "dmlp", "dmlp/chapter": chapter}


def workflow_options(name: str, chapter: str = "ch05", data: bool = True) -> dict:
    """``Workflow(...)`` keyword arguments: name, namespace, labels, pod settings, the data PVC."""
    options = {
        "name": name,
        "namespace": NAMESPACE,
        "labels": labels(chapter),
        "service_account_name": SERVICE_ACCOUNT,
        # podGC lives on the workflow spec (never in a template): keep pods until the workflow
        # succeeded, so a failed step's logs can still be read.
        "pod_gc": m.PodGC(strategy="OnWorkflowSuccess"),
        "security_context": m.PodSecurityContext(
            run_as_non_root=True, run_as_user=1000, fs_group=1000
        ),
    }
    if data:
        claim = m.PersistentVolumeClaimVolumeSource(claim_name=DATA_PVC)
        options["volumes"] = [m.Volume(name="data", persistent_volume_claim=claim)]
    return options


def script_options(cpu: str = "250m", memory: str = "512Mi", data: bool = True) -> dict:
    """``@script(...)`` keyword arguments: the project image, the data volume, small requests."""
    options = {
        "image": IMAGE,
        "image_pull_policy": "IfNotPresent",
        "resources": Resources(cpu_request=cpu, memory_request=memory),
    }
    if data:
        options["volume_mounts"] = [m.VolumeMount(name="data", mount_path=DATA_MOUNT)]
    return options


def tfjob_options(chapter: str) -> dict:
    """:func:`dmlp.kube.tfjob.build` keyword arguments: namespace, image, labels, the data PVC."""
    return {
        "namespace": NAMESPACE,
        "image": IMAGE,
        "labels": labels(chapter),
        "volumes": {"data": (DATA_PVC, DATA_MOUNT)},
    }


def defaults(settings, *names: str, **overrides: str) -> dict[str, str]:
    """Workflow arguments from an example's settings (declared once), e.g. ``seed: "42"``.

    Argo parameters are text: ``None`` (a flag left out) becomes ``""``.
    """
    values = {n: getattr(settings, n) for n in names}
    return {**{n: "" if v is None else str(v) for n, v in values.items()}, **overrides}


def from_workflow(*names: str) -> dict[str, str]:
    """Step arguments that pass the workflow's parameters through: ``{"seed": "{{...seed}}"}``."""
    return {n: "{{workflow.parameters." + n + "}}" for n in names}
