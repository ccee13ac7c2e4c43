"""The pinned versions of the kind path, read from ``versions.env`` (introduced in chapter 3).

``versions.env`` (KEY=value lines) is the one file every pinned version and URL lives in: the
kind scripts source it, CI loads it, and Python reads it through :func:`pinned`. It is part of the
repository, not of the container image: only code that runs on the reader's machine reads it.
"""

from __future__ import annotations

from pathlib import Path

FILE = Path(__file__).resolve().parents[2] / "versions.env"


def pinned(path: Path = FILE) -> dict[str, str]:
    """Every ``KEY=value`` of ``versions.env`` (comments and blank lines skipped)."""
    lines = path.read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in pairs}
