"""Manifests written from the Python that defines them, committed, and checked for drift.

Introduced in chapter 5 (its Argo Workflows are Hera definitions), used again in chapter 8 (its
workflows and TFJob). A chapter lists ``file name -> (defining module, YAML text)``; :func:`sync`
compares each committed file with what the code generates now, and rewrites the stale ones when
asked::

    files = {"coinflip.yaml": (basics.__name__, basics.COINFLIP.to_yaml())}
    stale = generated.sync(ROOT / "manifests" / "ch08", files, "chapters.ch08_basics.manifests",
                           write=flags.write)

Without ``write`` a stale file is a :class:`UsageError` naming the command that fixes it (a test
calls it, so CI fails when a definition changes and its YAML is not regenerated).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dmlp.example.errors import UsageError
from dmlp.example.settings import Settings, option


@dataclass(frozen=True)
class Flags(Settings):
    """The flags of a chapter's ``manifests`` module."""

    write: bool = option(False, "rewrite the files (default: only check they are up to date)")
    verbose: bool = option(False, "(no library logs here; accepted for uniformity)")


def header(module: str, command: str, source: str = "Hera definition") -> str:
    """The comment that opens a generated file: where it comes from, how to regenerate it."""
    return (
        f"# Generated from {module.replace('.', '/')}.py by\n"
        f"#   python -m {command} --write\n"
        f"# Do not edit: change the {source} and regenerate (a test compares the two).\n"
    )


def sync(
    directory: Path,
    files: dict[str, tuple[str, ...]],
    command: str,
    write: bool = False,
) -> list[str]:
    """Check (or, with ``write``, rewrite) every generated file; returns the names that differed.

    ``files`` maps a file name in ``directory`` to ``(defining module, body)``, or ``(module,
    body, source)`` where ``source`` names what to edit when it is not a Hera definition; each
    file is the :func:`header` plus the body. ``command`` is the module that regenerates them.
    """
    stale = []
    for name, (module, body, *source) in files.items():
        path = directory / name
        text = header(module, command, *source) + body
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if write:
                path.write_text(text)
    shown = directory.relative_to(directory.parents[1]) if len(directory.parents) > 1 else directory
    for name in stale:
        print(f"{'wrote' if write else 'out of date'}: {shown}/{name}")
    if stale and not write:
        raise UsageError(
            f"{len(stale)} manifest(s) differ from their Python definitions; "
            f"run: python -m {command} --write"
        )
    done = "written" if write else "stale"
    print(f"{len(files)} generated manifests checked, {len(stale)} {done}")
    return stale
