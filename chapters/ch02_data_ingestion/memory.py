"""Measure how much memory a piece of work adds to this process (introduced in chapter 2).

``tracemalloc`` misses TensorFlow's C++ buffers, so this looks at the process's resident set size
(RSS): the peak during the work minus the RSS before it.

* On Linux the kernel keeps the peak itself (``VmHWM`` in ``/proc/self/status``) and lets a process
  reset it (``/proc/self/clear_refs``), so the peak is exact. Elsewhere a background thread samples
  the RSS every few milliseconds; it can miss a short peak while another thread holds the GIL.
* glibc's allocator keeps freed large blocks for reuse and raises its threshold for handing blocks
  back to the system as the program runs, so a second measurement could reuse memory the first one
  freed and look smaller. Importing this module fixes that threshold at 1 MiB (``mallopt``): blocks
  of a MiB or more come from and go back to the system, and each measurement starts level.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

MiB = 1 << 20
_STATUS, _CLEAR_REFS = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _fix_glibc_mmap_threshold() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, MiB)  # M_MMAP_THRESHOLD; setting it also stops glibc from moving it
    except (OSError, AttributeError):  # not glibc (musl): nothing to fix
        pass


def _kernel_peak() -> int | None:
    """Peak RSS in bytes since the last reset, as the kernel counts it (Linux), else None."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_kernel_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")  # 5: reset the peak RSS to the current RSS
    except OSError:
        return False
    return _kernel_peak() is not None


def peak_rss_growth(work: Callable[[], Any], interval: float = 0.002) -> tuple[Any, int]:
    """Run ``work()``; return ``(its result, peak RSS growth in bytes during it)``."""
    process = psutil.Process()
    start = process.memory_info().rss
    if _reset_kernel_peak():
        result = work()
        return result, max(0, (_kernel_peak() or 0) - start)
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


def median_peak_growth(work: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """Run ``work()`` ``repeats`` times: ``(its last result, median peak RSS growth in MiB)``."""
    grown, result = [], None
    for _ in range(repeats):
        result = None  # free the previous run's result before measuring the next one
        gc.collect()
        result, peak = peak_rss_growth(work)
        grown.append(peak / MiB)
    return result, statistics.median(grown)


_fix_glibc_mmap_threshold()
