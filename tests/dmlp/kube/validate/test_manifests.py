"""The repository's manifests pass every check the cluster would make, run real modules with
flags they accept, fit the documented capacity budget, and ``make validate`` is this command."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
import yaml

from dmlp.kube import validate as mf
from tests.dmlp.kube.validate.samples import MANIFESTS, RENDERERS, ROOT, TFJOB, edit


@pytest.mark.parametrize("renderer", RENDERERS)
def test_every_manifest_in_the_repository_is_valid(renderer):
    report = mf.validate(MANIFESTS, renderer=renderer)
    assert report.problems == [], "\n".join(map(str, report.problems))
    assert report.objects >= 14


def test_make_validate_runs_this_validator_on_the_manifests():
    makefile = (ROOT / "Makefile").read_text()
    assert "-m dmlp.kube.validate manifests" in makefile


def test_kustomize_overlay_references_every_chapter():
    overlay = yaml.safe_load((MANIFESTS / "overlays/kind/kustomization.yaml").read_text())
    chapters = {p.name for p in MANIFESTS.iterdir() if p.name.startswith("ch")}
    assert {Path(r).name for r in overlay["resources"]} >= chapters | {"base"}


def containers(doc):
    return [
        node
        for path, node in mf.walk(doc)
        if path and path[-1] in ("containers", "initContainers") and isinstance(node, list)
        for node in node
    ]


def parser_of(module: str):
    mod = importlib.import_module(module)
    return mod.Settings.parser()


def test_container_commands_run_real_modules_with_accepted_flags():
    checked = 0
    for rendering in mf.renderings(MANIFESTS, "python"):
        for item in rendering.items:
            for container in containers(item.doc):
                command = container.get("command", [])
                if command[:2] != ["python", "-m"]:
                    continue
                module = command[2]
                assert importlib.util.find_spec(module), f"{item.file}: no module {module}"
                parser_of(module).parse_args(container.get("args", []))  # exits on a bad flag
                checked += 1
    assert checked >= 3


def test_the_smoke_client_flags_are_accepted():
    """scripts/smoke.sh and tests/kind run the chapter 4 client with these flags."""
    smoke = (ROOT / "scripts/smoke.sh").read_text()
    flags = ["--dataset", "synthetic", "--num-examples", "20", "--print-classes"]
    assert " ".join(flags) in smoke
    args = ["--url", "http://x", "--model-name", "fashion-mnist-tf", *flags]
    parsed = parser_of("chapters.ch04_model_serving.client").parse_args(args)
    assert parsed.print_classes and parsed.model_name == "fashion-mnist-tf"


def test_cli_exit_codes(tmp_path):
    from tests.conftest import run_module

    ok = run_module("dmlp.kube.validate", str(MANIFESTS), timeout=120)
    assert ok.returncode == 0 and "0 problem(s)" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "bad.yaml").write_text(
        edit(TFJOB, "    Worker:", "    Workers:")
    )  # a replica type typo
    bad = run_module("dmlp.kube.validate", str(tmp_path), timeout=120)
    assert bad.returncode == 1 and "INVALID" in bad.stdout and "Traceback" not in bad.stderr
    missing = run_module("dmlp.kube.validate", str(tmp_path / "nope"), timeout=120)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


CHAPTER_CPU_BUDGET = 1.0  # README, "Capacity budget": each chapter within 1 CPU of requests
CHAPTER_MEMORY_BUDGET_GIB = 5.0


def quantity(value) -> float:
    """CPU in cores or memory in GiB, from a Kubernetes quantity."""
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**-20, "Mi": 2**-10, "Gi": 1.0}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def peak_requests(items) -> tuple[float, float]:
    """Requests of a chapter with every autoscaler at its maximum (init containers excluded:
    they finish before the server starts)."""
    maxima = {
        i.doc["spec"]["scaleTargetRef"]["name"]: i.doc["spec"]["maxReplicas"]
        for i in items
        if i.kind == "HorizontalPodAutoscaler"
    }
    cpu = memory = 0.0
    for item in items:
        spec, pods = item.doc.get("spec") or {}, []
        if item.kind == "TFJob":
            pods = [(r["replicas"], r["template"]["spec"]) for r in spec["tfReplicaSpecs"].values()]
        elif item.kind in ("Deployment", "StatefulSet"):
            count = maxima.get(item.name, spec.get("replicas", 1))
            pods = [(count, spec["template"]["spec"])]
        elif item.kind == "InferenceService":
            predictor = spec["predictor"]
            containers = predictor.get("containers") or [predictor["model"]]
            pods = [(predictor.get("maxReplicas", 1), {"containers": containers})]
        for count, pod in pods:
            for container in pod["containers"]:
                requests = container["resources"]["requests"]
                cpu += count * quantity(requests["cpu"])
                memory += count * quantity(requests["memory"])
    return cpu, memory


@pytest.mark.parametrize("chapter", ["ch03", "ch04"])
def test_each_chapter_fits_the_documented_budget(chapter):
    cpu, memory = peak_requests(mf.render_python(MANIFESTS / chapter).items)
    assert cpu <= CHAPTER_CPU_BUDGET and memory <= CHAPTER_MEMORY_BUDGET_GIB, (cpu, memory)
    assert cpu > 0.3  # the workloads ask for something: requests are set, not forgotten
