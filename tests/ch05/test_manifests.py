"""manifests/ch05: what the cluster needs beside the workflows, and every workflow file runs on a
laptop (tests/test_generated.py checks that they are what the Hera definitions generate)."""

import pytest
import yaml

from chapters.ch05_workflows import manifests
from dmlp import argo

DIRECTORY = manifests.GENERATOR.directory
FILES = sorted(manifests.files())


def test_the_kustomization_lists_every_file_and_the_cluster_resources():
    listed = yaml.safe_load((DIRECTORY / "kustomization.yaml").read_text())["resources"]
    assert set(FILES) <= set(listed)
    assert all((DIRECTORY / f).exists() for f in listed)
    docs = [d for f in listed for d in yaml.safe_load_all((DIRECTORY / f).read_text())]
    cache = next(d for d in docs if d["kind"] == "ConfigMap")
    assert cache["metadata"]["namespace"] == "argo"  # the controller's namespace
    assert cache["metadata"]["labels"]["workflows.argoproj.io/configmap-type"] == "Cache"
    rules = [r for d in docs if d["kind"] == "Role" for r in d["rules"]]
    assert any("workflowtaskresults" in r["resources"] and {"create", "patch"} <= set(r["verbs"])
               for r in rules)  # fmt: skip
    assert any("configmaps" in r["resources"] and {"get", "create", "update"} <= set(r["verbs"])
               for r in rules)  # fmt: skip
    cache_names = set()
    for name in FILES:
        spec = yaml.safe_load((DIRECTORY / name).read_text())["spec"]
        assert spec["serviceAccountName"] == "dmlp-workflow"
        assert all("podGC" not in t for t in spec["templates"])  # podGC: workflow spec only
        for memo in (t["memoize"] for t in spec["templates"] if "memoize" in t):
            assert set(memo["cache"]["configMap"]) == {"name"}  # the `key` field is gone in v4
            cache_names.add(memo["cache"]["configMap"]["name"])
    assert cache_names == {cache["metadata"]["name"]}


TINY = {
    "fan-in-fan-out.yaml": {"num_examples": 128, "train_steps": 2, "batch_size": 16},
    "memoization.yaml": {"num_examples": 100, "ingest_cost": 2},
    "sync-pipeline.yaml": {"unit_seconds": 0.1},
    "async-pipeline.yaml": {"unit_seconds": 0.1},
}


@pytest.mark.parametrize(
    "name",
    [pytest.param(f, marks=pytest.mark.slow) if f == "fan-in-fan-out.yaml" else f for f in FILES],
)
def test_every_workflow_file_runs_locally_end_to_end(name, tmp_path):
    data = yaml.safe_load((DIRECTORY / name).read_text())
    declared = {p["name"] for p in data["spec"]["arguments"]["parameters"]}
    arguments = dict(TINY[name])
    if "out" in declared:
        arguments["out"] = str(tmp_path / "out")
    result = argo.run(data, arguments, cache_dir=tmp_path / "cache", quiet=True)
    assert result.phase == "Succeeded", result.message
    assert result.leaves() and all(n.phase == "Succeeded" for n in result.leaves())
