"""Chapter 2, section 2.4 "Sharding pattern".

Claim: splitting a dataset across N workers gives each worker a disjoint shard, and the shards
together cover the dataset exactly once, so N workers can each read a part of it in parallel.

Two ways are shown side by side:

* element sharding, ``Dataset.shard(N, i)``: every worker reads the whole input and keeps every
  N-th example (simple, but each worker still reads all records);
* file sharding: the dataset is written as K TFRecord files and worker i reads only the files
  ``i, i+N, i+2N, ...``, interleaving them (what distributed training prefers: each worker reads
  1/N of the bytes; ``tf.distribute`` calls it ``AutoShardPolicy.FILE``, see chapter 3).

Run: python -m chapters.ch02_data_ingestion.sharding [--num-workers 3] [--num-files 6]
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from chapters.common.data import load_fashion_mnist, read_tfrecords, write_tfrecords
from chapters.common.flags import DataSettings
from dmlp.example import cli, report
from dmlp.example.errors import UsageError
from dmlp.example.settings import option
from dmlp.example.tf_setup import tf as import_tf


def element_shard(split, num_workers: int, worker_index: int):
    """Worker ``worker_index``'s shard of the in-memory split: every N-th ``(id, image, label)``."""
    return split.to_dataset(with_ids=True).shard(num_workers, worker_index)


def file_shard(paths: Sequence[Path], num_workers: int, worker_index: int):
    """Worker ``worker_index``'s shard by files: it reads ``paths[worker_index::num_workers]``."""
    return read_tfrecords(list(paths)[worker_index::num_workers])


def ids_of(dataset) -> list[int]:
    return [int(i) for i, _image, _label in dataset.as_numpy_iterator()]


def check_partition(shards: Mapping[int, Sequence[int]], num_examples: int) -> tuple[bool, bool]:
    """Return ``(disjoint, covers)`` for shards of ids 0..num_examples-1."""
    seen: set[int] = set()
    disjoint = True
    for ids in shards.values():
        if seen & set(ids) or len(set(ids)) != len(ids):
            disjoint = False
        seen |= set(ids)
    return disjoint, seen == set(range(num_examples))


@dataclasses.dataclass(frozen=True)
class Settings(DataSettings):
    num_examples: int | None = option(1200, "use only the first N training examples", minimum=1)
    num_workers: int = option(3, "how many workers share the data", minimum=1)
    worker_index: int | None = option(
        None, "show only this worker's shard (0-based; default: every worker)", minimum=0
    )
    num_files: int = option(6, "TFRecord files for file sharding", minimum=1)
    show: int = option(6, "example ids to print per shard", minimum=0)

    def check(self) -> None:
        if self.worker_index is not None and self.worker_index >= self.num_workers:
            raise UsageError(
                f"--worker-index must be below --num-workers ({self.num_workers}), "
                f"got {self.worker_index}"
            )
        if self.num_files < self.num_workers:
            raise UsageError(
                f"--num-files ({self.num_files}) must be at least --num-workers "
                f"({self.num_workers}), or some worker would get no file"
            )


@dataclasses.dataclass
class Sharded:
    shards: dict[int, list[int]]  # worker -> the example ids it read
    disjoint: bool
    covers: bool | None  # None when only one worker's shard was read


@dataclasses.dataclass
class Result:
    num_examples: int
    source: str
    num_workers: int
    num_files: int
    element: Sharded
    file: Sharded
    files_of: dict[int, list[str]]  # worker -> the files it read (file sharding)
    plot: str = ""

    @property
    def holds(self) -> bool | None:
        if self.element.covers is None:
            return None
        return all(m.disjoint and m.covers for m in (self.element, self.file))


def main(s: Settings) -> Result:
    """Shard the dataset both ways; returns each worker's example ids and the checks."""
    log = cli.Progress("ch02.sharding")
    import_tf(s.verbose, s.seed)
    split = load_fashion_mnist("train", s.dataset, s.data_dir, s.num_examples, s.seed)
    n = len(split)
    if n < s.num_files:
        raise UsageError(f"{n} examples cannot fill --num-files {s.num_files}")
    log(f"loaded {n:,} {split.source} examples; sharding them across {s.num_workers} workers")
    workers = range(s.num_workers) if s.worker_index is None else [s.worker_index]
    with tempfile.TemporaryDirectory(prefix="sharding-", dir=cli.writable_dir(s.out)) as tmp:
        paths = write_tfrecords(split, tmp, s.num_files)
        by_method = {
            "element": {w: ids_of(element_shard(split, s.num_workers, w)) for w in workers},
            "file": {w: ids_of(file_shard(paths, s.num_workers, w)) for w in workers},
        }
        files_of = {w: [p.name for p in paths[w :: s.num_workers]] for w in workers}
    checked = {}
    for method, shards in by_method.items():
        disjoint, covers = check_partition(shards, n)
        checked[method] = Sharded(shards, disjoint, covers if s.worker_index is None else None)
        log(f"{method} sharding: {len(shards)} shard(s) read, disjoint={disjoint}")
    result = Result(n, split.source, s.num_workers, s.num_files, **checked, files_of=files_of)
    result.plot = str(draw_shards(result, cli.writable_dir(s.out) / "ch02_sharding.png"))
    summarise(result, s.show)
    return result


def summarise(r: Result, show: int) -> None:
    """The table, then the closing lines: the claim when every worker's shard was read."""
    rows = []
    for method in ("element", "file"):
        for w, ids in getattr(r, method).shards.items():
            head = ", ".join(map(str, sorted(ids)[:show])) + (", ..." if len(ids) > show else "")
            files = f"{len(r.files_of[w])} of {r.num_files} files"
            rows.append(
                (method, w, len(ids), "all records" if method == "element" else files, head)
            )
    cli.print_table(
        rows,
        ["method", "worker", "examples", "reads", "first example ids"],
        title=f"Sharding {r.num_examples:,} {r.source} examples across {r.num_workers} workers",
    )
    claim = (
        f"the {r.num_workers} shards are disjoint and together cover the {r.num_examples:,} "
        "examples exactly once, with both methods"
    )
    report.finish(
        "2.4",
        claim if r.holds is not None else None,
        bool(r.holds),
        pictures=[r.plot],
        num_workers=r.num_workers,
        num_examples=r.num_examples,
    )


def draw_shards(r: Result, path):
    """One line per worker and method: the example ids that worker reads."""
    labels = []

    def draw(ax) -> None:
        for method in ("element", "file"):
            for w, ids in getattr(r, method).shards.items():
                y = len(labels)
                ax.scatter(sorted(ids), [y] * len(ids), s=9, marker="|", color=f"C{w}")
                labels.append(f"{method}, worker {w}")
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel("example id")

    return cli.save_plot(draw, path, "Sharding: the examples each worker reads")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
