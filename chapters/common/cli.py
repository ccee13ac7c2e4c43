"""Command-line helpers shared by every example (introduced in chapter 2).

One vocabulary for flags across chapters (``--dataset``, ``--data-dir``, ``--num-examples``,
``--batch-size``, ``--num-epochs``, ``--steps-per-epoch``, ``--num-workers``, ``--num-ps``,
``--model-type``, ``--out``, ``--seed``, ``--verbose``), validated at parse time so bad input is
a one-line error, plus progress output, a summary table and PNG plots.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from chapters.common import report, tf_setup
from chapters.common.errors import UsageError  # noqa: F401  (re-exported: cli.UsageError)

# ---------------------------------------------------------------------------- argument types


def _whole_number(text: str, minimum: int, requirement: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {requirement}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _whole_number(text, 1, "at least 1")


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _whole_number(text, 0, "0 or more")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated positive integers, e.g. ``32,128,512``."""
    return [positive_int(part.strip()) for part in text.split(",") if part.strip()] or _empty(text)


def _empty(text: str) -> list[int]:
    raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


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


# ---------------------------------------------------------------------------- parser


def parser(
    description: str | None, *, data: bool = True, model: bool = False, out: str | None = "out"
) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` with the flags every example shares.

    ``description`` is normally the module docstring. ``data`` adds the dataset flags, ``model``
    adds ``--model-type``; ``out`` is the default output directory (``None`` for no ``--out``).
    """
    from chapters.common.data import DATASET_CHOICES
    from chapters.common.models import MODEL_TYPES

    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if data:
        p.add_argument(
            "--dataset",
            choices=DATASET_CHOICES,
            default="auto",
            help="auto: real Fashion-MNIST via TFDS, else a synthetic stand-in "
            "(warns once); tfds: real data only; synthetic: generated data",
        )
        p.add_argument(
            "--data-dir",
            default=None,
            help="where TFDS keeps (or downloads) datasets (default: TFDS's own)",
        )
        p.add_argument(
            "--num-examples",
            type=positive_int,
            default=None,
            help="use only the first N examples of each split",
        )
    if model:
        p.add_argument(
            "--model-type",
            choices=MODEL_TYPES,
            default="cnn",
            help="which of the book's three models to train (default: cnn)",
        )
    if out is not None:
        p.add_argument("--out", default=out, help="directory for plots, results and models")
    p.add_argument("--seed", type=int, default=42, help="random seed")
    p.add_argument("--verbose", action="store_true", help="show TensorFlow's own logs")
    return p


def run(
    main: Callable[..., Any],
    spec: argparse.ArgumentParser | type,
    argv: Sequence[str] | None = None,
    check: Callable[[argparse.Namespace], None] | None = None,
) -> int:
    """Parse flags, call ``main`` and turn errors into one clear line; returns the exit code.

    ``spec`` is a :class:`chapters.common.settings.Settings` subclass: the flags become one
    settings object (validated by its constructor) and ``main(settings)`` is called. The parser's
    description is the module docstring of ``main``. (An ``ArgumentParser`` is still accepted for
    examples not yet moved to settings: then ``main(**vars(args))`` after ``check(args)``.)

    Expected problems exit 2, unexpected ones exit 1 with a one-line message (the full traceback
    with ``--verbose``).
    """
    if isinstance(spec, argparse.ArgumentParser):
        parse = spec
        args = parse.parse_args(argv)
        verbose = getattr(args, "verbose", False)
        out = getattr(args, "out", None)
        try:
            if check is not None:
                check(args)
        except UsageError as err:
            parse.error(str(err))

        def call() -> Any:
            return main(**vars(args))
    else:
        parse = spec.parser(sys.modules[main.__module__].__doc__)
        args = parse.parse_args(argv)
        try:
            settings = spec(**vars(args))
        except UsageError as err:
            parse.error(str(err))  # exits 2 with usage + one line
        verbose = getattr(settings, "verbose", False)
        out = getattr(settings, "out", None)

        def call() -> Any:
            return main(settings)

    try:
        if out is not None:
            writable_dir(out)
    except UsageError as err:
        parse.error(str(err))
    tf_setup.quiet(verbose)  # library logs only with --verbose (inherited by child processes)
    code = _call(call, parse.prog, verbose)
    report.write_summary(code)
    return code


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

    def __init__(self, name: str, quiet: bool = False):
        self.name = name
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.name} {time.perf_counter() - self.start:6.1f}s] {message}", flush=True)


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], title: str | None = None) -> str:
    """Format rows as a plain-text table (numbers right-aligned, floats to 3 significant places)."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

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
    """Draw on a fresh matplotlib figure with the Agg backend and save it as PNG at ``path``."""
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
    return report.picture(path)
