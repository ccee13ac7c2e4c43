"""A bounded load driver for chapter 4's examples and bench: N requests, C in flight at once.

``drive(send, num_requests, concurrency)`` calls ``send(session, i)`` from ``concurrency``
threads (a closed loop: never more in flight), and records each request's start, latency, and
which replica answered, or the error. Requests go to 127.0.0.1 only.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import requests


@dataclass
class LoadResult:
    """What one load run measured."""

    timeline: list[tuple[float, float]] = field(default_factory=list)  # (start s, latency ms)
    errors: list[str] = field(default_factory=list)
    served_by: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.timeline)

    @property
    def latencies_ms(self) -> list[float]:
        return [latency for _, latency in self.timeline]

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.timeline else float("nan")

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def drive(
    send: Callable[[requests.Session, int], tuple[str, requests.Response]],
    num_requests: int,
    concurrency: int,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Send ``num_requests`` with ``concurrency`` threads; ``send(session, i)`` does one request
    and returns ``(who answered, response)``. Any failure is counted, none is fatal."""
    result = LoadResult()
    lock = threading.Lock()
    local = threading.local()
    done = itertools.count(1)
    begin = time.perf_counter()

    def one(i: int) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        start = time.perf_counter()
        try:
            name, response = send(session, i)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if response.status_code == 200:
                    result.timeline.append((start - begin, elapsed))
                    result.served_by[name] += 1
                else:
                    result.errors.append(f"HTTP {response.status_code}")
        except Exception as err:  # noqa: BLE001 - every failure is counted, none is fatal
            with lock:
                result.errors.append(f"{type(err).__name__}: {err}"[:200])
        if on_progress is not None:
            on_progress(next(done))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(num_requests)))
    result.seconds = time.perf_counter() - begin
    result.timeline.sort()
    return result
