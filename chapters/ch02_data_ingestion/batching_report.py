"""The tables, claim and plot of ``batching.py`` (chapter 2, section 2.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmlp.example import cli, report

if TYPE_CHECKING:  # annotations only: batching imports this module
    from chapters.ch02_data_ingestion.batching import Result


def summarise(r: Result, in_flight: int) -> None:
    """The tables, the claim and the book section; ``in_flight``: batches a stream holds."""
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
    report.claim(claim, r.holds, in_flight_mib=last.in_flight_mib,
                 materialised_growth_mib=r.materialised_growth_mib,
                 streamed_growth_mib=r.streamed_growth_mib)  # fmt: skip
    report.section("2.3")


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
