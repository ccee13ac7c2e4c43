"""Chapter 4, section 4.3 "Sharded services pattern".

Claim: a request too large for one replica (here: more images than a server takes at once, so
it answers 413) can be served by splitting it with a sharding function into pieces, sending the
pieces to K shard servers in parallel, and merging the answers in the original order. The merged
result equals what one big server computes for the whole request.

The sharding function cuts the N images into contiguous pieces of at most ``--max-instances``
images and deals the pieces round-robin to the shards; each answer is put back at its piece's
offset, so the order is kept for any N (divisible by K or not).

Run: python -m chapters.ch04_model_serving.sharded_services [--num-shards 3]
     [--request-size 1000] [--max-instances 128]
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests

from chapters.ch04_model_serving.client import ServingError, predict
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.ch04_model_serving.server import add_model_dir_flag, ensure_model
from chapters.common import cli
from chapters.common.data import load_fashion_mnist


def shard_plan(num_items: int, num_shards: int, max_per_request: int) -> list[tuple[int, int, int]]:
    """Cut ``range(num_items)`` into ``(shard, start, stop)`` pieces.

    At least one piece per shard (when there are enough items), none larger than
    ``max_per_request``, contiguous, in order, and covering every item exactly once.
    """
    if num_items < 0 or num_shards < 1 or max_per_request < 1:
        raise cli.UsageError("need num_items >= 0, num_shards >= 1 and max_per_request >= 1")
    pieces = max(min(num_shards, num_items), -(-num_items // max_per_request))
    bounds = np.linspace(0, num_items, pieces + 1).round().astype(int) if num_items else [0]
    return [
        (i % num_shards, int(a), int(b))
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
        if b > a
    ]


def sharded_predict(urls: list[str], images: np.ndarray, max_per_request: int) -> list[dict]:
    """Split ``images`` by :func:`shard_plan`, call the shards in parallel, merge in order."""
    plan = shard_plan(len(images), len(urls), max_per_request)
    merged: list[dict | None] = [None] * len(images)
    with ThreadPoolExecutor(len(urls)) as pool, requests.Session() as session:
        futures = {
            pool.submit(predict, urls[shard], images[a:b], session=session): (a, b)
            for shard, a, b in plan
        }
        for future, (a, b) in futures.items():
            merged[a:b] = future.result()
    assert all(m is not None for m in merged)
    return merged  # type: ignore[return-value]


def main(
    num_shards: int = 3,
    request_size: int = 1000,
    max_instances: int = 128,
    model_dir: str | None = None,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = None,
    out: str = "out/ch04",
    seed: int = 42,
    verbose: bool = False,
) -> dict:
    log = cli.Progress("ch04.sharded")
    path = ensure_model(model_dir, out, dataset, data_dir, seed=seed, log=log)
    test = load_fashion_mnist("test", dataset, data_dir, request_size, seed)
    images = test.images[:request_size]
    log(f"a request of {len(images)} images; each shard takes at most {max_instances}")
    with (
        ServerReplicas(
            num_shards, str(path), prefix="shard", max_instances=max_instances, echo=verbose
        ) as shards,
        ServerReplicas(
            1, str(path), prefix="big", max_instances=max(len(images), 1), echo=verbose
        ) as big,
    ):
        shards.wait_ready()
        big.wait_ready()
        urls = [shards.predict_url(n) for n in shards.names]
        try:
            predict(urls[0], images)
            refused = None
        except ServingError as err:
            refused = err.status
            log(f"one shard alone refuses the whole request: {err}")
        start = time.perf_counter()
        sharded = sharded_predict(urls, images, max_instances)
        sharded_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        whole = predict(big.predict_url("big-0"), images)
        whole_ms = (time.perf_counter() - start) * 1000
    plan = shard_plan(len(images), num_shards, max_instances)
    same_classes = [p["class_id"] for p in sharded] == [p["class_id"] for p in whole]
    max_diff = float(
        np.max(
            np.abs(
                np.array([p["probabilities"] for p in sharded])
                - np.array([p["probabilities"] for p in whole])
            )
        )
    )
    accuracy = float(np.mean(np.array([p["class_id"] for p in sharded]) == test.labels))
    per_shard = {
        f"shard-{s}": sum(b - a for sh, a, b in plan if sh == s) for s in range(num_shards)
    }
    cli.print_table(
        [("sharded", num_shards, len(plan), sharded_ms), ("one big server", 1, 1, whole_ms)],
        ["how", "servers", "requests", "latency ms"],
        title=f"Sharded services: {len(images)} images",
    )
    print(f"pieces per shard (images): {per_shard}")
    print(
        f"Claim: the merged sharded answer equals the unsharded one: "
        f"{'yes' if same_classes and max_diff < 1e-4 else 'NO'} (same classes: {same_classes}, "
        f"largest probability difference {max_diff:.1e}); accuracy {accuracy:.1%}."
    )
    return {
        "sharded": sharded,
        "whole": whole,
        "refused_status": refused,
        "plan": plan,
        "same_classes": same_classes,
        "max_probability_diff": max_diff,
        "sharded_ms": sharded_ms,
        "whole_ms": whole_ms,
    }


def build_parser():
    p = cli.parser(__doc__, out="out/ch04")
    p.add_argument("--num-shards", type=cli.positive_int, default=3, help="(default: 3)")
    p.add_argument(
        "--request-size",
        type=cli.positive_int,
        default=1000,
        help="images in the big request (default: 1000)",
    )
    p.add_argument(
        "--max-instances",
        type=cli.positive_int,
        default=128,
        help="most images one shard takes per request (default: 128)",
    )
    add_model_dir_flag(p)
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
