"""``make tour``: every chapter's examples in book order, gathered into one HTML page.

For a class: each example runs as its own process with its default (laptop-sized) settings,
writes under ``<out>/<example>/`` and reports its claim, whether the claim held, its key figures
and its pictures (:mod:`dmlp.example.report`). The page ``<out>/index.html`` shows them per
book section, with the pictures beside them, and works from the file system (no server).

Run: python -m chapters.tour [--only ch02,ch03.fault] [--out out/tour]
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chapters import book
from dmlp.example import cli, report
from dmlp.example.settings import Settings, option


# The examples in book order: every module of the book table (a section's main one, then its
# others), except those that cannot run to the end on a laptop alone.
def examples() -> tuple[str, ...]:
    names = (m.removeprefix("chapters.") for s in book.SECTIONS for m in book.modules_of(s.number))
    return tuple(RUN_INSTEAD.get(n, n) for n in names if n not in NOT_ON_TOUR)


# Modules that run until stopped (the examples start them for the reader) or need a cluster.
NOT_ON_TOUR = {
    "common.data": "the dataset every example reads (each example shows it)",
    "project": "the project's design: the tour runs its demo (9.4)",
    "ch04_model_serving.server": "started by replicated_services and sharded_services",
    "ch04_model_serving.router": "started by sharded_services",
    "ch08_basics.kubernetes_basics": "needs a Kubernetes cluster (make kind-up deploy)",
    "project.data_pipeline": "a step of the project's demo (9.4)",
    "project.model_training": "a step of the project's demo (9.4)",
    "project.inference": "a step of the project's demo (9.4)",
}
# A section whose module is a definition, not a program: the tour runs the program that uses it.
RUN_INSTEAD = {"project.workflow": "project.demo"}


@dataclass(frozen=True)
class TourSettings(Settings):
    only: tuple[str, ...] = option(
        (), "run only the examples whose name starts with one of these (comma-separated)"
    )
    out: str = option("out/tour", "where the page and every example's output go")
    timeout: float = option(300.0, "seconds before one example is stopped", minimum=1)
    verbose: bool = option(False, "show the examples' whole output")


@dataclass
class Stop:
    """One example on the tour: what it reported, or why it did not."""

    module: str
    title: str
    seconds: float = 0.0
    exit_code: int | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    last_lines: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return self.exit_code == 0 and bool(self.claims) and all(c["held"] for c in self.claims)


def count_held(stops: list[Stop]) -> int:
    """How many of the stops showed their claim."""
    return sum(stop.held for stop in stops)


@dataclass
class TourResult:
    stops: list[Stop]
    page: Path


def title_of(module: str) -> str:
    """The first line of the example's docstring: its chapter, section and pattern."""
    spec = importlib.util.find_spec(f"chapters.{module}")
    text = Path(spec.origin).read_text(encoding="utf-8") if spec and spec.origin else ""
    if text.startswith('"""'):
        return text[3:].splitlines()[0].strip().rstrip(".").replace("``", "")
    return module


def available(only: tuple[str, ...]) -> list[str]:
    chosen = [m for m in examples() if not only or any(m.startswith(p) for p in only)]
    return [m for m in chosen if importlib.util.find_spec(f"chapters.{m}") is not None]


def run_example(module: str, out: Path, timeout: float, verbose: bool) -> Stop:
    """Run one example as ``python -m`` with its defaults; gather its report."""
    folder = out / module.split(".")[-1]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    summary = folder / "summary.json"
    env = {**os.environ, report.SUMMARY_ENV: str(summary)}
    stop = Stop(module, title_of(module))
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", f"chapters.{module}", "--out", str(folder)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        stop.exit_code = proc.returncode
        output = (proc.stdout + proc.stderr).splitlines()
    except subprocess.TimeoutExpired as err:
        output = [f"stopped after {timeout:.0f} s"] + str(err.stdout or "").splitlines()[-5:]
    stop.seconds = time.perf_counter() - start
    if verbose:
        print("\n".join(output))
    if summary.exists():
        data = json.loads(summary.read_text())
        stop.claims, stop.sections = data["claims"], data["sections"]
        stop.pictures = [p for p in data["pictures"] if Path(p).is_file()]
    if not stop.held:
        stop.last_lines = output[-8:]
    return stop


