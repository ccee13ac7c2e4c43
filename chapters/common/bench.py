"""``make bench``: one harness that every chapter registers its speed measurements with.

Speed claims live here, never in unit tests. A chapter adds a ``bench.py`` module that decorates
functions with :func:`case`; each returns ``{"config", "figures", "ratios"}`` measured side by
side in one run. The harness prints one table and writes JSON (results plus machine info)
to ``bench-results/``.

Run: python -m chapters.common.bench [--only ch02] [--quick] [--out bench-results]

A line is printed as each case starts and finishes; cases print their own progress in between.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import importlib.util
import io
import json
import os
import pkgutil
import platform
import sys
import time
from collections.abc import Callable

from chapters.common import cli, settings
from chapters.common.errors import UsageError

Case = Callable[[bool], dict]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    """Register ``fn(quick: bool) -> {"config", "figures", "ratios"}`` under ``name``."""

    def register(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return register


class _ProgressLines(io.TextIOBase):
    """A stdout that passes on only ``cli.Progress`` lines (``[name   1.2s] ...``)."""

    def __init__(self, target):
        self.target, self.partial = target, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            if cli.Progress.LINE.match(line):
                self.target.write(line + "\n")
                self.target.flush()
        return len(text)


@contextlib.contextmanager
def progress_only():
    """Run an example inside a case: its progress lines show, its summary does not.

    An example's tables, claim and "Wrote: /tmp/..." lines (temporary folders that the case
    removes) would bury the bench's own table; its progress lines say what a long case is doing.
    """
    with contextlib.redirect_stdout(_ProgressLines(sys.stdout)):
        yield


def discover() -> None:
    """Import every ``chapters.<chapter>.bench`` module so its cases register."""
    import chapters

    for info in pkgutil.iter_modules(chapters.__path__):
        if info.ispkg and importlib.util.find_spec(f"chapters.{info.name}.bench") is not None:
            importlib.import_module(f"chapters.{info.name}.bench")


def machine() -> dict:
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


@dataclasses.dataclass(frozen=True)
class Settings(settings.Settings):
    only: tuple[str, ...] | None = settings.option(
        None, "comma-separated case-name prefixes, e.g. ch02,ch03 (default: every case)"
    )
    quick: bool = settings.option(False, "smaller sizes (for a smoke run)")
    out: str = settings.option("bench-results", "directory for the JSON results")
    verbose: bool = settings.option(False, "show the libraries' own logs")


def main(s: Settings) -> dict:
    """Run the selected cases one after the other; returns the report written as JSON."""
    from chapters.common.tf_setup import tf as import_tf

    import_tf(s.verbose)
    discover()
    # Under ``python -m`` this file is ``__main__``; the chapters registered with the importable
    # module of the same name, so read the registry from there.
    cases = importlib.import_module("chapters.common.bench").CASES
    selected = {
        n: fn for n, fn in cases.items() if not s.only or any(n.startswith(p) for p in s.only)
    }
    if not selected:
        raise UsageError(
            f"no bench case matches {','.join(s.only or ())}; known: {', '.join(sorted(cases))}"
        )
    log = cli.Progress("bench")
    report = {"machine": machine(), "quick": s.quick, "cases": {}}
    rows = []
    for number, (name, fn) in enumerate(sorted(selected.items()), 1):
        log(f"case {number}/{len(selected)} {name}{' (quick)' if s.quick else ''}: started")
        start = time.perf_counter()
        result = fn(s.quick)
        result["seconds"] = time.perf_counter() - start
        log(f"case {number}/{len(selected)} {name}: finished in {result['seconds']:.1f}s")
        report["cases"][name] = result
        for key, value in result.get("figures", {}).items():
            rows.append((name, key, value))
        for key, value in result.get("ratios", {}).items():
            rows.append((name, f"ratio: {key}", f"{value:.2f}x"))
    cli.print_table(rows, ["case", "figure", "value"], title="Benchmarks (one run, side by side)")
    out_dir = cli.writable_dir(s.out)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in (out_dir / f"bench-{stamp}.json", out_dir / "latest.json"):
        path.write_text(json.dumps(report, indent=2))
    print(f"\nWrote: {out_dir / 'latest.json'} and {out_dir / f'bench-{stamp}.json'}")
    return report


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
