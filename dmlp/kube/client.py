"""The Kubernetes API clients, from the reader's kubeconfig or, inside a pod, the service account
(introduced in chapter 8: ``kubernetes_basics`` runs a Pod with them, ``dmlp.argo.submit`` a
Workflow). No cluster configured is one clear error, not a traceback."""

from __future__ import annotations

from dmlp.example.errors import UsageError


def clients():
    """``(CustomObjectsApi, CoreV1Api)`` from the kubeconfig (or in-cluster); one-line errors."""
    from kubernetes import client, config

    try:
        config.load_kube_config()
    except Exception:  # noqa: BLE001 - no kubeconfig: maybe we run in a pod
        try:
            config.load_incluster_config()
        except config.ConfigException:
            raise UsageError(
                "no Kubernetes cluster configured (no kubeconfig, not in a pod): run `make kind-up`"
            ) from None
    return client.CustomObjectsApi(), client.CoreV1Api()
