"""Chapter 4, section 4.4 "Event-driven processing pattern".

Claim: when requests arrive as events in bursts, a queue in front of a worker pool that scales
with the queue keeps latency low through a spike: under the spike, the autoscaled pool's p99
latency is below that of a fixed pool sized for the normal load. It grows at once under the
spike (never past ``--max-workers``), and shrinks one worker per cooldown afterwards.

Events arrive at a steady rate with a spike (a Poisson process, fixed seed). A worker runs the
real model on ``--images-per-event`` images plus ``--io-ms`` of simulated I/O (a downstream
call): work that scales with workers even on 2 cores (0 images: the I/O alone, no model). The
autoscaler follows the events in flight (queued + being processed), averaged over
``--window`` seconds, against ``--target`` events per worker. It writes OUT/ch04_event_driven.png.

In the cluster the pool is ``fashion-mnist-custom`` (``manifests/ch04/inferenceservice.yaml``):
KServe's Standard mode gives it a HorizontalPodAutoscaler that scales it between 1 and 3 pods on
CPU (``scaleMetric: cpu``, 60% of the request), the work that events in flight cause, rather than
on the in-flight count this example follows.

Run: python -m chapters.ch04_model_serving.event_driven [--duration 6] [--max-workers 8]
"""

from __future__ import annotations

import collections
import dataclasses
import math
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from chapters.ch04_model_serving.served import ModelSettings
from chapters.ch04_model_serving.timeline import Result, Run, report
from chapters.ch04_model_serving.workload import event_handler, traffic
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option


@dataclasses.dataclass
class Autoscaler:
    """Workers wanted = average in flight over ``window`` s / ``target``, within [min, max]:
    up at once, down by one worker per ``cooldown``."""

    min_workers: int = 1
    max_workers: int = 8
    target: float = 1.0  # events in flight per worker
    cooldown: float = 0.5  # seconds between two steps down
    window: float = 0.5  # seconds of in-flight counts averaged (0: the latest count only)

    def __post_init__(self) -> None:
        if not 1 <= self.min_workers <= self.max_workers:
            raise UsageError(
                f"need 1 <= --min-workers ({self.min_workers}) <= --max-workers "
                f"({self.max_workers})"
            )
        self.last_change = -math.inf
        self.samples: collections.deque = collections.deque()

    def desired(self, in_flight: int, current: int, now: float) -> int:
        self.samples.append((now, in_flight))
        while self.samples[0][0] < now - self.window:
            self.samples.popleft()
        average = sum(count for _, count in self.samples) / len(self.samples)
        want = min(self.max_workers, max(self.min_workers, math.ceil(average / self.target)))
        if want > current:
            self.last_change = now
            return want
        if want < current and now - self.last_change >= self.cooldown:
            self.last_change = now
            return current - 1
        return current


class WorkerPool:
    """Threads taking events from ``events``; ``scale_to(n)`` starts or retires workers."""

    def __init__(self, events: queue.Queue, handle: Callable[[object], None]):
        self.events, self.handle = events, handle
        self.size = self.busy = self.live = 0  # live: workers started and not yet retired
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []  # every thread started, for stop()
        self._stop = threading.Event()

    def scale_to(self, n: int) -> None:
        with self._lock:
            self.size, grow = n, max(0, n - self.live)
            self.live += grow
        for _ in range(grow):
            self._threads.append(threading.Thread(target=self._work, daemon=True))
            self._threads[-1].start()

    def workers(self) -> int:
        return self.live

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if self.live > self.size:  # scaled down: this worker retires
                    self.live -= 1
                    return
            try:
                event = self.events.get(timeout=0.02)
            except queue.Empty:
                continue
            with self._lock:
                self.busy += 1
            try:
                self.handle(event)
            finally:
                with self._lock:
                    self.busy -= 1

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


