"""Offline, strict validation of every manifest under ``manifests/`` (``make validate``).

* Core kinds (Deployment, Service, PVC, ...) are checked by ``kubernetes-validate`` against the
  Kubernetes 1.36 OpenAPI schemas in strict mode: an unknown field is an error.
* Custom resources (TFJob, InferenceService, Argo Workflow) have no schema there, so they are
  walked field by field against the models that the operators' own Python clients generate from
  their CRDs (``openapi_types`` / ``attribute_map``), with the enum values those CRDs document.
  Pod templates inside them are checked with the Kubernetes client's models the same way.
* ``kustomization.yaml`` files must name resources that exist.

Run: python -m chapters.common.manifests manifests [--kubernetes-version 1.36.0]
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chapters.common import cli

KUBERNETES_VERSION = "1.36.0"

# kind -> (apiVersion, module, model class)
CUSTOM_KINDS: dict[str, tuple[str, str, str]] = {
    "TFJob": ("kubeflow.org/v1", "kubeflow.training.models", "KubeflowOrgV1TFJob"),
    "InferenceService": ("serving.kserve.io/v1beta1", "kserve.models", "V1beta1InferenceService"),
}
# Enum values documented by the CRDs (the generated models type them as plain strings).
ENUMS: dict[tuple[str, str], set[str]] = {
    ("KubeflowOrgV1ReplicaSpec", "restart_policy"): {"Always", "OnFailure", "Never", "ExitCode"},
    ("KubeflowOrgV1RunPolicy", "clean_pod_policy"): {"All", "Running", "None"},
    ("KubeflowOrgV1TFJobSpec", "success_policy"): {"", "AllWorkers"},
}
DICT_KEYS: dict[tuple[str, str], set[str]] = {
    ("KubeflowOrgV1TFJobSpec", "tf_replica_specs"): {
        "Chief",
        "Master",
        "PS",
        "Worker",
        "Evaluator",
    },
}
MODEL_MODULES = ("kubeflow.training.models", "kserve.models", "kubernetes.client.models")


@dataclass
class Problem:
    file: str
    doc: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file} (document {self.doc})" + (f" at {self.path}" if self.path else "")
        return f"{where}: {self.message}"


def _model(name: str):
    for module_name in MODEL_MODULES:
        with_module = importlib.import_module(module_name)
        if hasattr(with_module, name):
            return getattr(with_module, name)
    raise LookupError(f"no generated model named {name}")


_PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def check_model(
    value: Any, type_name: str, path: str, owner: tuple[str, str] | None = None
) -> list[tuple[str, str]]:
    """Walk ``value`` against a generated-model type name; return ``(path, problem)`` pairs."""
    problems: list[tuple[str, str]] = []
    if value is None:
        return problems
    if type_name in ("object", "datetime", "date"):
        return problems
    if type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        # int-or-string fields (ports, quantities) are typed "object" in the models, so a
        # plain type check here is strict without false alarms.
        if isinstance(value, bool) and type_name != "bool" or not isinstance(value, expected):
            problems.append((path, f"expected {type_name}, got {type(value).__name__} {value!r}"))
        elif owner in ENUMS and value not in ENUMS[owner]:
            problems.append((path, f"{value!r} is not one of {sorted(ENUMS[owner])}"))
        return problems
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        if not isinstance(value, list):
            return [(path, f"expected a list, got {type(value).__name__}")]
        for i, item in enumerate(value):
            problems += check_model(item, match.group(1), f"{path}[{i}]")
        return problems
    if match := re.fullmatch(r"dict\(str, (.+)\)", type_name):
        if not isinstance(value, dict):
            return [(path, f"expected a mapping, got {type(value).__name__}")]
        allowed = DICT_KEYS.get(owner) if owner else None
        for key, item in value.items():
            if allowed and key not in allowed:
                problems.append(
                    (f"{path}.{key}", f"unknown key {key!r}; valid: {', '.join(sorted(allowed))}")
                )
            problems += check_model(item, match.group(1), f"{path}.{key}")
        return problems
    model = _model(type_name)
    if not isinstance(value, dict):
        return [(path, f"expected a {type_name} mapping, got {type(value).__name__}")]
    json_to_attr = {v: k for k, v in model.attribute_map.items()}
    for key, item in value.items():
        attr = json_to_attr.get(key)
        if attr is None:
            close = [k for k in json_to_attr if k.lower().startswith(key.lower()[:4])]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            problems.append(
                (f"{path}.{key}".lstrip("."), f"unknown field {key!r} in {type_name}{hint}")
            )
            continue
        problems += check_model(
            item, model.openapi_types[attr], f"{path}.{key}".lstrip("."), (type_name, attr)
        )
    return problems


def check_document(doc: Any, version: str) -> list[tuple[str, str]]:
    if not isinstance(doc, dict):
        return [("", f"a manifest must be a mapping, got {type(doc).__name__}")]
    missing = [k for k in ("apiVersion", "kind", "metadata") if k not in doc]
    if missing:
        return [("", f"missing {', '.join(missing)}")]
    if not isinstance(doc["metadata"], dict) or not doc["metadata"].get("name"):
        return [("metadata", "metadata.name is required")]
    kind = doc["kind"]
    if kind in CUSTOM_KINDS:
        api_version, _module, model = CUSTOM_KINDS[kind]
        if doc["apiVersion"] != api_version:
            return [("apiVersion", f"{kind} must be {api_version}, got {doc['apiVersion']}")]
        problems = check_model(doc, model, "")
        if "spec" not in doc:
            problems.append(("spec", "spec is required"))
        return problems
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [(".".join(map(str, err.path)), err.message)]
    except kubernetes_validate.SchemaNotFoundError:
        return [("", f"no schema for {doc['apiVersion']} {kind}: add it to CUSTOM_KINDS")]
    return []


def check_kustomization(path: Path, doc: dict) -> list[tuple[str, str]]:
    problems = []
    for key in ("resources", "components"):
        for entry in doc.get(key, []) or []:
            if "://" in entry or entry.startswith("github.com/"):
                continue
            if not (path.parent / entry).exists():
                problems.append((key, f"{entry!r} does not exist"))
    return problems


def validate_path(root: str | Path, version: str = KUBERNETES_VERSION) -> list[Problem]:
    """Validate every ``*.yaml``/``*.yml`` below ``root`` (or the one file ``root``)."""
    root = Path(root)
    files = [root] if root.is_file() else sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")])
    if not files:
        raise cli.UsageError(f"no YAML files under {root}")
    problems: list[Problem] = []
    for file in files:
        try:
            docs = [d for d in yaml.safe_load_all(file.read_text()) if d is not None]
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark else ""
            problems.append(
                Problem(str(file), 0, "", f"not valid YAML{line}: {getattr(err, 'problem', err)}")
            )
            continue
        for i, doc in enumerate(docs, 1):
            if file.name in ("kustomization.yaml", "kustomization.yml"):
                found = check_kustomization(file, doc)
            else:
                found = check_document(doc, version)
            problems += [Problem(str(file), i, p, m) for p, m in found]
    return problems


def main(paths: list[str], kubernetes_version: str = KUBERNETES_VERSION) -> int:
    problems = [p for path in paths for p in validate_path(path, kubernetes_version)]
    for problem in problems:
        print(f"INVALID {problem}")
    files = {
        str(f)
        for path in paths
        for f in (
            [Path(path)]
            if Path(path).is_file()
            else [*Path(path).rglob("*.yaml"), *Path(path).rglob("*.yml")]
        )
    }
    print(
        f"{len(files)} manifest files checked against Kubernetes {kubernetes_version} "
        f"(strict): {len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", help="files or directories of manifests")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    args = parser.parse_args()
    try:
        sys.exit(main(args.paths, args.kubernetes_version))
    except cli.UsageError as err:
        parser.error(str(err))
