"""Chapter 4 benchmarks for ``make bench``: server speed, replicas, sharding and autoscaling.

* ``ch04.server_speed``: at batch 32, the model server's images/s over in-process ``predict``
  of the same SavedModel signature, for each request format (V1 JSON pixel lists, V1 JSON
  floats, V1 base64 PNGs, V2 JSON ``data``, V2 binary tensors in and out). Rounds interleave
  the in-process and server runs, so the machine's drift hits every path alike.
* ``ch04.serving``: req/s and p50/p99 for 1 vs 2 replicas at batch sizes 1/8/32, and sharded vs
  unsharded latency of one large request.
* ``ch04.event_driven``: p99 under a spike of a fixed vs an autoscaled worker pool.

Servers bind 127.0.0.1 on free ports and are stopped at the end.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from chapters.ch04_model_serving import event_driven as ed
from chapters.ch04_model_serving.client import predict
from chapters.ch04_model_serving.inference import (
    read_v2_binary_answer,
    to_instances,
    v2_binary_body,
)
from chapters.ch04_model_serving.loadtest import drive
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.ch04_model_serving.replicated_services import RoundRobinBalancer
from chapters.ch04_model_serving.served import served_model
from chapters.ch04_model_serving.sharded_services import sharded_predict
from chapters.common.data import synthetic_split
from dmlp.example.bench import case

V1 = "/v1/models/fashion-mnist:predict"
V2 = "/v2/models/fashion-mnist/infer"
JSON = {"content-type": "application/json"}


def request_formats(images: np.ndarray) -> dict[str, tuple[str, bytes, dict]]:
    """The same images in every request format the server takes: name -> (path, body, headers)."""
    floats = np.asarray(images, np.float32) * 0.999  # fractional pixel values: JSON floats
    v2_data = {"name": "images", "shape": [len(images), 28, 28], "datatype": "UINT8"}
    return {
        "V1 JSON pixel lists": (V1, json.dumps({"instances": to_instances(images)}).encode(), JSON),
        "V1 JSON floats": (V1, json.dumps({"instances": to_instances(floats)}).encode(), JSON),
        "V1 base64 PNG": (V1, json.dumps({"instances": to_instances(images, True)}).encode(), JSON),
        "V2 JSON data": (
            V2,
            json.dumps({"inputs": [{**v2_data, "data": images.reshape(-1).tolist()}]}).encode(),
            JSON,
        ),
        "V2 binary tensors in and out": (V2, *v2_binary_body(images, binary_output=True)),
    }


def server_rate(
    base: str, path: str, body: bytes, headers: dict, batch: int, n: int, threads: int
) -> float:
    """Images/s the server answers: ``n`` requests (``batch`` images in each ``body``) from
    ``threads`` keep-alive connections."""
    host, port = base.removeprefix("http://").split(":")
    failures: list[str] = []

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            for _ in range(count):
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200:
                    failures.append(f"HTTP {response.status}: {answer[:200]!r}")
                    return
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(n // threads,)) for _ in range(threads)]
    start = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{path}: {failures[0]}")
    return (n // threads) * threads * batch / seconds


def in_process_rate(signature, images: np.ndarray, n: int) -> float:
    batch = np.asarray(images, np.float32).reshape(-1, 28, 28)
    start = time.perf_counter()
    for _ in range(n):
        signature(batch)
    return n * len(batch) / (time.perf_counter() - start)


def served_classes(base: str, path: str, body: bytes, headers: dict) -> list[int]:
    import requests

    answer = requests.post(base + path, data=body, headers=headers, timeout=60)
    if path == V1:
        return [p["class_id"] for p in answer.json()["predictions"]]
    return read_v2_binary_answer(answer.content, answer.headers)["class_id"].tolist()


@case("ch04.server_speed")
def server_speed(quick: bool) -> dict:
    from chapters.common.export import load_serving_function

    batch, n, rounds, threads = 32, (40 if quick else 200), (2 if quick else 5), 2
    with tempfile.TemporaryDirectory() as tmp:
        path = served_model(None, tmp, dataset="synthetic", train_steps=20, log=lambda _m: None)
        images = synthetic_split("test", batch).images.reshape(-1, 28, 28)
        signature = load_serving_function(path)
        formats = request_formats(images)
        expected = signature(images.astype(np.float32))["class_id"].tolist()
        rates: dict[str, list[float]] = {"in-process predict": [], **{k: [] for k in formats}}
        with ServerReplicas(1, str(path), max_instances=batch) as server:
            server.wait_ready()
            base = server.urls["replica-0"]
            for name, (url_path, body, headers) in formats.items():  # same answers, then speed
                if served_classes(base, url_path, body, headers) != expected:
                    raise RuntimeError(f"{name}: the server's classes differ from in-process")
                server_rate(base, url_path, body, headers, batch, 4, 1)  # warm up
            for _ in range(rounds):
                rates["in-process predict"].append(in_process_rate(signature, images, n))
                for name, (url_path, body, headers) in formats.items():
                    rates[name].append(
                        server_rate(base, url_path, body, headers, batch, n, threads)
                    )
    medians = {name: statistics.median(values) for name, values in rates.items()}
    own = medians.pop("in-process predict")
    return {
        "config": {"batch": batch, "requests_per_round": n, "rounds": rounds, "threads": threads},
        "figures": {
            "in-process predict: images/s": own,
            **{f"{name}: images/s": rate for name, rate in medians.items()},
        },
        "ratios": {
            f"server / in-process predict, batch {batch}, {name}": rate / own
            for name, rate in medians.items()
        },
    }


@case("ch04.serving")
def serving(quick: bool) -> dict:
    requests_per_run, concurrency = (60, 4) if quick else (300, 8)
    big, shard_max, repeats = (500, 64, 2) if quick else (2000, 128, 5)
    figures, ratios = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        quiet = lambda _message: None  # noqa: E731
        path = str(served_model(None, tmp, dataset="synthetic", train_steps=50, log=quiet))
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
                    with RoundRobinBalancer(dict(list(endpoints.items())[:count])) as balancer:
                        runs[count] = drive(balancer.sender(bodies), requests_per_run, concurrency)
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
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        result = ed.main(
            ed.Settings(
                duration=duration,
                spike_start=duration / 3,
                spike_end=2 * duration / 3,
                images_per_event=0,  # a fixed 40 ms of work per event, no model
                io_ms=40,
                tail=1.0,
                out=str(Path(tmp)),
            )
        )
    fixed, auto = result.spike_p99_ms["fixed"], result.spike_p99_ms["autoscaled"]
    return {
        "config": {"duration_s": duration, "base_rate": 10, "spike_rate": 80, "work_ms": 40},
        "figures": {
            "fixed pool p99 in spike ms": fixed,
            "autoscaled p99 in spike ms": auto,
            "autoscaled most workers": result.most_workers,
        },
        "ratios": {"p99 in spike, fixed / autoscaled": fixed / auto},
    }
