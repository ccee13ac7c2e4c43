#!/usr/bin/env python3
"""Refresh the vendored CRD schemas in manifests/schemas/ from the pinned upstream tags.

Each custom resource the manifests use is validated offline (``make validate``) against the
OpenAPI v3 schema of the CRD that the pinned operator release installs. This script downloads each
CRD from GitHub at its tag, keeps the served version's ``openAPIV3Schema`` (descriptions dropped to
keep the files small) and writes one JSON file per kind, recording where it came from.

Run (needs internet):  python scripts/refresh-schemas.py
Offline, from local clones or bare mirrors:
  python scripts/refresh-schemas.py --git-dir kserve/kserve=PATH [--git-dir ...]
Bump a version in versions.env, re-run, commit the diff.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import yaml

from dmlp.kube.versions import pinned

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "manifests" / "schemas"
RAW = "https://raw.githubusercontent.com/{repo}/{tag}/{path}"

# (repo, the versions.env key holding its tag, path of the CRD at that tag, served version to keep)
SOURCES = [
    (
        "kubeflow/trainer",
        "TRAINING_OPERATOR_VERSION",
        "manifests/base/crds/kubeflow.org_tfjobs.yaml",
        "v1",
    ),
    (
        "kserve/kserve",
        "KSERVE_VERSION",
        "config/crd/full/serving.kserve.io_inferenceservices.yaml",
        "v1beta1",
    ),
    (
        "argoproj/argo-workflows",
        "ARGO_WORKFLOWS_VERSION",
        "manifests/base/crds/full/argoproj.io_workflows.yaml",
        "v1alpha1",
    ),
    (
        "argoproj/argo-workflows",
        "ARGO_WORKFLOWS_VERSION",
        "manifests/base/crds/full/argoproj.io_workflowtemplates.yaml",
        "v1alpha1",
    ),
    (
        "volcano-sh/volcano",
        "VOLCANO_VERSION",
        "config/crd/volcano/bases/scheduling.volcano.sh_queues.yaml",
        "v1beta1",
    ),
    (
        "volcano-sh/volcano",
        "VOLCANO_VERSION",
        "config/crd/volcano/bases/scheduling.volcano.sh_podgroups.yaml",
        "v1beta1",
    ),
]


def strip_descriptions(node):
    """Drop ``description`` texts (most of a CRD's bytes); keep every validation keyword."""
    if isinstance(node, dict):
        return {
            k: strip_descriptions(v)
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


def read_source(repo: str, tag: str, path: str, git_dirs: dict[str, str]) -> str:
    if repo in git_dirs:
        return subprocess.run(
            ["git", f"--git-dir={git_dirs[repo]}", "show", f"{tag}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    url = RAW.format(repo=repo, tag=tag, path=path)
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (fixed https URL)
        return response.read().decode()


def schema_document(crd: dict, repo: str, tag: str, path: str, version: str) -> dict:
    spec = crd["spec"]
    served = [v for v in spec["versions"] if v["name"] == version]
    if not served:
        raise SystemExit(f"{repo}@{tag}:{path} has no version {version}")
    return {
        "apiVersion": f"{spec['group']}/{version}",
        "kind": spec["names"]["kind"],
        "scope": spec["scope"],
        "source": {"repo": repo, "tag": tag, "path": path},
        "schema": strip_descriptions(served[0]["schema"]["openAPIV3Schema"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--git-dir",
        action="append",
        default=[],
        metavar="OWNER/NAME=PATH",
        help="read that repository from a local git directory instead of GitHub",
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help="where to write (default: %(default)s)"
    )
    args = parser.parse_args()
    git_dirs = dict(item.split("=", 1) for item in args.git_dir)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    versions = pinned(ROOT / "versions.env")
    for repo, key, path, version in SOURCES:
        tag = versions[key]
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on big CRDs
        crd = yaml.load(read_source(repo, tag, path, git_dirs), Loader=loader)  # noqa: S506
        doc = schema_document(crd, repo, tag, path, version)
        group, ver = doc["apiVersion"].split("/")
        target = out / f"{group}_{ver}_{doc['kind']}.json"
        target.write_text(json.dumps(doc, indent=0, sort_keys=True, separators=(",", ":")) + "\n")
        print(f"{target}: {doc['kind']} from {repo}@{tag}:{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
