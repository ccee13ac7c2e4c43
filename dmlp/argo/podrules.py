"""What Argo v4.1.2 refuses in the pod a template asks for, before anything runs.

The local runner runs no pod, so none of this changes a local run; it is what ``make validate``
must refuse as Argo does (``workflow/validate/validate.go``, each named below). Each function
gives the first problem as a message, or ``None``; :mod:`dmlp.argo.spec` raises it as an
:class:`~dmlp.argo.spec.InvalidWorkflow`:

* container names Argo keeps for its own containers (``wait``, ``supervisor``,
  ``artifact-plugin-*``: ``common.IsArgoSidecar``) in ``sidecars`` or a ``containerSet``;
* a ``containerSet`` (``ContainerSetTemplate.Validate``): containers named once, each dependency
  one of them, a container named ``main`` when the template has inputs or outputs to move;
* mount paths (``validateLeaf``): a container's volume mounts and input artifacts each at their
  own path;
* pod-level resources (``validatePodResources``): cpu, memory and ``hugepages-*`` only, no
  claims, and never on an ``http`` or ``plugin`` template, which runs on the shared agent pod;
  ``resourceClaims`` only on a template that makes a pod;
* a real-time gauge (``ValidateMetricValues``) cannot read ``resourcesDuration.*``.
"""

from __future__ import annotations

from collections.abc import Mapping

from dmlp.argo import fields

RESERVED = ("wait", "supervisor")  # WaitContainerName, SupervisorContainerName
RESERVED_PREFIX = "artifact-plugin-"  # ArtifactPluginSidecarPrefix
POD_KINDS = ("container", "containerSet", "script", "resource", "data")  # Template.IsPodType
AGENT_KINDS = ("http", "plugin")


def _reserved(name) -> bool:
    return name in RESERVED or str(name).startswith(RESERVED_PREFIX)


def template_problem(t: Mapping, kind: str) -> str | None:
    """The first thing about the pod of ``t`` (a ``kind`` template) Argo refuses."""
    if t.get("podResources") is not None:
        if kind in AGENT_KINDS:
            return f"podResources is not supported for {kind} templates"
        found = pod_resources(t["podResources"])
        if found:
            return found
    if t.get("resourceClaims") and kind not in POD_KINDS:
        return f"resourceClaims is not supported for {kind} templates, which do not create a pod"
    found = _mounts(t) if kind == "container" else None
    found = found or (_container_set(t) if kind == "containerSet" else None)
    if found:
        return found
    for sidecar in t.get("sidecars") or []:
        if _reserved(sidecar.get("name")):
            return f"sidecars: {sidecar.get('name')!r} is a reserved Argo container name"
    for metric in (t.get("metrics") or {}).get("prometheus") or []:
        gauge = metric.get("gauge") or {}
        if gauge.get("realtime") and "resourcesDuration." in str(gauge.get("value", "")):
            return (
                f"metric {metric.get('name')!r}: 'resourcesDuration.*' metrics cannot be used "
                "in real-time"
            )
    return None


def pod_resources(resources: Mapping | None) -> str | None:
    """What ``validatePodResources`` refuses in a ``podResources`` (the spec's or a template's)."""
    resources = resources or {}
    if resources.get("claims"):
        return "podResources.claims is not supported for pod-level resources"
    for part in ("limits", "requests"):
        for name in resources.get(part) or {}:
            if name not in ("cpu", "memory") and not str(name).startswith("hugepages-"):
                return (
                    f"podResources: {name!r} is not a valid pod-level resource, only cpu, "
                    "memory and hugepages-* are supported"
                )
    return None


def _mounts(t: Mapping) -> str | None:
    seen: dict[str, str] = {}
    for mount in (t.get("container") or {}).get("volumeMounts") or []:
        path = mount.get("mountPath")
        if path in seen:
            return f"volume mount path {path!r} already mounted in {seen[path]}"
        seen[path] = f"container.volumeMounts.{mount.get('name')}"
    for artifact in (t.get("inputs") or {}).get("artifacts") or []:
        path = artifact.get("path")
        if path in seen:
            return f"input artifact path {path!r} already mounted in {seen[path]}"
        seen[path] = f"inputs.artifacts.{artifact.get('name')}"
    return None


def _container_set(t: Mapping) -> str | None:
    containers = t["containerSet"].get("containers") or []
    if not containers:
        return "containerSet.containers must have at least one container"
    found = fields.names(containers, "containerSet container")
    if found:
        return found
    names = {c["name"] for c in containers}
    for c in containers:
        for need in c.get("dependencies") or []:
            if need not in names:
                return f"containerSet container {c['name']!r}: dependency {need!r} not defined"
    inputs, outputs = t.get("inputs") or {}, t.get("outputs") or {}
    if inputs.get("artifacts") or outputs.get("parameters") or outputs.get("artifacts"):
        if "main" not in names:
            return 'containerSet.containers must have a container named "main" for input or output'
    for name in names:
        if _reserved(name):
            return f"containerSet.containers: {name!r} is a reserved Argo container name"
    return None
