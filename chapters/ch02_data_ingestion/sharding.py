"""Chapter 2, section 2.3 "Sharding pattern".

Claim: splitting a dataset across N workers gives each worker a disjoint shard, and the shards
together cover the dataset exactly once, so N workers can each read a part of it in parallel.

Two ways are shown side by side:

* element sharding, ``Dataset.shard(N, i)``: every worker reads the whole input and keeps every
  N-th example (simple, but each worker still reads all records);
* file sharding: the dataset is written as K TFRecord files and worker i reads only the files
  ``i, i+N, i+2N, ...``, interleaving them (what distributed training prefers: each worker reads
  1/N of the bytes).

Run: python -m chapters.ch02_data_ingestion.sharding [--num-workers 3] [--num-files 6]
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from chapters.common import cli
from chapters.common.data import load_fashion_mnist, read_tfrecords, write_tfrecords
from chapters.common.tf_setup import tf as import_tf


def element_shard(split, num_workers: int, worker_index: int):
    """Worker ``worker_index``'s shard of the in-memory split: ``(id, image, label)`` elements."""
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


def main(
    num_workers: int = 3,
    worker_index: int | None = None,
    num_files: int = 6,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = 1200,
    show: int = 6,
    out: str = "out",
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    """Shard the dataset both ways; returns each worker's example ids and the checks."""
    if worker_index is not None and not 0 <= worker_index < num_workers:
        raise cli.UsageError(f"--worker-index must be in 0..{num_workers - 1}, got {worker_index}")
    if num_files < num_workers:
        raise cli.UsageError(
            f"--num-files ({num_files}) must be at least --num-workers "
            f"({num_workers}), or some worker would get no file"
        )
    log = cli.Progress("ch02.sharding")
    import_tf(verbose, seed)
    split = load_fashion_mnist("train", dataset, data_dir, num_examples, seed)
    n = len(split)
    if n < num_workers:
        raise cli.UsageError(f"{n} examples cannot be sharded across {num_workers} workers")
    log(f"loaded {n:,} {split.source} examples; sharding them across {num_workers} workers")
    workers = range(num_workers) if worker_index is None else [worker_index]
    results: dict = {"num_examples": n, "num_workers": num_workers, "num_files": num_files}
    with tempfile.TemporaryDirectory(prefix="sharding-", dir=cli.writable_dir(out)) as tmp:
        paths = write_tfrecords(split, tmp, num_files)
        by_method = {
            "element": {w: ids_of(element_shard(split, num_workers, w)) for w in workers},
            "file": {w: ids_of(file_shard(paths, num_workers, w)) for w in workers},
        }
        files_of = {w: [p.name for p in paths[w::num_workers]] for w in workers}
    rows = []
    for method, shards in by_method.items():
        for w, ids in shards.items():
            head = ", ".join(map(str, sorted(ids)[:show])) + (", ..." if len(ids) > show else "")
            reads = (
                "all records" if method == "element" else f"{len(files_of[w])} of {num_files} files"
            )
            rows.append((method, w, len(ids), reads, head))
        disjoint, covers = check_partition(shards, n)
        results[method] = {
            "shards": shards,
            "disjoint": disjoint,
            "covers": covers if worker_index is None else None,
        }
        log(
            f"{method} sharding: disjoint={disjoint}"
            + (f", covers all {n} exactly once={covers}" if worker_index is None else "")
        )
    results["files_of"] = files_of
    cli.print_table(
        rows,
        ["method", "worker", "examples", "reads", "first example ids"],
        title=f"Sharding {n:,} examples across {num_workers} workers",
    )
    if worker_index is None:
        ok = all(results[m]["disjoint"] and results[m]["covers"] for m in by_method)
        print(
            f"Claim: shards are disjoint and together cover the {n:,} examples exactly once: "
            f"{'yes' if ok else 'NO'} (both methods)."
        )
    return results


def build_parser():
    p = cli.parser(__doc__)
    p.set_defaults(num_examples=1200)
    p.add_argument(
        "--num-workers",
        type=cli.positive_int,
        default=3,
        help="how many workers share the data (default: 3)",
    )
    p.add_argument(
        "--worker-index",
        type=cli.non_negative_int,
        default=None,
        help="show only this worker's shard (0-based; default: every worker)",
    )
    p.add_argument(
        "--num-files",
        type=cli.positive_int,
        default=6,
        help="TFRecord files for file sharding (default: 6)",
    )
    p.add_argument(
        "--show",
        type=cli.non_negative_int,
        default=6,
        help="example ids to print per shard (default: 6)",
    )
    return p


def check_flags(args) -> None:
    if args.worker_index is not None and args.worker_index >= args.num_workers:
        raise cli.UsageError(
            f"--worker-index must be below --num-workers "
            f"({args.num_workers}), got {args.worker_index}"
        )


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser(), check=check_flags))
