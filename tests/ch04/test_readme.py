"""Every command in the chapter 4 README is one the modules accept; every file it names exists.

(The README's curl commands are run against a live server in test_server.py.)
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "chapters" / "ch04_model_serving" / "README.md"
COMMAND = re.compile(r"python -m (chapters\.ch04_model_serving\.\w+)([^`\n]*)")


def commands() -> list[tuple[str, list[str]]]:
    found = [(m.group(1), shlex.split(m.group(2))) for m in COMMAND.finditer(README.read_text())]
    assert len(found) >= 10, found
    return found


@pytest.mark.parametrize("module, args", commands(), ids=lambda x: " ".join(x) if x else "")
def test_readme_command_parses(module, args):
    settings_class = importlib.import_module(module).Settings
    settings = settings_class.from_argv(args)  # exits 2 on any flag the module does not take
    assert isinstance(settings, settings_class)


def test_files_the_readme_names_exist():
    names = set(
        re.findall(r"`((?:chapters/|manifests/)?[\w/.-]+\.(?:py|json|yaml))`", README.read_text())
    )
    assert names
    for name in names:
        candidates = [ROOT / name, README.parent / name, ROOT / "manifests" / "ch04" / name]
        assert any(path.exists() for path in candidates), name
