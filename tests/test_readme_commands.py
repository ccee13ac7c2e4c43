"""Every example command a README or a docstring's "Run:" line shows parses with that example's
own settings, so a reader can paste it. (Running them all is the tour's job; this is the cheap,
always-on half: a renamed or removed flag fails here.)

Examples still on the legacy argparse helpers are skipped until they declare ``Settings``.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", *sorted((ROOT / "chapters").glob("*/README.md"))]
IN_README = re.compile(r"`python -m (chapters[\w.]+)([^`]*)`")
RUN_LINE = re.compile(r"^Run: python -m (chapters[\w.]+)(.*)$", re.M)


def commands() -> list[tuple[str, str, str]]:
    """``(where, module, flags)`` for each command shown to a reader."""
    found = [
        (readme.relative_to(ROOT).as_posix(), module, flags.strip())
        for readme in READMES
        for module, flags in IN_README.findall(readme.read_text())
    ]
    for path in sorted((ROOT / "chapters").glob("ch*/*.py")):
        doc = path.read_text()
        found += [
            (path.relative_to(ROOT).as_posix(), m, f.strip()) for m, f in RUN_LINE.findall(doc)
        ]
    return found


def declares_settings(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and "cli.run(main, Settings)" in Path(spec.origin).read_text()


@pytest.mark.parametrize("where, module, flags", commands(), ids=lambda v: str(v)[:60])
def test_a_shown_command_parses(where, module, flags):
    assert importlib.util.find_spec(module) is not None, f"{where}: no module {module}"
    if not declares_settings(module):
        pytest.skip(f"{module} does not declare Settings yet")
    argv = shlex.split(flags.replace("[", " ").replace("]", " "))  # "Run: ... [--flag value]"
    settings_class = importlib.import_module(module).Settings
    try:
        settings_class.from_argv(argv)
    except SystemExit as exit_info:  # argparse's one-line error, already printed
        pytest.fail(f"{where}: `python -m {module} {flags}` does not parse ({exit_info.code})")


def test_the_bench_command_in_a_readme_parses():
    from chapters.common import bench

    shown = re.findall(r'make bench BENCH_ARGS="([^"]*)"', "".join(r.read_text() for r in READMES))
    assert shown
    for flags in shown:
        bench.Settings.from_argv(shlex.split(flags))
