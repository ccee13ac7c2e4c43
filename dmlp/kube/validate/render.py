"""Stage 1, render: the objects ``kubectl apply -k`` would send, each traced to its file.

Each top-level kustomization (one no other kustomization includes) is rendered with ``kubectl
kustomize`` when kubectl is installed, otherwise by walking its ``resources`` in Python
(``namespace`` and ``images`` applied: the fields :data:`PYTHON_RENDERER_FIELDS` names; any other
field is reported as needing kubectl). YAML files that no kustomization includes are read as they
are; a YAML file in a kustomization's folder that it does not list is a problem.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dmlp.kube.validate.objects import Item, Problem, walk

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# kustomize leaves these without a namespace (its built-in list of cluster-scoped core kinds).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
}
# The kustomization fields the Python renderer understands; anything else needs kubectl.
PYTHON_RENDERER_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images"}


@dataclass
class Rendering:
    source: str  # the kustomization directory or the lone file
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def load_yaml(path: Path) -> tuple[list[Any], Problem | None]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d is not None], None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        return [], Problem(
            str(path), "", "", f"not valid YAML{line}: {getattr(err, 'problem', err)}"
        )


def kustomization_file(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_NAMES if (directory / n).is_file()), None)


def render_python(directory: Path, seen: tuple[Path, ...] = ()) -> Rendering:
    """Walk a kustomization's resources as kustomize would (namespace and images applied)."""
    out = Rendering(str(directory))
    kfile = kustomization_file(directory)
    if kfile is None:
        out.problems.append(Problem(str(directory), "", "", "no kustomization.yaml here"))
        return out
    docs, problem = load_yaml(kfile)
    if problem or not docs or not isinstance(docs[0], dict):
        out.problems.append(problem or Problem(str(kfile), "", "", "empty kustomization"))
        return out
    spec = docs[0]
    for unsupported in sorted(set(spec) - PYTHON_RENDERER_FIELDS):
        out.problems.append(
            Problem(str(kfile), "", unsupported, "not understood without kubectl: install kubectl")
        )
    for i, entry in enumerate(spec.get("resources") or []):
        target = (directory / entry).resolve()
        if "://" in entry or entry.startswith("github.com/"):
            continue
        if not target.exists():
            out.problems.append(
                Problem(str(kfile), "", f"resources[{i}]", f"{entry!r} does not exist")
            )
        elif target.is_dir():
            if target in seen:
                out.problems.append(Problem(str(kfile), "", f"resources[{i}]", "include cycle"))
                continue
            sub = render_python(target, (*seen, directory.resolve()))
            out.items += sub.items
            out.problems += sub.problems
        else:
            found, problem = load_yaml(target)
            out.problems += [problem] if problem else []
            out.items += [Item(str(target), doc) for doc in found]
    for item in out.items:
        if not isinstance(item.doc, dict):
            continue
        meta = item.doc.setdefault("metadata", {})
        if spec.get("namespace") and item.kind not in CLUSTER_SCOPED and isinstance(meta, dict):
            meta["namespace"] = spec["namespace"]
        for image in spec.get("images") or []:
            set_image(item.doc, image)
    return out


def set_image(doc: dict, rule: dict) -> None:
    for _, node in walk(doc):
        if isinstance(node, dict) and isinstance(node.get("image"), str):
            current = node["image"]
            name = current.split("@")[0]
            if ":" in name.rsplit("/", 1)[-1]:
                name = name.rsplit(":", 1)[0]
            if name != rule.get("name"):
                continue
            new = rule.get("newName", name)
            if rule.get("digest"):
                node["image"] = f"{new}@{rule['digest']}"
            elif rule.get("newTag"):
                node["image"] = f"{new}:{rule['newTag']}"
            else:
                node["image"] = new + current[len(name) :]


def render_kubectl(directory: Path) -> Rendering:
    """``kubectl kustomize``; objects are traced back to their files by a Python walk."""
    out = Rendering(str(directory))
    proc = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    kfile = str(kustomization_file(directory) or directory)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["failed"])[-1]
        out.problems.append(Problem(kfile, "", "", f"kubectl kustomize: {first}"))
        return out
    origin = {(i.kind, i.namespace, i.name): i.file for i in render_python(directory).items}
    for doc in yaml.safe_load_all(proc.stdout):
        if doc is not None:
            probe = Item(kfile, doc)
            key = (probe.kind, probe.namespace, probe.name)
            out.items.append(Item(origin.get(key, kfile), doc))
    return out


def renderings(root: Path, renderer: str) -> list[Rendering]:
    """One rendering per top-level kustomization below ``root``, plus one per loose YAML file."""
    if root.is_file():
        if root.name in KUSTOMIZATION_NAMES:
            root = root.parent
        else:
            return [_loose_file(root)]
    dirs = sorted({p.parent for n in KUSTOMIZATION_NAMES for p in root.rglob(n)})
    included: set[Path] = set()
    covered: set[Path] = set()
    for d in dirs:
        docs, _ = load_yaml(kustomization_file(d))
        spec = docs[0] if docs and isinstance(docs[0], dict) else {}
        for entry in spec.get("resources") or []:
            target = (d / str(entry)).resolve()
            (included if target.is_dir() else covered).add(target)
    render = render_kubectl if renderer == "kubectl" else render_python
    out = [render(d) for d in dirs if d.resolve() not in included]
    kustomized = {d.resolve() for d in dirs}
    for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
        if path.name in KUSTOMIZATION_NAMES or path.resolve() in covered:
            continue
        kdir = next((p for p in path.parents if p.resolve() in kustomized), None)
        if kdir is None:
            out.append(_loose_file(path))
        else:  # in a kustomization folder but not listed: a file kubectl apply -k would skip
            problem = Problem(str(path), "", "", f"not listed in {kdir}/kustomization.yaml")
            out.append(Rendering(str(path), problems=[problem]))
    return out


def _loose_file(path: Path) -> Rendering:
    """A YAML file outside every kustomization, read as it is."""
    docs, problem = load_yaml(path)
    return Rendering(str(path), [Item(str(path), d) for d in docs], [problem] if problem else [])
