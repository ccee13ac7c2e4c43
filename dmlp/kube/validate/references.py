"""Stage 4, references: an object that names another names one that exists in the same rendering.

HPA targets, Service selectors (some pod template carries the labels), PersistentVolumeClaims
(pod volumes and KServe ``pvc://`` URIs), ConfigMaps, ServiceAccounts; objects every cluster has
(:data:`WELL_KNOWN`) need no manifest. Every image is the project image or pinned by a tag other
than ``latest``. Argo placeholders (``{{...}}``) are resolved only at run time: they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from dmlp.argo.pods import is_project_image
from dmlp.kube.crd import format_path
from dmlp.kube.validate.objects import Item, Problem, walk

# Objects a cluster always has, so a reference to them needs no manifest.
WELL_KNOWN = {"ServiceAccount": {"default"}, "ConfigMap": {"kube-root-ca.crt"}}


def image_problem(image: str) -> str | None:
    name, _, digest = image.partition("@")
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if digest:
        return None
    if is_project_image(name) and tag:
        return None
    if not tag:
        return f"image {image!r} has no tag: pin a release tag (or a digest)"
    if tag == "latest":
        return f"image {image!r} uses ':latest': pin a release tag (or a digest)"
    return None


def templates(doc: dict) -> Iterator[dict]:
    """Labels of every pod this object creates (pod templates and bare pods)."""
    if doc.get("kind") == "Pod":
        yield (doc.get("metadata") or {}).get("labels") or {}
    for _, node in walk(doc):
        if isinstance(node, dict) and isinstance(node.get("template"), dict):
            template = node["template"]
            if isinstance((template.get("spec") or {}).get("containers"), list):
                yield (template.get("metadata") or {}).get("labels") or {}


def cross_references(items: list[Item]) -> list[Problem]:
    """References between the objects of one rendering."""
    problems: list[Problem] = []
    defined: dict[str, set[tuple[str | None, str]]] = {}
    for item in items:
        defined.setdefault(item.kind, set()).add((item.namespace, item.name))
    pod_labels = [labels for item in items for labels in templates(item.doc)]

    def exists(kind: str, namespace: str | None, name: str) -> bool:
        if name in WELL_KNOWN.get(kind, ()):
            return True
        return any(
            n == name and (ns is None or namespace is None or ns == namespace)
            for ns, n in defined.get(kind, ())
        )

    for item in items:
        doc, ns = item.doc, item.namespace

        def report(path, message, item=item):
            problems.append(Problem(item.file, item.label, format_path(path), message))

        claims_here = {
            str((t.get("metadata") or {}).get("name"))
            for _, node in walk(doc)
            if isinstance(node, dict)
            for t in node.get("volumeClaimTemplates") or []
            if isinstance(t, dict)
        }
        if item.kind == "HorizontalPodAutoscaler":
            ref = (doc.get("spec") or {}).get("scaleTargetRef") or {}
            if not exists(str(ref.get("kind")), ns, str(ref.get("name"))):
                report(
                    ("spec", "scaleTargetRef"),
                    f"no {ref.get('kind')} named {ref.get('name')!r} in this rendering",
                )
        if item.kind == "Service":
            selector = (doc.get("spec") or {}).get("selector") or {}
            if selector and not any(
                all(labels.get(k) == v for k, v in selector.items()) for labels in pod_labels
            ):
                report(("spec", "selector"), f"selects no pod template's labels: {selector}")
        for path, node in walk(doc):
            key = path[-1] if path else None
            templated = isinstance(node, dict) and any("{{" in str(v) for v in node.values())
            if key == "image" and isinstance(node, str):
                if message := image_problem(node):
                    report(path, message)
            elif key == "persistentVolumeClaim" and isinstance(node, dict) and not templated:
                claim = str(node.get("claimName"))
                if claim not in claims_here and not exists("PersistentVolumeClaim", ns, claim):
                    report((*path, "claimName"), f"PersistentVolumeClaim {claim!r} is not defined")
            elif key == "storageUri" and isinstance(node, str) and node.startswith("pvc://"):
                claim = node[len("pvc://") :].split("/", 1)[0]
                if not exists("PersistentVolumeClaim", ns, claim):
                    report(path, f"PersistentVolumeClaim {claim!r} is not defined")
            elif (
                key in ("configMap", "configMapRef", "configMapKeyRef")
                and isinstance(node, dict)
                and not node.get("optional")
                and not templated
                and "memoize" not in path  # Argo creates its memoization cache itself
            ):
                name = str(node.get("name"))
                if not exists("ConfigMap", ns, name):
                    report((*path, "name"), f"ConfigMap {name!r} is not defined")
            elif key in ("serviceAccountName", "serviceAccount") and isinstance(node, str):
                if "{{" not in node and not exists("ServiceAccount", ns, node):
                    report(path, f"ServiceAccount {node!r} is not defined")
    return problems
