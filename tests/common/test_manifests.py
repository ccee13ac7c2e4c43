"""Every manifest validates strictly offline; the validator catches what it should; YAML args
are flags the modules really accept."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
import yaml

from chapters.common import manifests as mf

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"


def all_docs():
    for path in sorted(MANIFESTS.rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    yield path, doc


def containers(doc):
    """Every container spec in a document, wherever its pod template sits."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("containers", "initContainers") and isinstance(value, list):
                    found.extend(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc)
    return found


def test_every_manifest_in_the_repository_is_valid():
    problems = mf.validate_path(MANIFESTS)
    assert problems == [], "\n".join(map(str, problems))


def test_kustomize_overlay_references_every_chapter():
    overlay = yaml.safe_load((MANIFESTS / "overlays/kind/kustomization.yaml").read_text())
    chapters = {p.name for p in MANIFESTS.iterdir() if p.name.startswith("ch")}
    assert {Path(r).name for r in overlay["resources"]} >= chapters | {"base"}


def test_container_commands_run_real_modules_with_accepted_flags():
    checked = 0
    for path, doc in all_docs():
        for container in containers(doc):
            command = container.get("command", [])
            if command[:2] != ["python", "-m"]:
                continue
            module = command[2]
            assert importlib.util.find_spec(module), f"{path}: no module {module}"
            parser = importlib.import_module(module).build_parser()
            parser.parse_args(container.get("args", []))  # SystemExit on an unknown flag
            checked += 1
    assert checked >= 3


BAD_TFJOB = """
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: bad}
spec:
  runPolicy: {cleanPodPolicy: Sometimes}
  tfReplicaSpecs:
    Workers:
      replicas: two
      restartPolicy: OnFailure
      template:
        spec:
          containers:
            - name: tf
              image: dmlp:dev
              imagePullPolicy: IfNotPresent
              resource: {}
"""


def test_custom_resource_typos_and_bad_values_are_caught(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_TFJOB)
    messages = [f"{p.path}: {p.message}" for p in mf.validate_path(path)]
    assert any("spec.runPolicy.cleanPodPolicy: 'Sometimes' is not one of" in m for m in messages)
    assert any("unknown key 'Workers'" in m for m in messages)
    assert any("replicas: expected int, got str" in m for m in messages)
    assert any("unknown field 'resource' in V1Container" in m for m in messages)
    assert len(messages) == 4, messages


@pytest.mark.parametrize(
    "text, needle",
    [
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
            "spec: {replica: 1, selector: {matchLabels: {a: b}}, "
            "template: {metadata: {labels: {a: b}}, spec: {containers: "
            "[{name: c, image: i}]}}}\n",
            "'replica' was unexpected",
        ),
        ("apiVersion: v1\nkind: Service\nmetadata: {}\n", "metadata.name is required"),
        ("kind: Service\n", "missing apiVersion, metadata"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n", "not valid YAML line"),
        (
            "apiVersion: kubeflow.org/v2\nkind: TFJob\nmetadata: {name: x}\n",
            "must be kubeflow.org/v1",
        ),
        ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: x}\n", "no schema for"),
    ],
)
def test_bad_manifests_name_the_problem(tmp_path, text, needle):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    problems = mf.validate_path(path)
    assert problems and needle in str(problems[0]), problems


def test_kustomization_with_a_missing_resource(tmp_path):
    (tmp_path / "kustomization.yaml").write_text("resources: [there.yaml, missing.yaml]\n")
    (tmp_path / "there.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n")
    problems = mf.validate_path(tmp_path)
    assert [p.message for p in problems] == ["'missing.yaml' does not exist"]


def test_cli_exit_codes(tmp_path):
    from tests.conftest import run_module

    ok = run_module("chapters.common.manifests", str(MANIFESTS), timeout=120)
    assert ok.returncode == 0 and "0 problem(s)" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "bad.yaml").write_text(BAD_TFJOB)
    bad = run_module("chapters.common.manifests", str(tmp_path), timeout=120)
    assert bad.returncode == 1 and "INVALID" in bad.stdout and "Traceback" not in bad.stderr
