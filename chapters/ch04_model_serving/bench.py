"""Chapter 4 benchmarks for ``make bench``: replicas, batch sizes, sharding and autoscaling.

All in one run on this machine: req/s and p50/p99 latency for 1 vs 2 replicas at batch sizes
1/8/32, sharded vs unsharded latency for one large request, and p99 of a fixed vs an autoscaled
worker pool under a traffic spike. Servers bind 127.0.0.1 and are stopped at the end.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time

from chapters.ch04_model_serving import event_driven as ed
from chapters.ch04_model_serving.client import predict
from chapters.ch04_model_serving.inference import to_instances
from chapters.ch04_model_serving.loadbalancer import RoundRobinBalancer, drive, via
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.ch04_model_serving.server import ensure_model
from chapters.ch04_model_serving.sharded_services import sharded_predict
from chapters.common.bench import case
from chapters.common.data import synthetic_split


@case("ch04.serving")
def serving(quick: bool) -> dict:
    requests_per_run, concurrency = (60, 4) if quick else (300, 8)
    big, shard_max, repeats = (500, 64, 2) if quick else (2000, 128, 5)
    figures, ratios = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(ensure_model(None, tmp, "synthetic", train_steps=50, log=lambda _m: None))
        images = synthetic_split("test", big).images
        with (
            ServerReplicas(2, path, max_instances=shard_max) as replicas,
            ServerReplicas(1, path, prefix="big", max_instances=big) as whole,
        ):
            replicas.wait_ready()
            whole.wait_ready()
            endpoints = {
                n: (replicas.predict_url(n), replicas.ready_url(n)) for n in replicas.names
            }
            for batch in (1, 8, 32):
                bodies = [
                    {"instances": to_instances(images[i : i + batch])} for i in range(0, 64, 8)
                ]
                runs = {}
                for count in (1, 2):
                    chosen = dict(list(endpoints.items())[:count])
                    with RoundRobinBalancer(chosen) as balancer:
                        runs[count] = drive(via(balancer, bodies), requests_per_run, concurrency)
                    label = f"batch {batch}, {count} replica{'s' if count > 1 else ''}"
                    figures[f"{label}: req/s"] = runs[count].rps
                    figures[f"{label}: p50 ms"] = runs[count].percentile(50)
                    figures[f"{label}: p99 ms"] = runs[count].percentile(99)
                ratios[f"req/s, 2 replicas / 1 (batch {batch})"] = runs[2].rps / runs[1].rps
            urls = [replicas.predict_url(n) for n in replicas.names]
            sharded, unsharded = [], []
            for _ in range(repeats):  # interleaved, so drift hits both alike
                start = time.perf_counter()
                sharded_predict(urls, images, shard_max)
                sharded.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                predict(whole.predict_url("big-0"), images)
                unsharded.append((time.perf_counter() - start) * 1000)
    figures[f"{big} images sharded over 2: median ms"] = statistics.median(sharded)
    figures[f"{big} images on one server: median ms"] = statistics.median(unsharded)
    ratios["large request latency, unsharded / sharded"] = statistics.median(
        unsharded
    ) / statistics.median(sharded)
    return {
        "config": {
            "requests_per_run": requests_per_run,
            "concurrency": concurrency,
            "large_request": big,
            "shard_max_instances": shard_max,
        },
        "figures": figures,
        "ratios": ratios,
    }


@case("ch04.event_driven")
def event_driven(quick: bool) -> dict:
    duration = 4.0 if quick else 8.0

    def handler(_event) -> None:  # fixed 40 ms of work per event
        time.sleep(0.04)

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        result = ed.main(
            duration=duration,
            base_rate=10,
            spike_rate=80,
            spike_start=duration / 3,
            spike_end=2 * duration / 3,
            min_workers=1,
            max_workers=8,
            fixed_workers=2,
            tail=1.0,
            out=tmp,
            handler=handler,
        )
    fixed, auto = result["runs"]["fixed"], result["runs"]["autoscaled"]
    return {
        "config": {
            "duration_s": duration,
            "base_rate": 10,
            "spike_rate": 80,
            "work_ms": 40,
            "fixed_workers": 2,
            "max_workers": 8,
        },
        "figures": {
            "fixed pool p99 ms": fixed.p(99),
            "autoscaled p99 ms": auto.p(99),
            "autoscaled most workers": auto.max_workers_seen,
        },
        "ratios": {"p99, fixed / autoscaled": fixed.p(99) / auto.p(99)},
    }
