"""``make bench``: one harness that every chapter registers its speed measurements with.

Speed claims live here, never in unit tests. A chapter adds a ``bench.py`` module that decorates
functions with :func:`case`; each returns ``{"config", "figures", "ratios"}`` measured side by
side in one run. The harness prints one table and writes JSON (results plus machine info)
to ``bench-results/``.

Run: python -m chapters.common.bench [--only ch02] [--quick] [--out bench-results]
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import os
import pkgutil
import platform
import time
from collections.abc import Callable

from chapters.common import cli

Case = Callable[[bool], dict]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    """Register ``fn(quick: bool) -> {"config", "figures", "ratios"}`` under ``name``."""

    def register(fn: Case) -> Case:
        CASES[name] = fn
        return fn

    return register


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


def main(
    only: list[str] | None = None,
    quick: bool = False,
    out: str = "bench-results",
    verbose: bool = False,
) -> dict:
    from chapters.common.tf_setup import tf as import_tf

    import_tf(verbose)
    discover()
    # Under ``python -m`` this file is ``__main__``; the chapters registered with the importable
    # module of the same name, so read the registry from there.
    cases = importlib.import_module("chapters.common.bench").CASES
    selected = {
        n: fn for n, fn in cases.items() if not only or any(n.startswith(prefix) for prefix in only)
    }
    if not selected:
        raise cli.UsageError(f"no bench case matches {only}; known: {', '.join(sorted(cases))}")
    log = cli.Progress("bench")
    report = {"machine": machine(), "quick": quick, "cases": {}}
    rows = []
    for name, fn in sorted(selected.items()):
        log(f"running {name}{' (quick)' if quick else ''}")
        start = time.perf_counter()
        result = fn(quick)
        result["seconds"] = time.perf_counter() - start
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
    print(f"\nwrote {out_dir / 'latest.json'} and {out_dir / f'bench-{stamp}.json'}")
    return report


def build_parser():
    p = cli.parser(__doc__, data=False, out="bench-results")
    p.add_argument(
        "--only",
        type=lambda s: [x for x in s.split(",") if x],
        default=None,
        help="comma-separated case-name prefixes, e.g. ch02,ch03.mwms",
    )
    p.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke run)")
    return p


def _main(only=None, quick=False, out="bench-results", verbose=False, seed=42):
    main(only, quick, out, verbose)


if __name__ == "__main__":
    raise SystemExit(cli.run(_main, build_parser()))