def simulate(arrivals, handle, scaler: Autoscaler | None, fixed: int, tail: float, log) -> Run:
    """Replay ``arrivals`` into a queue served by a fixed or an autoscaled pool."""
    events: queue.Queue = queue.Queue()
    run, lock = Run("autoscaled" if scaler else "fixed"), threading.Lock()

    def timed(event) -> None:
        handle(event)
        with lock:
            run.latencies.append((event, time.perf_counter() - start - event))

    pool = WorkerPool(events, timed)
    pool.scale_to(scaler.min_workers if scaler else fixed)
    start = time.perf_counter()

    def produce() -> None:
        for t in arrivals:
            time.sleep(max(0.0, t - (time.perf_counter() - start)))
            events.put(t)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    end = (arrivals[-1] if arrivals else 0.0) + tail
    try:
        while True:
            now, in_flight = time.perf_counter() - start, events.qsize() + pool.busy
            if scaler is not None:
                pool.scale_to(scaler.desired(in_flight, pool.workers(), now))
            workers = pool.workers()  # after scaling: what the timeline and the log show
            run.timeline.append((now, in_flight, workers))
            if len(run.timeline) % 40 == 0:  # every 2 s
                log(f"{run.mode} t={now:.0f}s: {in_flight} in flight, {workers} workers")
            if not producer.is_alive() and in_flight == 0 and now >= end:
                return run
            if now > end + 120:
                raise TimeoutError("the pool did not drain the queue within 2 minutes")
            time.sleep(0.05)
    finally:
        pool.stop()


# ---------------------------------------------------------------------------- the example


@dataclasses.dataclass(frozen=True)
class Settings(ModelSettings):
    duration: float = option(6.0, "seconds of traffic", minimum=0.1)
    base_rate: float = option(10.0, "events per second outside the spike", minimum=0.01)
    spike_rate: float = option(80.0, "events per second in the spike", minimum=0.01)
    spike_start: float = option(2.0, "seconds: the spike begins", minimum=0)
    spike_end: float = option(4.0, "seconds: the spike ends", minimum=0)
    min_workers: int = option(1, "fewest workers of the autoscaled pool", minimum=1)
    max_workers: int = option(8, "most workers of the autoscaled pool", minimum=1)
    target: float = option(1.0, "events in flight per worker the autoscaler aims at", minimum=0.01)
    cooldown: float = option(0.5, "seconds between two steps down", minimum=0)
    window: float = option(0.5, "seconds of in-flight counts the autoscaler averages", minimum=0)
    fixed_workers: int = option(2, "size of the fixed pool it is compared with", minimum=1)
    io_ms: float = option(50.0, "simulated I/O per event (ms)", minimum=0)
    images_per_event: int = option(
        4, "images the model classifies per event (0: no model, the I/O alone)", minimum=0
    )
    tail: float = option(3.0, "seconds to keep watching after the last event", minimum=0)

    def check(self) -> None:
        Autoscaler(self.min_workers, self.max_workers)  # its own rule for the pool's size
        if not self.spike_start < self.spike_end <= self.duration:
            raise UsageError("need --spike-start < --spike-end <= --duration")


def main(settings: Settings) -> Result:
    s = settings
    log = cli.Progress("ch04.event_driven")
    arrivals = traffic(s.duration, s.base_rate, s.spike_rate, s.spike_start, s.spike_end, s.seed)
    log(
        f"{len(arrivals)} events over {s.duration:g}s: {s.base_rate:g}/s, spike to "
        f"{s.spike_rate:g}/s from {s.spike_start:g}s to {s.spike_end:g}s"
    )
    handle = event_handler(s, s.images_per_event, s.io_ms, log)  # model + simulated I/O
    log(f"fixed pool of {s.fixed_workers} workers")
    fixed = simulate(arrivals, handle, None, s.fixed_workers, s.tail, log)
    log(f"autoscaled pool: {s.min_workers} to {s.max_workers} workers, {s.target:g} in flight each")
    scaler = Autoscaler(s.min_workers, s.max_workers, s.target, s.cooldown, s.window)
    auto = simulate(arrivals, handle, scaler, 0, s.tail, log)
    result = Result.of(arrivals, fixed, auto, s.spike_start, s.spike_end, Path(s.out))
    report(s, result)
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
