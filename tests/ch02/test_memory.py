"""ch02 memory: the peak RSS growth of a piece of work, the same every time."""

from __future__ import annotations

import numpy as np
import pytest

from chapters.ch02_data_ingestion.memory import MiB, median_peak_growth, peak_rss_growth


def allocate(mib: int) -> int:
    block = np.ones(mib * MiB // 8)  # touched, so resident
    return block.nbytes


@pytest.mark.parametrize("mib", [16, 64])
def test_peak_growth_sees_a_block_that_is_freed_before_the_end(mib):
    for _ in range(2):  # the second time reuses nothing the first one freed
        nbytes, grown = peak_rss_growth(lambda: allocate(mib))
        assert 0.9 * nbytes <= grown <= nbytes + 8 * MiB


def test_work_that_allocates_nothing_grows_little():
    _, grown = peak_rss_growth(lambda: sum(range(1000)))
    assert grown < 4 * MiB


def test_median_of_repeats_returns_the_last_result():
    result, mib = median_peak_growth(lambda: allocate(32), repeats=3)
    assert result == 32 * MiB and 28 <= mib <= 40
