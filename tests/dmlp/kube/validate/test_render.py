"""Stage 1: rendering. The Python walk renders what ``kubectl kustomize`` does, every object is
traced back to its own file, and what cannot be rendered is one clear problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dmlp.kube import validate as mf
from tests.dmlp.kube.validate.samples import (
    DEPLOYMENT,
    HAS_KUBECTL,
    MANIFESTS,
    QUEUE,
    RENDERERS,
    assert_rejected,
    edit,
    write_kustomization,
)


@pytest.mark.skipif(not HAS_KUBECTL, reason="kubectl not installed")
def test_python_renderer_matches_kubectl_kustomize():
    def objects(renderer):
        found = mf.renderings(MANIFESTS, renderer)
        return sorted((json.dumps(i.doc, sort_keys=True) for r in found for i in r.items), key=len)

    assert objects("python") == objects("kubectl")
    # every object kubectl rendered is traced back to the file that defines it
    for rendering in mf.renderings(MANIFESTS, "kubectl"):
        for item in rendering.items:
            assert Path(item.file).name != "kustomization.yaml", item.label
            names = {
                d["metadata"]["name"] for d in yaml.safe_load_all(Path(item.file).read_text()) if d
            }
            assert item.name in names, (item.label, item.file)


def test_a_file_that_is_not_yaml_is_one_problem(tmp_path):
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n"
    assert_rejected(tmp_path, "not-yaml", (text, "", "", "not valid YAML line"))


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_kustomization_with_a_missing_resource(tmp_path, renderer):
    (tmp_path / "there.yaml").write_text(DEPLOYMENT)
    write_kustomization(tmp_path, ["there.yaml", "missing.yaml"])
    problems = mf.validate_path(tmp_path, renderer=renderer)
    assert len(problems) == 1 and "missing.yaml" in problems[0].message, problems
    assert problems[0].file.endswith("kustomization.yaml")


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_rendered_object_is_reported_with_its_own_file(tmp_path, renderer):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "web.yaml").write_text(edit(DEPLOYMENT, '"dmlp:dev"', "nginx"))
    (tmp_path / "app" / "kustomization.yaml").write_text("resources: [web.yaml]\n")
    write_kustomization(tmp_path, ["app"], "images: [{name: dmlp, newTag: v2}]\n")
    problems = mf.validate_path(tmp_path, renderer=renderer)
    assert [(Path(p.file).name, p.obj, p.message[:14]) for p in problems] == [
        ("web.yaml", "Deployment dmlp/web", "image 'nginx' ")
    ]


def test_a_yaml_file_left_out_of_its_kustomization(tmp_path):
    (tmp_path / "there.yaml").write_text(QUEUE)
    (tmp_path / "forgotten.yaml").write_text(QUEUE)
    write_kustomization(tmp_path, ["there.yaml"])
    problems = mf.validate_path(tmp_path, renderer="python")
    assert [Path(p.file).name for p in problems] == ["forgotten.yaml"]
    assert "not listed in" in problems[0].message


def test_the_python_renderer_names_what_it_cannot_do(tmp_path):
    (tmp_path / "there.yaml").write_text(QUEUE)
    write_kustomization(tmp_path, ["there.yaml"], "configMapGenerator: [{name: c}]\n")
    problems = mf.validate_path(tmp_path, renderer="python")
    assert [(p.path, p.message) for p in problems] == [
        ("configMapGenerator", "not understood without kubectl: install kubectl")
    ]
