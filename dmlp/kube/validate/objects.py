"""What every stage of the validator shares: a rendered object, a problem, a field path.

A stage (``render``, ``schemas``, ``webhooks``, ``references``) takes :class:`Item` objects and
reports :class:`Problem` objects that name the file, the object and the dotted path of the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str
    obj: str  # "Kind namespace/name", or "" for a file-level problem
    path: str  # dotted field path, list items as [i]
    message: str

    def __str__(self) -> str:
        where = ": ".join(x for x in (self.obj, self.path) if x)
        return f"{self.file}: {where}: {self.message}" if where else f"{self.file}: {self.message}"


@dataclass
class Item:
    """One rendered object and the file it came from."""

    file: str
    doc: Any

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", "")) if isinstance(self.doc, dict) else ""

    @property
    def name(self) -> str:
        meta = self.doc.get("metadata") if isinstance(self.doc, dict) else None
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def namespace(self) -> str | None:
        meta = self.doc.get("metadata") if isinstance(self.doc, dict) else None
        return meta.get("namespace") if isinstance(meta, dict) else None

    @property
    def label(self) -> str:
        if not self.kind:
            return ""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}".strip()


def walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) pair below ``node``, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))
