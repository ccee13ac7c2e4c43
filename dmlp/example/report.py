"""What an example tells its reader at the end (introduced in chapter 2, used by every chapter).

Every example ends the same way, in one order that :func:`finish` writes: after its table, a
"Claim:" line whose figures come from values ``main`` returns, the paths of the pictures it drew,
the book section it illustrates, and what it wrote. This module prints those lines and remembers
them, so that ``make tour`` can gather them into one page: a
command run with ``DMLP_SUMMARY=<file.json>`` in its environment writes them there when it ends
(see :func:`dmlp.example.cli.run`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_ENV = "DMLP_SUMMARY"


@dataclass(frozen=True)
class Claim:
    """A pattern's claim as measured: the sentence, whether it held, and its key figures."""

    text: str
    held: bool
    figures: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"Claim: {self.text}" + ("" if self.held else "  [this run did NOT show it]")


_CLAIMS: list[Claim] = []


# How a section number becomes the reader's "Book: ..." line; the book's package installs its own
# (chapters/common/__init__.py), so this library never imports the book.
def _plain_reference(number: str) -> str:
    return f"Book: section {number}."


_reference: Callable[[str], str] = _plain_reference
_PICTURES: list[str] = []
_SECTIONS: list[str] = []


def claim(text: str, held: bool, **figures: Any) -> Claim:
    """Print the claim line and remember it; ``main`` returns the object so tests can assert it."""
    made = Claim(text, bool(held), figures)
    _CLAIMS.append(made)
    print(made, flush=True)
    return made


def picture(path: str | os.PathLike) -> Path:
    """Remember a picture the example drew and tell the reader where it is."""
    _PICTURES.append(str(Path(path).resolve()))
    print(f"Picture: {path}", flush=True)
    return Path(path)


def cite_with(reference: Callable[[str], str]) -> None:
    """Set how :func:`section` turns a section number into the line that cites the book."""
    global _reference
    _reference = reference


def section(number: str) -> str:
    """The last line of an example: the book section it illustrates (``"2.4"``)."""
    line = _reference(number)
    _SECTIONS.append(number)
    print(line, flush=True)
    return line


def finish(
    number: str,
    claim_text: str | None = None,
    held: bool = False,
    pictures: Iterable[str | os.PathLike] = (),
    wrote: str | None = None,
    **figures: Any,
) -> Claim | None:
    """An example's closing lines, once its table is printed: the claim (when there is one to
    make), a line per picture, the book section ``number``, and ``Wrote: <wrote>``.

    Returns the :class:`Claim` (``None`` without ``claim_text``) for ``main`` to return.
    """
    made = claim(claim_text, held, **figures) if claim_text is not None else None
    for path in pictures:
        picture(path)
    section(number)
    if wrote is not None:
        print(f"Wrote: {wrote}", flush=True)
    return made


def write_summary(exit_code: int) -> None:
    """Write what was reported to the file named by ``DMLP_SUMMARY``, if it is set."""
    target = os.environ.get(SUMMARY_ENV)
    if not target:
        return
    summary = {
        "exit_code": exit_code,
        "claims": [asdict(c) for c in _CLAIMS],
        "pictures": list(_PICTURES),
        "sections": list(_SECTIONS),
    }
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(summary, indent=2, default=str))
