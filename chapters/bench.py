"""``make bench``: every chapter's speed measurements, side by side, in one run.

Speed claims live here, never in unit tests. Each chapter's ``bench.py`` registers its cases with
:func:`dmlp.example.bench.case`; each returns ``{"config", "figures", "ratios"}`` measured side by
side. This prints one table and writes JSON (results plus machine info) to ``bench-results/``.

Run: python -m chapters.bench [--only ch02] [--quick] [--out bench-results]

A line is printed as each case starts and finishes; cases print their own progress in between.
"""

from __future__ import annotations

import dataclasses

from dmlp.example import bench, cli
from dmlp.example.settings import Settings as BaseSettings
from dmlp.example.settings import option


def register_every_chapter() -> dict[str, bench.Case]:
    """Import every chapter's bench module (each registers its cases); return the registry."""
    from chapters.ch02_data_ingestion import bench as ch02  # noqa: F401
    from chapters.ch03_distributed_training import bench as ch03  # noqa: F401
    from chapters.ch04_model_serving import bench as ch04  # noqa: F401
    from chapters.ch05_workflows import bench as ch05  # noqa: F401
    from chapters.ch06_operations import bench as ch06  # noqa: F401
    from chapters.project import bench as project  # noqa: F401

    return bench.CASES


@dataclasses.dataclass(frozen=True)
class Settings(BaseSettings):
    only: tuple[str, ...] | None = option(
        None, "comma-separated case-name prefixes, e.g. ch02,ch03 (default: every case)"
    )
    quick: bool = option(False, "smaller sizes (for a smoke run)")
    out: str = option("bench-results", "directory for the JSON results")
    verbose: bool = option(False, "show the libraries' own logs")


def main(s: Settings) -> dict:
    """Run the selected cases one after the other; returns the report written as JSON."""
    from dmlp.example.tf_setup import tf as import_tf

    import_tf(s.verbose)
    return bench.run(register_every_chapter(), s.only, s.quick, s.out)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
