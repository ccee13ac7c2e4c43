"""What ``batching.py`` measured (chapter 2, section 2.3): its result records, tables, claim and
plot."""

from __future__ import annotations

import dataclasses

from dmlp.example import cli, report


@dataclasses.dataclass
class Streamed:
    batch_size: int
    num_batches: int
    last_batch: int
    examples: int
    batch_mib: float  # bytes of the largest batch, measured on the arrays
    in_flight_mib: float  # IN_FLIGHT x batch_mib: what the stream holds at most
    rss_mib: float  # median growth of the process's resident memory during one pass
    examples_per_s: float


@dataclasses.dataclass
class BySize:
    num_examples: int
    streamed_rss_mib: float
    materialised_rss_mib: float
    array_mib: float


@dataclasses.dataclass
class Result:
    num_examples: int
    source: str
    streamed: list[Streamed]
    by_size: list[BySize]  # half the files, then all of them
    loss_before: float
    loss_after: float
    plot: str = ""

    @property
    def streamed_growth_mib(self) -> float:
        return self.by_size[-1].streamed_rss_mib - self.by_size[0].streamed_rss_mib

    @property
    def materialised_growth_mib(self) -> float:
        return self.by_size[-1].materialised_rss_mib - self.by_size[0].materialised_rss_mib

    @property
    def holds(self) -> bool:
        # What a stream holds in flight is a figure shown beside the claim (batch bytes x depth),
        # not part of it: it grows with the batch size by construction.
        return (
            abs(self.streamed_growth_mib) < 0.25 * self.materialised_growth_mib
            and self.loss_after < self.loss_before
        )


def summarise(r: Result, in_flight: int) -> None:
    """The tables, then the closing lines; ``in_flight``: batches a stream holds."""
    cli.print_table(
        [(x.batch_size, x.num_batches, x.last_batch, x.batch_mib, x.in_flight_mib, x.rss_mib,
          x.examples_per_s) for x in r.streamed],
        ["batch size", "batches", "last batch", "batch MiB", "in flight MiB", "RSS MiB",
         "examples/s"],
        title=f"Streaming {r.num_examples:,} {r.source} examples ({in_flight} batches in flight)",
    )  # fmt: skip
    cli.print_table(
        [(x.num_examples, x.streamed_rss_mib, x.materialised_rss_mib, x.array_mib)
         for x in r.by_size],
        ["examples", "streamed RSS MiB", "materialised RSS MiB", "array MiB"],
        title="Memory against dataset size (RSS: growth of the process's resident memory)",
    )  # fmt: skip
    small, big = r.by_size[0].num_examples, r.by_size[-1].num_examples
    first, last = r.streamed[0], r.streamed[-1]
    claim = (
        f"from {small:,} to {big:,} examples the materialised peak grew by "
        f"{r.materialised_growth_mib:.1f} MiB and the streamed one by {r.streamed_growth_mib:+.1f}"
        f" MiB; a stream holds {first.in_flight_mib:.2f} MiB at batch {first.batch_size} and "
        f"{last.in_flight_mib:.2f} MiB at batch {last.batch_size}; training on batches took the "
        f"loss from {r.loss_before:.3f} to {r.loss_after:.3f}"
    )
    report.finish("2.3", claim, r.holds, pictures=[r.plot], in_flight_mib=last.in_flight_mib,
                  materialised_growth_mib=r.materialised_growth_mib,
                  streamed_growth_mib=r.streamed_growth_mib)  # fmt: skip


def draw_memory(r: Result, path):
    """Memory against batch size: what the stream holds (exact) and the process's RSS (noisy)."""
    sizes = [x.batch_size for x in r.streamed]

    def draw(ax) -> None:
        ax.plot(sizes, [x.in_flight_mib for x in r.streamed], "o-", label="held by the stream")
        rss = [x.rss_mib for x in r.streamed]
        ax.plot(sizes, rss, "s--", label="process RSS growth (after a warm-up)")
        ax.axhline(r.by_size[-1].array_mib, color="grey", ls=":", label="materialised array")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(b) for b in sizes])
        ax.set_xlabel("batch size")
        ax.set_ylabel("MiB")
        ax.legend()

    return cli.save_plot(draw, path, "Batching: memory grows with the batch, not the dataset")
