"""What ``caching.py`` measured (chapter 2, section 2.5): its result records, table, claim and
plot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dmlp.example import cli, report


@dataclasses.dataclass
class Epoch:
    seconds: float
    preprocessed: int  # examples the preprocessing step handled in this epoch
    digest: str  # SHA-256 (first 16 hex digits) of every value the epoch produced


@dataclasses.dataclass
class Result:
    num_examples: int
    source: str
    cache_file: str
    disk_cache_reused: bool
    modes: dict[str, list[Epoch]]
    plot: str = ""
    saved: str = ""

    @property
    def cached(self) -> list[str]:
        """The pipelines that cache the preprocessed data, of those that ran."""
        return [m for m in ("memory", "disk") if m in self.modes]

    @property
    def holds(self) -> bool | None:
        """Cached pipelines preprocess nothing after epoch 1 and their later epochs are faster
        than the uncached pipeline's, and every value is the same."""
        if "none" not in self.modes or not self.cached:
            return None
        return (
            all(e.preprocessed == 0 for m in self.cached for e in self.later(m))
            and all(e.preprocessed == self.num_examples for e in self.modes["none"])
            and all(self.speedup(m) > 1 for m in self.cached)
            and self.distinct_digests == 1
        )

    @property
    def distinct_digests(self) -> int:
        return len({e.digest for epochs in self.modes.values() for e in epochs})

    def later(self, mode: str) -> list[Epoch]:
        return self.modes[mode][1:]

    def speedup(self, fast: str, slow: str = "none") -> float:
        """How many times faster the later epochs of ``fast`` were than those of ``slow``."""
        seconds = {m: sum(e.seconds for e in self.later(m)) for m in (fast, slow)}
        return seconds[slow] / max(seconds[fast], 1e-9)


def summarise(r: Result, wrote: str) -> None:
    """The table, then the closing lines: the claim when a cached and an uncached pipeline ran."""
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
    if r.holds is None:
        report.finish("2.5", pictures=[r.plot], wrote=wrote)
        return
    fast = r.cached[0]
    speedup = r.speedup(fast)
    claim = (
        f"with cache() after preprocessing ({fast}), the later epochs preprocessed "
        f"{sum(e.preprocessed for e in r.later(fast))} examples (without a cache: "
        f"{sum(e.preprocessed for e in r.later('none'))}) and ran {speedup:.1f}x "
        f"faster; {r.distinct_digests} distinct digest(s) across all pipelines and epochs"
    )
    report.finish("2.5", claim, r.holds, [r.plot], wrote, speedup=speedup,
                  distinct_digests=r.distinct_digests)  # fmt: skip


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
