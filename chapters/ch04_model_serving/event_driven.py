"""Chapter 4, section 4.4 "Event-driven processing pattern".

Claim: when requests arrive as events in bursts, a queue in front of a worker pool that scales
with the queue (up at once under a spike, down one step at a time after a cooldown, never past
``--max-workers``) keeps latency low through the spike without paying for idle workers the rest
of the time; a fixed pool sized for the normal load falls behind.

Events are generated (a steady rate with a spike, a Poisson process with a fixed seed). Each
event carries a few images: a worker runs the real model on them plus ``--io-ms`` of simulated
I/O (a downstream call), the kind of work that scales with workers even on 2 cores. The scaler
follows the in-flight count (queued + being processed) against ``--target`` events per worker,
as Knative's concurrency target does for KServe in the cluster.

Run: python -m chapters.ch04_model_serving.event_driven [--duration 6] [--max-workers 8]
     (writes a timeline plot to OUT/ch04_event_driven.png)
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chapters.ch04_model_serving.server import add_model_dir_flag
from chapters.common import cli


def traffic(
    duration: float,
    base_rate: float,
    spike_rate: float,
    spike_start: float,
    spike_end: float,
    seed: int = 0,
) -> list[float]:
    """Arrival times in [0, duration): Poisson at ``base_rate``/s, ``spike_rate``/s in the spike."""
    rng = np.random.default_rng(seed)
    times, t = [], 0.0
    while True:
        rate = spike_rate if spike_start <= t < spike_end else base_rate
        t += rng.exponential(1.0 / rate)
        if t >= duration:
            return times
        times.append(t)


@dataclass
class Autoscaler:
    """Desired workers from the in-flight count: up at once, down by one per cooldown."""

    min_workers: int = 1
    max_workers: int = 8
    target: float = 1.0  # in-flight events per worker
    cooldown: float = 0.5
    last_change: float = -math.inf

    def __post_init__(self) -> None:
        if not 1 <= self.min_workers <= self.max_workers:
            raise cli.UsageError(
                f"need 1 <= min workers ({self.min_workers}) <= max workers ({self.max_workers})"
            )
        if self.target <= 0:
            raise cli.UsageError(f"target must be above 0, got {self.target}")

    def desired(self, in_flight: int, current: int, now: float) -> int:
        want = min(self.max_workers, max(self.min_workers, math.ceil(in_flight / self.target)))
        if want > current:
            self.last_change = now
            return want
        if want < current and now - self.last_change >= self.cooldown:
            self.last_change = now
            return current - 1
        return current


class WorkerPool:
    """Threads taking events from ``events``; ``scale_to(n)`` adds or retires workers."""

    def __init__(self, events: queue.Queue, handle: Callable[[object], None]):
        self.events, self.handle = events, handle
        self.size = 0
        self.busy = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def scale_to(self, n: int) -> None:
        with self._lock:
            grow = n - self.size
            self.size = n
        for _ in range(max(0, grow)):
            thread = threading.Thread(target=self._work, daemon=True)
            self._threads.append(thread)
            thread.start()

    def _alive(self) -> int:
        return sum(t.is_alive() for t in self._threads)

    def _work(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if self._alive() > self.size:  # retire: the pool was scaled down
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
                self.events.task_done()

    def workers(self) -> int:
        return self._alive()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


@dataclass
class Run:
    mode: str
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # t, in flight, workers
    latencies: list[tuple[float, float]] = field(default_factory=list)  # arrival, latency s
    max_workers_seen: int = 0
    final_workers: int = 0

    def p(self, q: float) -> float:
        return float(np.percentile([lat for _, lat in self.latencies], q)) * 1000


def simulate(
    arrivals: list[float],
    handle: Callable[[object], None],
    scaler: Autoscaler | None,
    fixed_workers: int,
    tail: float,
    tick: float = 0.05,
    log=None,
) -> Run:
    """Replay ``arrivals`` into a queue served by a fixed or an autoscaled pool."""
    events: queue.Queue = queue.Queue()
    run = Run("autoscaled" if scaler else "fixed")
    lock = threading.Lock()

    def timed(event) -> None:
        arrival, payload = event
        handle(payload)
        with lock:
            run.latencies.append((arrival, time.perf_counter() - start - arrival))

    pool = WorkerPool(events, timed)
    pool.scale_to(scaler.min_workers if scaler else fixed_workers)
    start = time.perf_counter()

    def produce() -> None:
        for i, t in enumerate(arrivals):
            delay = t - (time.perf_counter() - start)
            if delay > 0:
                time.sleep(delay)
            events.put((t, i))

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    end = (arrivals[-1] if arrivals else 0.0) + tail
    try:
        while True:
            now = time.perf_counter() - start
            in_flight = events.qsize() + pool.busy
            if scaler is not None:
                current = pool.workers()
                wanted = scaler.desired(in_flight, current, now)
                if wanted != current:
                    pool.scale_to(wanted)
                    if log:
                        log(f"{now:5.2f}s in flight {in_flight:3d}: workers {current} -> {wanted}")
            workers = pool.workers()
            run.timeline.append((now, in_flight, workers))
            run.max_workers_seen = max(run.max_workers_seen, workers)
            done = not producer.is_alive() and in_flight == 0
            if done and now >= end:
                break
            if now > end + 120:
                raise TimeoutError("the pool did not drain the queue within 2 minutes")
            time.sleep(tick)
    finally:
        run.final_workers = pool.workers()
        pool.stop()
    return run


def inference_handler(model_dir: Path, images: np.ndarray, per_event: int, io_ms: float):
    """Real model inference on ``per_event`` images plus simulated I/O, per event."""
    import tensorflow as tf

    model = tf.keras.models.load_model(str(model_dir))
    infer = tf.function(lambda x: model(x, training=False))
    batch = images[:per_event].astype("float32") / 255.0
    infer(batch)  # trace once, before the clock starts

    def handle(_event) -> None:
        infer(batch).numpy()
        time.sleep(io_ms / 1000)

    return handle


def main(
    duration: float = 6.0,
    base_rate: float = 10.0,
    spike_rate: float = 80.0,
    spike_start: float = 2.0,
    spike_end: float = 4.0,
    min_workers: int = 1,
    max_workers: int = 8,
    target: float = 1.0,
    cooldown: float = 0.5,
    fixed_workers: int = 2,
    io_ms: float = 50.0,
    images_per_event: int = 4,
    tail: float = 3.0,
    model_dir: str | None = None,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = None,
    out: str = "out/ch04",
    seed: int = 42,
    verbose: bool = False,
    handler=None,
) -> dict:
    from chapters.ch04_model_serving.server import ensure_model
    from chapters.common.data import load_fashion_mnist
    from chapters.common.tf_setup import tf as import_tf

    if not 0 <= spike_start < spike_end <= duration:
        raise cli.UsageError("need 0 <= --spike-start < --spike-end <= --duration")
    scaler = Autoscaler(min_workers, max_workers, target, cooldown)
    log = cli.Progress("ch04.event_driven")
    arrivals = traffic(duration, base_rate, spike_rate, spike_start, spike_end, seed)
    log(
        f"{len(arrivals)} events over {duration:g}s: {base_rate:g}/s, spike to {spike_rate:g}/s "
        f"from {spike_start:g}s to {spike_end:g}s"
    )
    if handler is None:
        import_tf(verbose, seed)
        path = ensure_model(model_dir, out, dataset, data_dir, seed=seed, log=log)
        images = load_fashion_mnist("test", dataset, data_dir, images_per_event, seed).images
        handler = inference_handler(path, images, images_per_event, io_ms)
    runs = {}
    log(f"fixed pool of {fixed_workers} workers")
    runs["fixed"] = simulate(arrivals, handler, None, fixed_workers, tail)
    log(
        f"autoscaled pool ({min_workers}..{max_workers} workers, target {target:g} in flight "
        f"per worker, cooldown {cooldown:g}s)"
    )
    runs["autoscaled"] = simulate(arrivals, handler, scaler, 0, tail, log=log if verbose else None)
    rows = []
    for mode, run in runs.items():
        spike = [lat for t, lat in run.latencies if spike_start <= t < spike_end]
        rows.append(
            (
                mode,
                len(run.latencies),
                run.p(50),
                run.p(99),
                float(np.percentile(spike, 99)) * 1000 if spike else float("nan"),
                run.max_workers_seen,
                run.final_workers,
            )
        )
    cli.print_table(
        rows,
        ["pool", "events", "p50 ms", "p99 ms", "p99 in spike ms", "most workers", "workers at end"],
        title=f"Event-driven processing: {len(arrivals)} events",
    )
    print_timeline(runs, spike_start, spike_end)
    plot = Path(out) / "ch04_event_driven.png"
    draw_timeline(runs, plot, spike_start, spike_end)
    auto = runs["autoscaled"]
    print(
        f"Claim: the autoscaled pool grew to {auto.max_workers_seen} workers in the spike "
        f"(max {max_workers}) and shrank back to {auto.final_workers}; its p99 was "
        f"{auto.p(99):.0f} ms vs {runs['fixed'].p(99):.0f} ms for the fixed pool. Plot: {plot}"
    )
    return {"runs": runs, "arrivals": arrivals, "plot": str(plot)}


def print_timeline(runs: dict, spike_start: float, spike_end: float, step: float = 0.5) -> None:
    auto, fixed = runs["autoscaled"], runs["fixed"]

    def at(run: Run, t: float) -> tuple[int, int]:
        sample = min(run.timeline, key=lambda s: abs(s[0] - t))
        return sample[1], sample[2]

    end = max(auto.timeline[-1][0], fixed.timeline[-1][0])
    rows = []
    for i in range(int(end / step) + 1):
        t = i * step
        rows.append(
            (
                f"{t:4.1f}" + (" *" if spike_start <= t < spike_end else ""),
                *at(fixed, t),
                *at(auto, t),
            )
        )
    cli.print_table(
        rows,
        ["t s (* spike)", "fixed: in flight", "fixed: workers", "auto: in flight", "auto: workers"],
        title="Timeline",
    )


def draw_timeline(runs: dict, path: Path, spike_start: float, spike_end: float) -> None:
    def draw(ax) -> None:
        for mode, run in runs.items():
            t = [s[0] for s in run.timeline]
            ax.plot(t, [s[1] for s in run.timeline], label=f"{mode}: in flight")
        auto = runs["autoscaled"]
        ax.step(
            [s[0] for s in auto.timeline],
            [s[2] for s in auto.timeline],
            where="post",
            label="autoscaled: workers",
            linestyle="--",
        )
        ax.axvspan(spike_start, spike_end, alpha=0.15, label="spike")
        ax.set_xlabel("seconds")
        ax.set_ylabel("events in flight / workers")
        ax.legend()

    cli.save_plot(draw, path, "Event-driven processing: fixed vs autoscaled pool")


def build_parser():
    p = cli.parser(__doc__, out="out/ch04")
    p.add_argument("--duration", type=cli.positive_float, default=6.0, help="seconds of traffic")
    p.add_argument("--base-rate", type=cli.positive_float, default=10.0, help="events/s")
    p.add_argument("--spike-rate", type=cli.positive_float, default=80.0, help="events/s in spike")
    p.add_argument("--spike-start", type=float, default=2.0, help="seconds")
    p.add_argument("--spike-end", type=float, default=4.0, help="seconds")
    p.add_argument("--min-workers", type=cli.positive_int, default=1, help="(default: 1)")
    p.add_argument("--max-workers", type=cli.positive_int, default=8, help="(default: 8)")
    p.add_argument(
        "--target",
        type=cli.positive_float,
        default=1.0,
        help="in-flight events per worker the scaler aims for (default: 1)",
    )
    p.add_argument(
        "--cooldown",
        type=cli.positive_float,
        default=0.5,
        help="seconds between scale-down steps (default: 0.5)",
    )
    p.add_argument(
        "--fixed-workers",
        type=cli.positive_int,
        default=2,
        help="size of the fixed pool compared against (default: 2)",
    )
    p.add_argument("--io-ms", type=float, default=50.0, help="simulated I/O per event (ms)")
    p.add_argument("--images-per-event", type=cli.positive_int, default=4, help="(default: 4)")
    p.add_argument(
        "--tail",
        type=float,
        default=3.0,
        help="seconds to keep watching after the last event (default: 3)",
    )
    add_model_dir_flag(p)
    return p


def check_flags(args) -> None:
    if args.min_workers > args.max_workers:
        raise cli.UsageError(
            f"--min-workers ({args.min_workers}) is above --max-workers ({args.max_workers})"
        )
    if not 0 <= args.spike_start < args.spike_end <= args.duration:
        raise cli.UsageError("need 0 <= --spike-start < --spike-end <= --duration")
    if args.io_ms < 0 or args.tail < 0:
        raise cli.UsageError("--io-ms and --tail must be 0 or more")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser(), check=check_flags))
