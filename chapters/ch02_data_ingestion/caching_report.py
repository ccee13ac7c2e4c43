"""The table, claim and plot of ``caching.py`` (chapter 2, section 2.5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dmlp.example import cli, report

if TYPE_CHECKING:  # annotations only: caching imports this module
    from chapters.ch02_data_ingestion.caching import Epoch, Result


def summarise(r: Result) -> None:
    """The table, the claim (when a cached and an uncached pipeline ran) and the book section."""
    rows = []
    for mode, epochs in r.modes.items():
        later = r.later(mode)
        mean = sum(e.seconds for e in later) / len(later)
        rows.append((mode, epochs[0].seconds, mean, epochs[0].preprocessed,
                     sum(e.preprocessed for e in later), epochs[0].digest))  # fmt: skip
    cli.print_table(
        rows,
        ["pipeline", "epoch 1 s", "later epochs s", "preprocessed in epoch 1",
         "preprocessed later", "values (digest)"],
        title=f"Caching: {r.num_examples:,} {r.source} examples x {len(epochs)} epochs",
    )  # fmt: skip
    if r.disk_cache_reused:
        print(f"The disk cache {r.cache_file} came from an earlier run: reused, not rebuilt.")
    if r.holds is not None:
        fast = r.cached[0]
        speedup = r.speedup(fast)
        claim = (
            f"with cache() after preprocessing ({fast}), the later epochs preprocessed "
            f"{sum(e.preprocessed for e in r.later(fast))} examples (without a cache: "
            f"{sum(e.preprocessed for e in r.later('none'))}) and ran {speedup:.1f}x "
            f"faster; {r.distinct_digests} distinct digest(s) across all pipelines and epochs"
        )
        report.claim(claim, r.holds, speedup=speedup, distinct_digests=r.distinct_digests)
    report.section("2.5")


def draw_epochs(modes: dict[str, list[Epoch]], path: Path) -> Path:
    """Grouped bars: seconds per epoch for each pipeline."""
    num_epochs = len(next(iter(modes.values())))

    def draw(ax) -> None:
        width = 0.8 / len(modes)
        for i, (mode, epochs) in enumerate(modes.items()):
            xs = [e + i * width for e in range(num_epochs)]
            ax.bar(xs, [e.seconds for e in epochs], width, label=mode)
        ax.set_xticks([e + 0.4 - width / 2 for e in range(num_epochs)])
        ax.set_xticklabels([f"epoch {e + 1}" for e in range(num_epochs)])
        ax.set_ylabel("seconds")
        ax.legend()

    return cli.save_plot(draw, path, "Caching: the cache pays off from the second epoch")
