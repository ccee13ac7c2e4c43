"""Every command a README shows pastes and works: each `python -m chapters...` line parses with
that example's own settings (flags exist, values are valid, rules between flags hold, and the
flags it names are the settings it changes), and each `make` line names a real target.

This is the one test of the READMEs' commands, the chapters' included; the files they name are
checked in ``test_repository.py``, the curl commands against a live server in
``tests/ch04/test_server.py``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest

from dmlp.example.settings import Settings, flag_name, meta_of

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted((ROOT / "chapters").glob("*/README.md"))]
SHELL_BREAKS = {"&&", "||", "|", ";", ">", "2>&1", "&"}


def commands() -> list[tuple[str, list[str]]]:
    """``(readme, argv)`` for every command in code blocks and inline code of the READMEs."""
    found = []
    for readme in READMES:
        text = readme.read_text()
        blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, re.S)
        lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
        lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for line in lines:
            line = line.strip().removeprefix("$ ")
            if not re.match(r"(\.venv/bin/)?python3? -m chapters\.|make [a-z]", line):
                continue
            words = shlex.split(line, comments=True)
            for i, word in enumerate(words):
                if word in SHELL_BREAKS:
                    words = words[:i]
                    break
            found.append((readme.relative_to(ROOT).as_posix(), words))
    return found


COMMANDS = commands()
PYTHON = [(r, w) for r, w in COMMANDS if w[0] != "make"]
MAKE = [(r, w) for r, w in COMMANDS if w[0] == "make"]


def settings_of(module) -> type[Settings]:
    """The settings class that the module's ``cli.run(main, <class>)`` parses its flags into."""
    source = inspect.getsource(module)
    match = re.search(r"cli\.run\(\s*\w+,\s*([\w.]+)\)", source)
    assert match, f"{module.__name__} has no `cli.run(main, Settings)` entry point"
    spec = getattr(module, match.group(1))
    assert issubclass(spec, Settings), f"{module.__name__}: {spec} is not a Settings class"
    return spec


def test_the_readmes_show_commands():
    assert len(PYTHON) >= 10 and len(MAKE) >= 5
    per_readme = Counter(readme for readme, _ in PYTHON)
    chapters = {r.relative_to(ROOT).as_posix() for r in READMES[1:]}
    assert set(per_readme) >= chapters  # every chapter README shows how to run its examples
    assert per_readme["chapters/ch04_model_serving/README.md"] >= 10  # server, client, router...


@pytest.mark.parametrize("readme, argv", PYTHON, ids=[f"{r}: {' '.join(w[2:])}" for r, w in PYTHON])
def test_python_command_parses_with_its_settings(readme, argv, capsys):
    spec = settings_of(importlib.import_module(argv[2]))
    args = argv[3:]
    try:
        settings = spec.from_argv(args)
    except SystemExit as stop:
        pytest.fail(f"{readme}: `{' '.join(argv)}` is rejected: {capsys.readouterr().err}")
        raise AssertionError from stop
    named = {arg.split("=", 1)[0] for arg in args if arg.startswith("--")}
    changed = {
        flag_name(field, meta_of(spec, field))
        for field in dataclasses.fields(settings)
        if getattr(settings, field.name) != field.default
    }
    assert changed <= named, f"{readme}: `{' '.join(argv)}` also changes {changed - named}"
    assert spec.from_argv(settings.argv()) == settings  # as a launcher passes them on


@pytest.mark.parametrize("readme, argv", MAKE, ids=[f"{r}: {' '.join(w)}" for r, w in MAKE])
def test_make_command_names_a_target(readme, argv):
    makefile = (ROOT / "Makefile").read_text()
    targets = [w for w in argv[1:] if "=" not in w and not w.startswith("-")]
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{readme}: make {target}"


def test_bench_arguments_in_a_readme_parse():
    from chapters import bench

    text = "".join(readme.read_text() for readme in READMES)
    shown = re.findall(r'make bench BENCH_ARGS="([^"]*)"', text)
    assert shown
    for flags in shown:
        bench.Settings.from_argv(shlex.split(flags))
