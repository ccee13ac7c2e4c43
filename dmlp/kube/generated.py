"""Manifests written from the Python that defines them, committed, and checked for drift.

Introduced in chapter 5 (its Argo Workflows are Hera definitions), used again in chapter 8 (its
workflows and TFJob) and by the project. A chapter's ``manifests`` module only declares what it
generates: ``file name -> File(defining module, definition)``, where a definition is a Hera
``Workflow`` (written with ``to_yaml()``) or a plain dict such as a TFJob (``yaml.safe_dump``).
:class:`Generator` does the rest, for every chapter alike::

    def files() -> dict[str, generated.File]:
        return {"coinflip.yaml": generated.File(basics.__name__, basics.COINFLIP)}

    GENERATOR = generated.Generator(
        "chapters.ch08_basics.manifests", generated.MANIFESTS / "ch08", files
    )
    if __name__ == "__main__":
        raise SystemExit(GENERATOR.run(__doc__))

Each file opens with a :func:`header` naming its defining module and the command that rewrites it.
``python -m <that command>`` only checks the committed files and fails (a :class:`UsageError`
naming the command) when one differs from what the code generates now; ``--write`` rewrites the
stale ones. A test runs the check for every chapter, so CI fails when a definition changes and its
YAML is not regenerated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import Settings, option

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"  # the repository's, per chapter


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


@dataclass(frozen=True)
class File:
    """One generated file: the module that defines its object, and the object.

    ``definition`` is a Hera ``Workflow`` or a plain dict (a Kubernetes object); ``note`` is
    comment lines written between the header and the YAML (each ending in a newline).
    """

    module: str
    definition: Any
    note: str = ""

    @property
    def hera(self) -> bool:
        """Whether the definition is a Hera workflow (so Hera must read the YAML back whole)."""
        return hasattr(self.definition, "to_yaml")

    def body(self) -> str:
        """The YAML of the definition, without header or note."""
        if self.hera:
            return self.definition.to_yaml()
        return yaml.safe_dump(self.definition, sort_keys=False)

    def text(self, command: str) -> str:
        """The whole file: :func:`header`, note, YAML."""
        source = "Hera definition" if self.hera else "Python definition"
        return header(self.module, command, source) + self.note + self.body()


@dataclass(frozen=True)
class Generator:
    """The generated files of one chapter: the module that writes them (``python -m command``),
    the folder they go in, and the function that declares them (called only when needed, so
    importing a chapter's ``manifests`` module stays cheap)."""

    command: str
    directory: Path
    files: Callable[[], dict[str, File]]

    def sync(self, write: bool = False) -> list[str]:
        """Check (or, with ``write``, rewrite) every file; returns the names that differed."""
        files = self.files()
        stale = []
        for name, file in files.items():
            path = self.directory / name
            text = file.text(self.command)
            if not path.exists() or path.read_text() != text:
                stale.append(name)
                if write:
                    path.write_text(text)
        parents = self.directory.parents
        shown = self.directory.relative_to(parents[1]) if len(parents) > 1 else self.directory
        for name in stale:
            print(f"{'wrote' if write else 'out of date'}: {shown}/{name}")
        if stale and not write:
            raise UsageError(
                f"{len(stale)} manifest(s) differ from their Python definitions; "
                f"run: python -m {self.command} --write"
            )
        done = "written" if write else "stale"
        print(f"{len(files)} generated manifests checked, {len(stale)} {done}")
        return stale

    def main(self, flags: Flags) -> list[str]:
        """The command: check (or with ``--write`` rewrite) the files."""
        return self.sync(flags.write)

    def run(self, doc: str | None = None, argv: Sequence[str] | None = None) -> int:
        """Parse the flags and run :meth:`main`; ``doc`` (the chapter module's docstring) is the
        ``--help`` text. Returns the exit code."""
        return cli.run(self.main, Flags, argv, doc)
