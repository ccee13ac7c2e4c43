"""A client-side round-robin load balancer with health checks, and a bounded load driver.

In the cluster a Kubernetes Service spreads requests over ready pods (readiness probes decide
"ready"); locally :class:`RoundRobinBalancer` does the same job for ``replicated_services`` and
``sharded_services``: it skips replicas whose health check fails, and a request that cannot
connect is retried on the next replica, so losing one replica loses no request.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import requests

from chapters.ch04_model_serving.replicas import is_ready


class NoHealthyReplica(RuntimeError):
    pass


class RoundRobinBalancer:
    """Round-robin over ``replicas`` (name -> (predict URL, ready URL)), skipping unhealthy ones."""

    def __init__(self, replicas: dict[str, tuple[str, str]], check_interval: float = 0.25):
        self.replicas = dict(replicas)
        self.healthy = set(self.replicas)
        self.served: Counter = Counter()
        self.failovers = 0
        self._order = itertools.cycle(sorted(self.replicas))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = check_interval
        self._checker = threading.Thread(target=self._check_loop, daemon=True)

    def __enter__(self) -> RoundRobinBalancer:
        self._checker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._checker.join(timeout=5)

    def _check_loop(self) -> None:
        while not self._stop.wait(self._interval):
            for name, (_, ready) in self.replicas.items():
                ok = is_ready(ready, timeout=self._interval)
                with self._lock:
                    (self.healthy.add if ok else self.healthy.discard)(name)

    def _next(self, exclude: set[str]) -> str:
        with self._lock:
            for _ in range(len(self.replicas)):
                name = next(self._order)
                if name in self.healthy and name not in exclude:
                    return name
        raise NoHealthyReplica(f"no healthy replica left (tried {sorted(exclude)})")

    def post(
        self, body: dict, session: requests.Session, timeout: float = 30
    ) -> tuple[str, requests.Response]:
        """Send to the next healthy replica; on a connection failure mark it down and retry."""
        tried: set[str] = set()
        while True:
            name = self._next(tried)
            try:
                response = session.post(self.replicas[name][0], json=body, timeout=timeout)
            except requests.ConnectionError:
                with self._lock:
                    self.healthy.discard(name)
                    self.failovers += 1
                tried.add(name)
                continue
            with self._lock:
                self.served[name] += 1
            return name, response


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    served_by: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def drive(
    send: Callable[[requests.Session, int], tuple[str, requests.Response]],
    num_requests: int,
    concurrency: int,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Send ``num_requests`` with ``concurrency`` threads; ``send(session, i)`` does one request.

    A bounded, closed-loop load: never more than ``concurrency`` requests in flight.
    """
    result = LoadResult()
    lock = threading.Lock()
    local = threading.local()
    done = itertools.count(1)

    def one(i: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        start = time.perf_counter()
        try:
            name, response = send(session, i)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if response.status_code == 200:
                    result.latencies_ms.append(elapsed)
                    result.served_by[name] += 1
                else:
                    result.errors.append(f"HTTP {response.status_code}")
        except Exception as err:  # noqa: BLE001 - every failure is counted, none is fatal
            with lock:
                result.errors.append(f"{type(err).__name__}: {err}"[:200])
        if on_progress is not None:
            on_progress(next(done))

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(num_requests)))
    result.seconds = time.perf_counter() - start
    return result


def via(balancer: RoundRobinBalancer, bodies: Sequence[dict]):
    """A ``send`` for :func:`drive`: request i carries ``bodies[i % len(bodies)]``."""
    return lambda session, i: balancer.post(bodies[i % len(bodies)], session)