def render(stops: list[Stop], out: Path) -> Path:
    """Write ``out/index.html``: a table of every claim, then one section per example."""
    esc = html.escape
    rows, sections = [], []
    for stop in stops:
        anchor = stop.module.replace(".", "-")
        mark = "held" if stop.held else "did not hold"
        rows.append(
            f'<tr class="{"ok" if stop.held else "bad"}"><td><a href="#{anchor}">'
            f"{esc(stop.title)}</a></td><td>{mark}</td><td>{stop.seconds:.0f} s</td></tr>"
        )
        claims = "".join(
            f'<li class="{"ok" if c["held"] else "bad"}">{esc(c["text"])}'
            + ("" if c["held"] else " <b>(did not hold)</b>")
            + "".join(
                f"<br><code>{esc(str(k))} = {esc(cli.cell(v))}</code>"
                for k, v in c["figures"].items()
            )
            + "</li>"
            for c in stop.claims
        )
        pictures = "".join(
            f'<img alt="{esc(Path(p).name)}" src="{esc(os.path.relpath(p, out))}">'
            for p in stop.pictures
        )
        trouble = "<pre>" + esc("\n".join(stop.last_lines)) + "</pre>" if stop.last_lines else ""
        where = esc(" ".join(book.reference(n) for n in stop.sections) or stop.title)
        sections.append(
            f'<section id="{anchor}" data-module="{esc(stop.module)}"><h2>{esc(stop.title)}</h2>'
            f"<p class=where>{where} &middot; <code>python -m chapters."
            f"{esc(stop.module)}</code> &middot; exit code {stop.exit_code} &middot; "
            f"{stop.seconds:.1f} s</p><ul>{claims or '<li class=bad>no claim reported</li>'}"
            f"</ul>{pictures}{trouble}</section>"
        )
    page = out / "index.html"
    page.write_text(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>dmlp: a tour of Distributed Machine Learning Patterns</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
        ".ok{color:#14652b}.bad{color:#a11}img{max-width:100%;border:1px solid #ccc;margin:.5em 0}"
        "td{padding:.2em .8em}section{border-top:1px solid #ddd;margin-top:1.5em}"
        "</style></head><body><h1>A tour of <i>Distributed Machine Learning Patterns</i></h1>"
        f"<p>{count_held(stops)} of {len(stops)} claims held on this machine.</p>"
        "<table><tr><th>pattern</th><th>claim</th><th>time</th></tr>"
        + "".join(rows)
        + "</table>"
        + "".join(sections)
        + "</body></html>",
        encoding="utf-8",
    )
    return page


def main(settings: TourSettings) -> TourResult:
    out = cli.writable_dir(settings.out)
    modules = available(settings.only)
    if not modules:
        raise cli.UsageError(f"no example matches --only {','.join(settings.only)}")
    log = cli.Progress("tour")
    stops = []
    for number, module in enumerate(modules, 1):
        log(f"[{number}/{len(modules)}] {module} ...")
        stops.append(run_example(module, out, settings.timeout, settings.verbose))
        last = stops[-1]
        log(f"[{number}/{len(modules)}] {module}: {'held' if last.held else 'DID NOT HOLD'}")
    page = render(stops, out)
    cli.print_table(
        [(s.module, "yes" if s.held else "NO", round(s.seconds, 1)) for s in stops],
        ["example", "claim held", "seconds"],
        title="The tour",
    )
    held = count_held(stops)
    report.claim(f"{held} of {len(stops)} patterns showed their claim", held == len(stops))
    print(f"Open {page}")
    return TourResult(stops, page)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, TourSettings))
