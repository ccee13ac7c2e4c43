"""Every generated manifest, whichever chapter declares it: committed as the code generates it
now, read back without loss, rewritten by the command its header names; and every file under
``manifests/`` that says it is generated is declared by exactly one chapter's ``manifests``."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
import yaml
from hera.workflows import Workflow

from dmlp.example.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    f"chapters.{p.parent.name}.manifests" for p in (ROOT / "chapters").glob("*/manifests.py")
)
GENERATORS = {module: importlib.import_module(module).GENERATOR for module in MODULES}
FILES = [(module, name) for module, g in GENERATORS.items() for name in sorted(g.files())]


def test_the_chapters_that_generate_manifests():
    assert MODULES == [
        "chapters.ch05_workflows.manifests",
        "chapters.ch08_basics.manifests",
        "chapters.project.manifests",
    ]


@pytest.mark.parametrize("module", MODULES)
def test_the_committed_yaml_is_what_the_code_generates(module):
    generator = GENERATORS[module]
    assert generator.command == module  # the command each header names is this module
    assert generator.sync() == []


@pytest.mark.parametrize("module", MODULES)
def test_a_stale_file_is_one_clear_error_naming_the_command(module, tmp_path):
    generator = dataclasses.replace(GENERATORS[module], directory=tmp_path)
    with pytest.raises(UsageError, match=f"run: python -m {module} --write"):
        generator.sync()
    assert len(generator.sync(write=True)) == len(generator.files())
    assert generator.sync() == []


@pytest.mark.parametrize(
    ("module", "name"), FILES, ids=[f"{m.split('.')[1]}/{n}" for m, n in FILES]
)
def test_a_round_trip_loses_nothing(module, name):
    generator = GENERATORS[module]
    file = generator.files()[name]
    text = (generator.directory / name).read_text()
    if file.hera:  # Hera reads back every field (it drops the ones it does not know)
        assert Workflow.from_yaml(text).to_dict() == yaml.safe_load(text)
    else:
        assert yaml.safe_load(text) == file.definition


def test_every_file_marked_generated_is_declared_once():
    declared = [g.directory / name for g in GENERATORS.values() for name in g.files()]
    marked = [
        p
        for p in (ROOT / "manifests").rglob("*.yaml")
        if p.read_text().startswith("# Generated from")
    ]
    assert len(declared) == len(set(declared))
    assert set(declared) == set(marked)
