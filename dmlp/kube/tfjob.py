"""The TFJob builder: one function that writes every TFJob the Python code creates.

Introduced in chapter 8, section 8.3 (``kubeflow_tfjob``: ``manifests/ch08/tfjob.yaml`` and the
TFJob its workflow creates); chapter 9's workflow trains each model with one. A TFJob
(``kubeflow.org/v1``, Training Operator v1.9.4) is a set of replica types (``Chief``, ``PS``,
``Worker``...), each a number of identical pods whose container the operator finds by its name,
``tensorflow``, and gives a ``TF_CONFIG``::

    job = tfjob.build(
        "train", {"Worker": tfjob.Replica(["python", "-m", "my.module"], ["--out=/data"], 2)},
        namespace="dmlp", image="dmlp:dev", volumes={"data": ("dmlp-data", "/data")},
    )

The result is a plain dict: ``yaml.safe_dump(job, sort_keys=False)`` for a file, or
:func:`dmlp.kube.compact.dump` for a resource template whose ``replicas`` is an Argo placeholder.
``make validate`` checks it against the TFJob CRD and the operator's webhook rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CONTAINER = "tensorflow"  # the operator finds the training container by this name
# One training pod's budget (README, "Capacity budget": each chapter within 1 CPU of requests).
RESOURCES = {
    "requests": {"cpu": "100m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "2Gi"},
}
NON_ROOT = {"runAsNonRoot": True, "runAsUser": 1000}  # the image's user (Dockerfile)
POD_SECURITY = {"fsGroup": 1000}  # files on the volumes belong to that user's group


@dataclass(frozen=True)
class Replica:
    """One replica type: how many pods, and what the ``tensorflow`` container runs in each.

    ``count`` may be an Argo placeholder (a :class:`dmlp.kube.compact.Bare` string)."""

    command: Sequence[str]
    args: Sequence[str] = ()
    count: int | str = 1
    restart_policy: str = "OnFailure"  # restart a failed pod (ExitCode: only on exit 128+)


def build(
    name: str,
    replicas: Mapping[str, Replica],
    *,
    namespace: str,
    image: str,
    labels: Mapping[str, str] | None = None,
    run_policy: Mapping | None = None,
    resources: Mapping = RESOURCES,
    security_context: Mapping = NON_ROOT,
    pod_security_context: Mapping = POD_SECURITY,
    volumes: Mapping[str, tuple[str, str]] | None = None,
) -> dict:
    """A TFJob named ``name`` with one entry of ``tfReplicaSpecs`` per ``replicas`` item.

    Every pod gets the same ``image``, ``resources`` and security settings; ``volumes`` maps a
    volume name to ``(PersistentVolumeClaim, mount path)``. ``run_policy`` is the job's
    ``runPolicy`` (``cleanPodPolicy``, ``backoffLimit``, ``schedulingPolicy``...).
    """
    metadata = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    spec: dict = {}
    if run_policy is not None:
        spec["runPolicy"] = dict(run_policy)
    spec["tfReplicaSpecs"] = {
        kind: _replica(replica, image, resources, security_context, pod_security_context, volumes)
        for kind, replica in replicas.items()
    }
    return {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "metadata": metadata, "spec": spec}


def _replica(
    replica: Replica,
    image: str,
    resources: Mapping,
    security_context: Mapping,
    pod_security_context: Mapping,
    volumes: Mapping[str, tuple[str, str]] | None,
) -> dict:
    container = {
        "name": CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",  # kind has the image loaded (scripts/build-load.sh)
        "command": list(replica.command),
        "args": list(replica.args),
        "resources": {part: dict(values) for part, values in resources.items()},
        "securityContext": dict(security_context),
    }
    pod: dict = {"securityContext": dict(pod_security_context), "containers": [container]}
    if volumes:
        container["volumeMounts"] = [{"name": v, "mountPath": m} for v, (_, m) in volumes.items()]
        pod["volumes"] = [
            {"name": v, "persistentVolumeClaim": {"claimName": claim}}
            for v, (claim, _) in volumes.items()
        ]
    return {
        "replicas": replica.count,
        "restartPolicy": replica.restart_policy,
        "template": {"spec": pod},
    }
