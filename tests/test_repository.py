"""The repository keeps its promises: README commands and paths exist, every example has --help
and a docstring naming its book section."""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted((ROOT / "chapters").glob("*/README.md"))]
EXAMPLES = sorted(
    f"chapters.{p.parent.name}.{p.stem}"
    for p in (ROOT / "chapters").glob("ch*/*.py")
    if p.stem != "__init__" and "cli.run(main, Settings)" in p.read_text()
)


def mentioned(pattern: str) -> set[str]:
    return {m for readme in READMES for m in re.findall(pattern, readme.read_text())}


def test_every_module_a_readme_runs_exists():
    modules = mentioned(r"python -m (chapters[\w.]*)")
    assert modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


def test_every_path_a_readme_names_exists():
    folders = r"chapters|dmlp|manifests|scripts|tests|\.github|\.ci|\.devcontainer"
    paths = mentioned(rf"`((?:{folders})/[\w./-]+)`")
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), path


def test_every_file_a_chapter_readme_names_by_itself_exists():
    """A bare name (`server.py`, `replicated.yaml`) is a file of the chapter's folder or of its
    manifests, or one the chapter's code writes (a name its source spells out)."""
    checked = 0
    for readme in READMES[1:]:
        folder = readme.parent
        manifests = ROOT / "manifests" / folder.name.split("_")[0]
        source = "".join(p.read_text() for p in folder.glob("*.py"))
        for name in set(re.findall(r"`([\w.-]+\.(?:py|yaml|json|sh))`", readme.read_text())):
            checked += 1
            there = (folder / name).exists() or (manifests / name).exists()
            assert there or name in source, f"{readme.relative_to(ROOT)}: `{name}`"
    assert checked >= 30


@pytest.mark.parametrize("module", EXAMPLES)
def test_example_has_help_docstring_and_run_line(module):
    mod = importlib.import_module(module)
    doc = mod.__doc__ or ""
    assert re.match(r"Chapter \d", doc), f"{module}: docstring must open with its chapter"
    assert f"python -m {module}" in doc, f"{module}: docstring must show its Run: line"
    help_text = mod.Settings.parser(doc).format_help()
    assert "--verbose" in help_text and help_text.count("\n  --") == len(fields(mod.Settings))


def test_every_example_is_in_a_chapter_readme():
    listed = mentioned(r"python -m (chapters[\w.]*)")
    missing = [m for m in EXAMPLES if m not in listed and not m.endswith(".bench")]
    assert not missing, f"examples without a README run line: {missing}"


def test_scripts_are_strict_bash_that_parses():
    import subprocess

    scripts = sorted((ROOT / "scripts").glob("*.sh"))
    assert {p.name for p in scripts} >= {
        "kind-up.sh",
        "install-addons.sh",
        "build-load.sh",
        "deploy.sh",
        "smoke.sh",
        "kind-down.sh",
    }
    for script in scripts:
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script
        text = script.read_text()
        assert "set -euo pipefail" in text or 'source "$(dirname "$0")/lib.sh"' in text, script


def test_makefile_targets_use_existing_scripts_and_modules():
    makefile = (ROOT / "Makefile").read_text()
    for script in re.findall(r"bash (scripts/[\w.-]+)", makefile):
        assert (ROOT / script).exists(), script
    for module in re.findall(r"-m (chapters[\w.]+)", makefile):
        assert importlib.util.find_spec(module) is not None, module
    for target in ("install", "test", "lint", "bench", "clean", "help", "validate"):
        assert re.search(rf"^{target}:.*## ", makefile, re.M), target


def test_dockerfile_runs_as_non_root_and_copies_what_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source


def test_ci_runs_the_readme_commands():
    import yaml

    ci_run = (ROOT / ".ci/run").read_text()
    assert "make install" in ci_run and "make test" in ci_run
    readme = (ROOT / "README.md").read_text()
    assert "make install" in readme and "make test" in readme
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    steps = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "bash .ci/run" in steps
    kind_steps = " ".join(s.get("run", "") for s in workflow["jobs"]["kind"]["steps"])
    for target in ("kind-up", "deploy", "smoke", "test-kind", "kind-down"):
        assert f"make {target}" in kind_steps, target
