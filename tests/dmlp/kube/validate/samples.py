"""Shared by the validator's tests: one small valid object of each family, a way to break it, and
the assertion that a broken one is refused for the right reason (file, object, field, message)."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from dmlp.kube import validate as mf

ROOT = Path(__file__).resolve().parents[4]
MANIFESTS = ROOT / "manifests"
HAS_KUBECTL = shutil.which("kubectl") is not None
RENDERERS = [
    "python",
    pytest.param(
        "kubectl",
        marks=pytest.mark.skipif(
            not HAS_KUBECTL, reason="kubectl not installed: the Python renderer is tested instead"
        ),
    ),
]

TFJOB = """
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {name: job, namespace: dmlp}
spec:
  runPolicy: {cleanPodPolicy: None}
  tfReplicaSpecs:
    Worker:
      replicas: 2
      restartPolicy: OnFailure
      template:
        spec:
          containers:
            - {name: tensorflow, image: "dmlp:dev"}
"""
ISVC = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: isvc, namespace: dmlp}
spec:
  predictor:
    model:
      modelFormat: {name: tensorflow}
      runtimeVersion: "2.20.0"
      storageUri: pvc://data/model
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: dmlp}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: dmlp}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "dmlp:dev"
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: dmlp}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""
WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, namespace: dmlp}
spec:
  entrypoint: main
  templates:
    - name: main
      container: {image: "dmlp:dev", command: [python, --version]}
"""
QUEUE = """
apiVersion: scheduling.volcano.sh/v1beta1
kind: Queue
metadata: {name: research}
spec: {weight: 1, reclaimable: true, capability: {cpu: "2"}}
"""


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


GOOD = [TFJOB, ISVC, DEPLOYMENT, WORKFLOW, QUEUE]


def assert_rejected(tmp_path: Path, case: str, bad: tuple[str, str, str, str]) -> None:
    """``bad`` = (text, object, field path, part of the message): the one problem expected."""
    text, obj, path, needle = bad
    file = tmp_path / f"{case}.yaml"
    file.write_text(textwrap.dedent(text))
    problems = mf.validate_path(file)
    assert problems, f"{case} was accepted"
    matching = [p for p in problems if needle in p.message and p.obj == obj and p.path == path]
    assert matching, "\n".join(map(str, problems))
    assert str(matching[0]).startswith(f"{file}: ")


def write_kustomization(tmp_path, resources, extra=""):
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: {json.dumps(resources)}\nnamespace: dmlp\n{extra}"
    )
