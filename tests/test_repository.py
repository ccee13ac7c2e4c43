"""The repository keeps its promises: README commands and paths exist, every example has --help
and a docstring naming its book section."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted((ROOT / "chapters").glob("*/README.md"))]
EXAMPLES = sorted(
    f"chapters.{p.parent.name}.{p.stem}"
    for p in (ROOT / "chapters").glob("ch*/*.py")
    if p.stem != "__init__" and "build_parser" in p.read_text()
)


def mentioned(pattern: str) -> set[str]:
    return {m for readme in READMES for m in re.findall(pattern, readme.read_text())}


def test_every_module_a_readme_runs_exists():
    modules = mentioned(r"python -m (chapters[\w.]*)")
    assert modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


def test_every_path_a_readme_names_exists():
    paths = mentioned(r"`((?:chapters|manifests|scripts|tests|\.github|\.ci)/[\w./-]+)`")
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), path


@pytest.mark.parametrize("module", EXAMPLES)
def test_example_has_help_docstring_and_run_line(module):
    mod = importlib.import_module(module)
    doc = mod.__doc__ or ""
    assert re.match(r"Chapter \d", doc), f"{module}: docstring must open with its chapter"
    assert f"python -m {module}" in doc, f"{module}: docstring must show its Run: line"
    help_text = mod.build_parser().format_help()
    assert "--verbose" in help_text


def test_every_example_is_in_a_chapter_readme():
    listed = mentioned(r"python -m (chapters[\w.]*)")
    missing = [m for m in EXAMPLES if m not in listed and not m.endswith(".bench")]
    assert not missing, f"examples without a README run line: {missing}"
