"""Chapter 5 benchmarks for ``make bench``: memoized vs cold workflow, async vs sync pipeline."""

import tempfile

from dmlp.example.bench import case, progress_only


@case("ch05.memoization")
def memoization(quick: bool) -> dict:
    """The same workflow twice: cold (ingestion runs) and memoized (ingestion is a cache hit)."""
    from chapters.ch05_workflows.memoization import Settings, main

    cost, n = (100, 1000) if quick else (300, 2000)  # ingestion clearly dominates
    with tempfile.TemporaryDirectory() as out, progress_only():
        result = main(Settings(dataset="synthetic", num_examples=n, ingest_cost=cost, out=out))
    cold, warm = result.runs[0], result.runs[1]
    return {
        "config": {"num_examples": n, "ingest_cost": cost},
        "figures": {
            "cold workflow s": cold["seconds"],
            "memoized workflow s": warm["seconds"],
            "ingest step s (cold)": cold["ingest_seconds"],
        },
        "ratios": {"memoized / cold workflow time (goal < 0.10)": result.memoized_fraction},
    }


@case("ch05.sync_async")
def sync_async(quick: bool) -> dict:
    """The five-step pipeline as steps groups (sync) and as a DAG (async), end to end."""
    from chapters.ch05_workflows.sync_async import Settings, main

    unit = 0.3 if quick else 1.0
    with tempfile.TemporaryDirectory() as out, progress_only():
        result = main(Settings(unit_seconds=unit, out=out))
    return {
        "config": {"unit_seconds": unit},
        "figures": {
            "sync end-to-end s": result.sync_seconds,
            "async end-to-end s": result.async_seconds,
            "async critical path s": result.critical_path_seconds,
        },
        "ratios": {
            "sync / async end-to-end (ideal 6.5/4.5 = 1.44)": result.sync_seconds
            / result.async_seconds,
            "async / its critical path (ideal 1.0)": result.async_seconds
            / result.critical_path_seconds,
        },
    }
