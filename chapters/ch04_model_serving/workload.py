"""The workload of ``event_driven.py`` (chapter 4, section 4.4): when events arrive, and what
each one costs the worker that takes it."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from chapters.ch04_model_serving.served import ModelSettings
from chapters.common.data import load_fashion_mnist


def traffic(duration, base_rate, spike_rate, spike_start, spike_end, seed=0) -> list[float]:
    """Arrival times in [0, duration): Poisson at ``base_rate``/s, ``spike_rate``/s in the spike."""
    rng, times, t = np.random.default_rng(seed), [], 0.0
    while True:
        t += rng.exponential(1.0 / (spike_rate if spike_start <= t < spike_end else base_rate))
        if t >= duration:
            return times
        times.append(t)


def event_handler(
    s: ModelSettings, images_per_event: int, io_ms: float, log
) -> Callable[[float], None]:
    """Each event: the model ``s`` names on ``images_per_event`` test images, then ``io_ms`` of
    simulated I/O (a downstream call); with 0 images, the I/O alone."""
    if not images_per_event:
        return lambda _event: time.sleep(io_ms / 1000)
    from chapters.common.export import load_serving_function

    images = load_fashion_mnist("test", s.dataset, s.data_dir, images_per_event, s.seed)
    path = s.model(log)
    log(f"loading {path}: each event runs it on {images_per_event} images + {io_ms:g} ms")
    signature, batch = load_serving_function(path), images.images.astype(np.float32)
    signature(batch)  # the first call is slow: before the clock starts

    def handle(_event) -> None:
        signature(batch)
        time.sleep(io_ms / 1000)

    return handle
