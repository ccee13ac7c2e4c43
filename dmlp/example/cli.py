"""Command-line helpers shared by every example (introduced in chapter 2).

One vocabulary for flags across chapters (``--dataset``, ``--data-dir``, ``--num-examples``,
``--batch-size``, ``--num-epochs``, ``--steps-per-epoch``, ``--num-workers``, ``--num-ps``,
``--model-type``, ``--out``, ``--seed``, ``--verbose``), validated at parse time so bad input is
a one-line error, plus progress output, a summary table and PNG plots.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from dmlp.example import report, tf_setup
from dmlp.example.errors import UsageError  # noqa: F401  (re-exported: cli.UsageError)

# ---------------------------------------------------------------------------- files


def writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` if needed and prove it is writable, or raise :class:`UsageError`."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as err:
        raise UsageError(
            f"--out/--data-dir {str(out)!r} is not a writable directory: {err.strerror or err}"
        ) from None
    return out


# ---------------------------------------------------------------------------- entry point


def run(
    main: Callable[[Any], Any],
    spec: type,
    argv: Sequence[str] | None = None,
    doc: str | None = None,
) -> int:
    """Parse flags into ``spec`` (a :class:`dmlp.example.settings.Settings` subclass), call
    ``main(settings)`` and turn errors into one clear line; returns the process exit code.

    The parser's description is ``doc``, by default the module docstring of ``main``. Bad flags
    exit 2 with usage and one line; expected problems (:class:`UsageError`) exit 2, unexpected
    ones exit 1 with a one-line message (the full traceback with ``--verbose``).
    """
    parse = spec.parser(doc if doc is not None else sys.modules[main.__module__].__doc__)
    args = parse.parse_args(argv)
    try:
        settings = spec(**vars(args))
        out = getattr(settings, "out", None)
        created = _first_missing(Path(out)) if out is not None else None
        if out is not None:
            writable_dir(out)
    except UsageError as err:
        parse.error(str(err))  # exits 2 with usage + one line
    verbose = getattr(settings, "verbose", False)
    tf_setup.quiet(verbose)  # library logs only with --verbose (inherited by child processes)
    code = _call(lambda: main(settings), parse.prog, verbose)
    if created is not None:
        _remove_if_empty(created)  # an example that wrote nothing leaves no out/ behind
    report.write_summary(code)
    return code


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (``None`` if it all exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def _remove_if_empty(folder: Path) -> None:
    """Remove ``folder`` if it holds no file at all (only empty folders, or nothing)."""
    if folder.is_dir() and not any(p.is_file() or p.is_symlink() for p in folder.rglob("*")):
        for sub in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            sub.rmdir()
        folder.rmdir()


def _call(call: Callable[[], Any], prog: str, verbose: bool) -> int:
    try:
        call()
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence for readers
        if verbose:
            traceback.print_exc()
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(
            f"{prog}: error: {type(err).__name__}: {first} (run with --verbose for the traceback)",
            file=sys.stderr,
        )
        return 1
    return 0


# ---------------------------------------------------------------------------- output


class Progress:
    """Prints ``[name  12.3s] message`` lines, flushed at once (readable in logs and pods)."""

    LINE = re.compile(r"^\[\S+ +[\d.]+s\] ")  # what __call__ prints, to pick such lines out

    def __init__(self, name: str, quiet: bool = False):
        self.name = name
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.name} {time.perf_counter() - self.start:6.1f}s] {message}", flush=True)


def cell(value: Any) -> str:
    """One value as the tables show it: floats to 3 significant places, thousands separated."""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], title: str | None = None) -> str:
    """Format rows as a plain-text table (numbers right-aligned, :func:`cell` for each value)."""
    body = [[cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]

    def fmt(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if _looks_numeric(v) else v.ljust(w)
            for v, w in zip(values, widths, strict=True)
        ).rstrip()

    lines = [title] if title else []
    lines += [fmt(headers), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in body]
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    return (
        text.replace(",", "")
        .replace(".", "", 1)
        .replace("-", "", 1)
        .replace("e", "", 1)
        .replace("+", "", 1)
        .replace("x", "", 1)
        .strip()
        .isdigit()
    )


def print_table(
    rows: Iterable[Sequence[Any]], headers: Sequence[str], title: str | None = None
) -> None:
    print("\n" + table(list(rows), headers, title), flush=True)


def save_plot(draw: Callable[[Any], None], path: str | os.PathLike, title: str = "") -> Path:
    """Draw on a fresh matplotlib figure with the Agg backend and save it as PNG at ``path``.

    The example names the picture to its reader at the end, in :func:`dmlp.example.report.finish`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    try:
        draw(ax)
        if title:
            ax.set_title(title)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
