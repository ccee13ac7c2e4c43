"""Offline validation of the manifests against what the cluster enforces (``make validate``).

Introduced for the kind path (README, "Kind path"); every chapter's ``manifests/chNN`` uses it.
One module per stage, run in this order on every rendering:

1. :mod:`~dmlp.kube.validate.render`: the objects ``kubectl apply -k`` would send (``kubectl
   kustomize``, or a Python walk without kubectl), each traced back to its file.
2. :mod:`~dmlp.kube.validate.schemas`: core kinds through ``kubernetes-validate --strict``
   (Kubernetes 1.36), custom resources against their CRD's schema vendored in
   ``manifests/schemas/``, made as strict as the API server.
3. :mod:`~dmlp.kube.validate.webhooks`: what an operator's admission webhook refuses that no
   schema expresses (the TFJob webhook of kubeflow/trainer v1.9.4).
4. :mod:`~dmlp.kube.validate.references`: HPA targets, Service selectors, PVCs, ConfigMaps,
   ServiceAccounts exist in the same rendering; every image is pinned.

Each problem names the file, the object and the path of the offending field.

Run: python -m dmlp.kube.validate manifests [--renderer auto|kubectl|python]
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmlp.example.errors import UsageError
from dmlp.kube.crd import format_path
from dmlp.kube.validate import schemas as _schemas
from dmlp.kube.validate.objects import Item, Problem, walk
from dmlp.kube.validate.references import cross_references
from dmlp.kube.validate.render import Rendering, render_kubectl, render_python, renderings
from dmlp.kube.validate.schemas import KUBERNETES_VERSION, SCHEMAS, load_schemas, to_json_schema
from dmlp.kube.validate.webhooks import operator_rules

__all__ = [
    "KUBERNETES_VERSION",
    "SCHEMAS",
    "Item",
    "Problem",
    "Rendering",
    "Report",
    "check_object",
    "cross_references",
    "format_path",
    "load_schemas",
    "render_kubectl",
    "render_python",
    "renderings",
    "to_json_schema",
    "validate",
    "validate_path",
    "walk",
]


def check_object(doc: Any, version: str, schemas: dict) -> list[tuple[str, str]]:
    """``(field path, message)`` for each problem of one object: its schema, else the webhooks."""
    found = _schemas.shape(doc)
    if found:
        return found
    return _schemas.check(doc, version, schemas) or operator_rules(doc)  # the rules trust types


@dataclass
class Report:
    problems: list[Problem]
    objects: int
    renderer: str


def validate(
    root: str | Path,
    version: str = KUBERNETES_VERSION,
    renderer: str = "auto",
    schema_dir: Path = SCHEMAS,
) -> Report:
    """Render and check everything below ``root`` (a directory, a kustomization or one file)."""
    root = Path(root)
    if not root.exists():
        raise UsageError(f"{root} does not exist")
    if renderer == "auto":
        renderer = "kubectl" if shutil.which("kubectl") else "python"
    schemas = load_schemas(Path(schema_dir))
    problems: list[Problem] = []
    objects = 0
    for rendering in renderings(root, renderer):
        problems += rendering.problems
        objects += len(rendering.items)
        for item in rendering.items:
            for path, message in check_object(item.doc, version, schemas):
                problems.append(Problem(item.file, item.label, path, message))
        valid = [i for i in rendering.items if isinstance(i.doc, dict) and i.kind and i.name]
        problems += cross_references(valid)
    return Report(list(dict.fromkeys(problems)), objects, renderer)


def validate_path(root: str | Path, **kwargs) -> list[Problem]:
    """Every problem found below ``root`` (see :func:`validate`)."""
    return validate(root, **kwargs).problems


def main(
    paths: list[str], kubernetes_version: str = KUBERNETES_VERSION, renderer: str = "auto"
) -> int:
    """Validate ``paths``, print each problem and a summary; returns the exit code (1: problems)."""
    reports = [validate(path, kubernetes_version, renderer) for path in paths]
    problems = [p for r in reports for p in r.problems]
    for problem in problems:
        print(f"INVALID {problem}")
    print("CRD schemas (manifests/schemas):")
    for schema in load_schemas(SCHEMAS).values():
        print(f"  {schema.api_version} {schema.kind}: {schema.source}")
    used = {"kubectl": "kubectl kustomize", "python": "Python walk"}[reports[0].renderer]
    print(
        f"{sum(r.objects for r in reports)} objects rendered ({used}), checked against "
        f"Kubernetes {kubernetes_version} (strict) and the CRD schemas: {len(problems)} problem(s)"
    )
    return 1 if problems else 0
