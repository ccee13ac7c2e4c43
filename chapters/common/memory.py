"""Measure how much memory a piece of work adds to this process (introduced in chapter 2).

``tracemalloc`` misses TensorFlow's C++ buffers, so this samples the process's resident set size
(RSS) in a background thread while the work runs and reports the peak growth above the start.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

MiB = 1 << 20


def peak_rss_growth(work: Callable[[], Any], interval: float = 0.002) -> tuple[Any, int]:
    """Run ``work()``; return ``(its result, peak RSS growth in bytes during it)``."""
    process = psutil.Process()
    start = process.memory_info().rss
    peak = start
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = work()
        peak = max(peak, process.memory_info().rss)
    finally:
        done.set()
        sampler.join()
    return result, max(0, peak - start)
