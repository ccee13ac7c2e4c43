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

import contextlib
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

from chapters.ch04_model_serving.client import ServingError, predict
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.ch04_model_serving.served import ModelSettings
from chapters.common.data import load_fashion_mnist
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.report import finish
from dmlp.example.settings import option


def shard_plan(num_items: int, num_shards: int, max_per_request: int) -> list[tuple[int, int, int]]:
    """Cut ``range(num_items)`` into ``(shard, start, stop)`` pieces.

    At least one piece per shard (when there are enough items), none larger than
    ``max_per_request``, contiguous, in order, and covering every item exactly once.
    """
    if num_items < 0 or num_shards < 1 or max_per_request < 1:
        raise UsageError("need num_items >= 0, num_shards >= 1 and max_per_request >= 1")
    pieces = max(min(num_shards, num_items), -(-num_items // max_per_request))
    bounds = np.linspace(0, num_items, pieces + 1).round().astype(int) if num_items else [0]
    return [
        (i % num_shards, int(a), int(b))
        for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))
        if b > a
    ]


def sharded_predict(
    urls: list[str],
    images: np.ndarray,
    max_per_request: int,
    *,
    session: requests.Session | None = None,
) -> list[dict]:
    """Split ``images`` by :func:`shard_plan`, call the shards in parallel, merge in order.

    ``session``, when given, is the caller's (kept open: its connections are reused by the next
    call); without it this call opens and closes its own.
    """
    plan = shard_plan(len(images), len(urls), max_per_request)
    merged: list[dict | None] = [None] * len(images)
    scope = requests.Session() if session is None else contextlib.nullcontext(session)
    with ThreadPoolExecutor(len(urls)) as pool, scope as session:
        futures = {
            pool.submit(predict, urls[shard], images[a:b], session=session): (a, b)
            for shard, a, b in plan
        }
        for future, (a, b) in futures.items():
            merged[a:b] = future.result()
    assert all(m is not None for m in merged)
    return merged  # type: ignore[return-value]


@dataclasses.dataclass(frozen=True)
class Settings(ModelSettings):
    num_shards: int = option(3, "shard servers the request is split over", minimum=1)
    request_size: int = option(1000, "images in the one big request", minimum=1)
    max_instances: int = option(128, "most images one shard takes per request", minimum=1)


@dataclasses.dataclass
class Result:
    model: Path  # the SavedModel every server served
    plan: list[tuple[int, int, int]]  # (shard, start, stop) pieces
    refused_status: int | None  # what one shard alone answered to the whole request (413)
    sharded: list[dict]  # the merged answers
    whole: list[dict]  # one big server's answers to the same request
    same_classes: bool
    max_probability_diff: float
    accuracy: float
    sharded_ms: float
    whole_ms: float

    @property
    def claim_holds(self) -> bool:
        """The merged answer is the unsharded one (same classes, probabilities within 1e-4)."""
        return self.same_classes and self.max_probability_diff < 1e-4


def main(settings: Settings) -> Result:
    log = cli.Progress("ch04.sharded")
    path = settings.model(log)
    size, most = settings.request_size, settings.max_instances
    test = load_fashion_mnist("test", settings.dataset, settings.data_dir, size, settings.seed)
    images = test.images[:size]
    log(f"a request of {len(images)} images; each shard takes at most {most}")
    with (
        ServerReplicas(
            settings.num_shards, str(path), prefix="shard", max_instances=most,
            echo=settings.verbose,
        ) as shards,
        ServerReplicas(
            1, str(path), prefix="big", max_instances=len(images), echo=settings.verbose
        ) as big,
    ):  # fmt: skip
        log(f"starting {settings.num_shards} shard servers and one big server")
        shards.wait_ready(log=log)
        big.wait_ready(log=log)
        urls = [shards.predict_url(name) for name in shards.names]
        try:
            predict(urls[0], images)
            refused = None
        except ServingError as err:
            refused = err.status
            log(f"one shard alone refuses the whole request: {err}")
        start = time.perf_counter()
        sharded = sharded_predict(urls, images, most)
        sharded_ms = (time.perf_counter() - start) * 1000
        log(f"split over {settings.num_shards} shards and merged in {sharded_ms:.0f} ms")
        start = time.perf_counter()
        whole = predict(big.predict_url("big-0"), images)
        whole_ms = (time.perf_counter() - start) * 1000
    classes = np.array([p["class_id"] for p in sharded])
    result = Result(
        model=path,
        plan=shard_plan(len(images), settings.num_shards, most),
        refused_status=refused,
        sharded=sharded,
        whole=whole,
        same_classes=classes.tolist() == [p["class_id"] for p in whole],
        max_probability_diff=float(
            np.max(
                np.abs(
                    np.array([p["probabilities"] for p in sharded])
                    - np.array([p["probabilities"] for p in whole])
                )
            )
        ),
        accuracy=float(np.mean(classes == test.labels)),
        sharded_ms=sharded_ms,
        whole_ms=whole_ms,
    )
    report(settings, result)
    return result


def report(settings: Settings, result: Result) -> None:
    per_shard = {
        f"shard-{s}": sum(b - a for shard, a, b in result.plan if shard == s)
        for s in range(settings.num_shards)
    }
    cli.print_table(
        [
            ("sharded", settings.num_shards, len(result.plan), result.sharded_ms),
            ("one big server", 1, 1, result.whole_ms),
        ],
        ["how", "servers", "requests", "latency ms"],
        title=f"Sharded services: {settings.request_size} images",
    )
    print(f"images per shard: {per_shard}; one shard alone answered HTTP {result.refused_status}")
    finish(
        "4.3",
        f"the merged sharded answer equals the unsharded one: "
        f"{'yes' if result.claim_holds else 'NO'} (same classes: {result.same_classes}, largest "
        f"probability difference {result.max_probability_diff:.1e}); accuracy "
        f"{result.accuracy:.1%}.",
        result.claim_holds,
        max_probability_diff=result.max_probability_diff,
        accuracy=result.accuracy,
    )
    print(f"Model served: {result.model} (nothing else written)")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
