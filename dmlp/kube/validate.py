"""Offline validation of the manifests against what the cluster enforces (``make validate``).

Introduced for the kind path (README, "Kind path"); every chapter's ``manifests/chNN`` uses it.

1. **Render.** Each top-level kustomization (one no other kustomization includes) is rendered as
   ``kubectl apply -k`` would: with ``kubectl kustomize`` when kubectl is installed, otherwise by
   walking its ``resources`` in Python (``namespace`` and ``images`` applied). YAML files that no
   kustomization includes are checked as they are.
2. **Schemas.** Core kinds go through ``kubernetes-validate --strict`` (Kubernetes 1.36). A custom
   resource is checked with ``jsonschema`` against the OpenAPI v3 schema of its CRD at the pinned
   operator release, vendored in ``manifests/schemas/`` (``scripts/refresh-schemas.py``). The
   schema is made strict as the API server is: ``required``, ``enum``, int-or-string, ``nullable``,
   ``x-kubernetes-preserve-unknown-fields``; any other unknown field is an error (the API server
   would prune it silently). A new kind needs only a schema file there.
3. **Operator rules** that no schema expresses (the TFJob webhook of kubeflow/trainer v1.9.4).
4. **Cross-references** within one rendering: HPA targets, Service selectors, PVCs, ConfigMaps,
   ServiceAccounts; every image is the project image or pinned by a tag other than ``latest``.

Each problem names the file, the object and the path of the offending field.

Run: python -m dmlp.kube.validate manifests [--renderer auto|kubectl|python]
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dmlp.example import cli

KUBERNETES_VERSION = "1.36.0"
SCHEMAS = Path(__file__).resolve().parents[2] / "manifests" / "schemas"
PROJECT_IMAGE = "dmlp"
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Objects a cluster always has, so a reference to them needs no manifest.
WELL_KNOWN = {"ServiceAccount": {"default"}, "ConfigMap": {"kube-root-ca.crt"}}
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

# Training Operator v1.9.4, pkg/webhooks/tensorflow/tfjob_webhook.go and the Go enums of
# pkg/apis/kubeflow.org/v1/{common,tensorflow}_types.go (the CRD leaves these as plain strings).
TFJOB_REPLICA_TYPES = ("Chief", "Master", "PS", "Worker", "Evaluator")
TFJOB_CONTAINER = "tensorflow"
TFJOB_ENUMS = {
    "restartPolicy": ("Always", "OnFailure", "Never", "ExitCode"),
    "cleanPodPolicy": ("", "All", "Running", "None"),
    "successPolicy": ("", "AllWorkers"),
}
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")

# metadata is left open in every CRD schema (the API server checks it as ObjectMeta).
METADATA_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string"},
        "generateName": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
}


@dataclass(frozen=True)
class Problem:
    file: str
    obj: str  # "Kind namespace/name", or "" for a file-level problem
    path: str  # dotted field path, list items as [i]
    message: str

    def __str__(self) -> str:
        where = ": ".join(x for x in (self.obj, self.path) if x)
        return f"{self.file}: {where}: {self.message}" if where else f"{self.file}: {self.message}"


@dataclass
class Item:
    """One rendered object and the file it came from."""

    file: str
    doc: Any

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", "")) if isinstance(self.doc, dict) else ""

    @property
    def name(self) -> str:
        meta = self.doc.get("metadata") if isinstance(self.doc, dict) else None
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def namespace(self) -> str | None:
        meta = self.doc.get("metadata") if isinstance(self.doc, dict) else None
        return meta.get("namespace") if isinstance(meta, dict) else None

    @property
    def label(self) -> str:
        if not self.kind:
            return ""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}".strip()


@dataclass
class Rendering:
    source: str  # the kustomization directory or the lone file
    items: list[Item] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def format_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ----------------------------------------------------------------------------- CRD schemas


def to_json_schema(node: dict, spine: bool = True) -> dict:
    """An OpenAPI v3 (structural) CRD schema as a strict JSON Schema.

    ``spine`` is False inside allOf/anyOf/oneOf/not, whose branches only add value checks: a field
    list there must not forbid the fields the spine declares.
    """
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {name: to_json_schema(sub, spine) for name, sub in value.items()}
        elif key in ("items", "not", "additionalProperties") and isinstance(value, dict):
            out[key] = to_json_schema(value, spine and key != "not")
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(sub, False) for sub in value]
        elif key.startswith("x-kubernetes-") or key in ("nullable", "format", "default"):
            continue  # handled below, or annotations the validator must not misread
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if spine and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class Schema:
    api_version: str
    kind: str
    scope: str
    source: str  # "owner/repo@tag:path"
    validator: Any


@cache
def load_schemas(directory: Path = SCHEMAS) -> dict[tuple[str, str], Schema]:
    """Every vendored CRD schema, by (apiVersion, kind)."""
    from jsonschema import Draft7Validator

    schemas = {}
    for path in sorted(Path(directory).glob("*.json")):
        doc = json.loads(path.read_text())
        schema = to_json_schema(doc["schema"])
        schema.setdefault("properties", {})["metadata"] = METADATA_SCHEMA
        schema.setdefault("required", [])
        for key in ("apiVersion", "kind", "metadata", "spec"):
            if key in schema["properties"] and key not in schema["required"]:
                schema["required"].append(key)
        src = doc["source"]
        schemas[(doc["apiVersion"], doc["kind"])] = Schema(
            doc["apiVersion"],
            doc["kind"],
            doc["scope"],
            f"{src['repo']}@{src['tag']}:{src['path']}",
            Draft7Validator(schema),
        )
    return schemas


def unknown_fields(err) -> list[str]:
    if err.validator != "additionalProperties" or err.validator_value is not False:
        return []
    return sorted(set(err.instance) - set(err.schema.get("properties", {})))


def describe(err, extra: str | None = None) -> tuple[str, str]:
    """A jsonschema error as (field path, message), naming the field itself where possible."""
    path = list(err.absolute_path)
    extra = extra or next(iter(unknown_fields(err)), None)
    if extra is not None:
        known = set(err.schema.get("properties", {}))
        close = difflib.get_close_matches(extra, sorted(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return format_path([*path, extra]), f"unknown field {extra!r}{hint}"
    if err.validator == "required":
        missing = re.match(r"'([^']+)'", err.message)
        return format_path(
            [*path, missing.group(1) if missing else "?"]
        ), "required field is missing"
    return format_path(path), err.message


def schema_errors(schema: Schema, doc: dict) -> list[tuple[str, str]]:
    found = []
    for err in schema.validator.iter_errors(doc):
        found += [describe(err, extra) for extra in unknown_fields(err)] or [describe(err)]
    return sorted(set(found))


# ----------------------------------------------------------------------------- per object


def check_object(doc: Any, version: str, schemas: dict) -> list[tuple[str, str]]:
    if not isinstance(doc, dict):
        return [("", f"a manifest must be a mapping, got {type(doc).__name__}")]
    missing = [k for k in ("apiVersion", "kind", "metadata") if k not in doc]
    if missing:
        return [("", f"missing {', '.join(missing)}")]
    if not isinstance(doc["metadata"], dict) or not doc["metadata"].get("name"):
        return [("metadata.name", "required field is missing")]
    key = (doc["apiVersion"], doc["kind"])
    if key in schemas:
        return schema_errors(schemas[key], doc) + operator_rules(doc)
    same_kind = sorted(api for api, kind in schemas if kind == doc["kind"])
    if same_kind:
        return [("apiVersion", f"{doc['kind']} is served as {', '.join(same_kind)} here")]
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [describe(err)]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            (
                "",
                f"no schema for {key[0]} {key[1]}: vendor its CRD schema in manifests/schemas "
                "(scripts/refresh-schemas.py)",
            )
        ]
    return []


def operator_rules(doc: dict) -> list[tuple[str, str]]:
    """What an operator's admission webhook rejects although the CRD schema allows it."""
    if doc["kind"] != "TFJob":
        return []
    found = []
    if not DNS1035.match(doc["metadata"]["name"]):
        found.append(("metadata.name", "a TFJob name must be a DNS-1035 label (a-z, 0-9, '-')"))
    spec = doc.get("spec") or {}
    policy = (spec.get("runPolicy") or {}).get("cleanPodPolicy")
    if policy is not None and policy not in TFJOB_ENUMS["cleanPodPolicy"]:
        found.append(
            (
                "spec.runPolicy.cleanPodPolicy",
                f"{policy!r} is not one of {TFJOB_ENUMS['cleanPodPolicy']}",
            )
        )
    success = spec.get("successPolicy")
    if success is not None and success not in TFJOB_ENUMS["successPolicy"]:
        found.append(
            ("spec.successPolicy", f"{success!r} is not one of {TFJOB_ENUMS['successPolicy']}")
        )
    replicas = spec.get("tfReplicaSpecs")
    if not isinstance(replicas, dict) or not replicas:
        return [*found, ("spec.tfReplicaSpecs", "required: at least one replica type")]
    chiefs = [t for t in replicas if t in ("Chief", "Master")]
    if len(chiefs) > 1:
        found.append(("spec.tfReplicaSpecs", "at most one Chief or Master"))
    for rtype, rspec in replicas.items():
        base = f"spec.tfReplicaSpecs.{rtype}"
        if rtype not in TFJOB_REPLICA_TYPES:
            close = difflib.get_close_matches(rtype, TFJOB_REPLICA_TYPES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(
                (base, f"unknown replica type {rtype!r}{hint}; valid: {TFJOB_REPLICA_TYPES}")
            )
        rspec = rspec or {}
        restart = rspec.get("restartPolicy")
        if restart is not None and restart not in TFJOB_ENUMS["restartPolicy"]:
            found.append(
                (
                    f"{base}.restartPolicy",
                    f"{restart!r} is not one of {TFJOB_ENUMS['restartPolicy']}",
                )
            )
        containers = ((rspec.get("template") or {}).get("spec") or {}).get("containers") or []
        names = [c.get("name") for c in containers if isinstance(c, dict)]
        if TFJOB_CONTAINER not in names:
            found.append(
                (
                    f"{base}.template.spec.containers",
                    f"needs a container named {TFJOB_CONTAINER!r} (the operator's default "
                    f"container; found {names})",
                )
            )
    return found


# ----------------------------------------------------------------------------- cross-references


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) pair below ``node``, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))


def image_problem(image: str) -> str | None:
    name, _, digest = image.partition("@")
    repo, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if digest:
        return None
    if repo.rsplit("/", 1)[-1] == PROJECT_IMAGE and tag:
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


# ----------------------------------------------------------------------------- rendering


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
        raise cli.UsageError(f"{root} does not exist")
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", help="directories, kustomizations or files")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION)
    parser.add_argument("--renderer", choices=("auto", "kubectl", "python"), default="auto")
    args = parser.parse_args()
    try:
        sys.exit(main(args.paths, args.kubernetes_version, args.renderer))
    except cli.UsageError as err:
        parser.error(str(err))
