"""The bench harness: every chapter registers its speed measurements with :func:`case`.

Speed claims live here, never in unit tests. A chapter adds a ``bench.py`` module that decorates
functions with :func:`case`; each returns ``{"config", "figures", "ratios"}`` measured side by
side in one run. The harness prints one table and writes JSON (results plus machine info)
to ``bench-results/``.

``make bench`` runs them (:mod:`chapters.bench`, which imports every chapter's ``bench`` module).

A line is printed as each case starts and finishes; cases print their own progress in between.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable

from dmlp.example import cli
from dmlp.example.errors import UsageError

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


def machine() -> dict:
    import tensorflow as tf

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def run(cases: dict[str, Case], only: tuple[str, ...] | None, quick: bool, out: str) -> dict:
    """Run the cases whose names start with one of ``only`` (all when ``None``), one after the
    other; print one table, write JSON under ``out``, and return the report written."""
    selected = {n: fn for n, fn in cases.items() if not only or any(n.startswith(p) for p in only)}
    if not selected:
        raise UsageError(
            f"no bench case matches {','.join(only or ())}; known: {', '.join(sorted(cases))}"
        )
    log = cli.Progress("bench")
    report = {"machine": machine(), "quick": quick, "cases": {}}
    rows = []
    for number, (name, fn) in enumerate(sorted(selected.items()), 1):
        log(f"case {number}/{len(selected)} {name}{' (quick)' if quick else ''}: started")
        start = time.perf_counter()
        result = fn(quick)
        result["seconds"] = time.perf_counter() - start
        log(f"case {number}/{len(selected)} {name}: finished in {result['seconds']:.1f}s")
        report["cases"][name] = result
        for key, value in result.get("figures", {}).items():
            rows.append((name, key, value))
        for key, value in result.get("ratios", {}).items():
            rows.append((name, f"ratio: {key}", f"{value:.2f}x"))
    cli.print_table(rows, ["case", "figure", "value"], title="Benchmarks (one run, side by side)")
    out_dir = cli.writable_dir(out)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in (out_dir / f"bench-{stamp}.json", out_dir / "latest.json"):
        path.write_text(json.dumps(report, indent=2))
    print(f"\nWrote: {out_dir / 'latest.json'} and {out_dir / f'bench-{stamp}.json'}")
    return report
