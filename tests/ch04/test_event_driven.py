"""Event-driven processing: the pool grows with the queue under a spike, shrinks, obeys max."""

from __future__ import annotations

import time

import pytest

from chapters.ch04_model_serving import event_driven as ed
from chapters.common.cli import UsageError


def test_autoscaler_grows_at_once_and_shrinks_one_step_per_cooldown():
    scaler = ed.Autoscaler(min_workers=1, max_workers=5, target=2, cooldown=1.0)
    assert scaler.desired(in_flight=7, current=1, now=0.0) == 4  # ceil(7 / 2), at once
    assert scaler.desired(in_flight=30, current=4, now=0.1) == 5  # capped at max
    assert scaler.desired(in_flight=0, current=5, now=0.5) == 5  # still cooling down
    assert scaler.desired(in_flight=0, current=5, now=1.2) == 4  # one step down
    assert scaler.desired(in_flight=0, current=4, now=1.5) == 4
    assert scaler.desired(in_flight=0, current=4, now=2.3) == 3
    assert scaler.desired(in_flight=0, current=1, now=9.0) == 1  # never below min


@pytest.mark.parametrize(
    "kwargs", [{"min_workers": 3, "max_workers": 2}, {"min_workers": 0}, {"target": 0}]
)
def test_bad_scaler_settings(kwargs):
    with pytest.raises(UsageError):
        ed.Autoscaler(**kwargs)


def test_traffic_has_a_spike_and_is_repeatable():
    arrivals = ed.traffic(6, 10, 80, 2, 4, seed=1)
    assert arrivals == ed.traffic(6, 10, 80, 2, 4, seed=1)
    in_spike = sum(2 <= t < 4 for t in arrivals)
    assert in_spike > 3 * (len(arrivals) - in_spike)  # 160 expected vs 40 outside
    assert arrivals == sorted(arrivals) and 0 <= arrivals[0] and arrivals[-1] < 6


def slow_handler(_event) -> None:
    time.sleep(0.03)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return ed.main(
        duration=3,
        base_rate=5,
        spike_rate=100,
        spike_start=1,
        spike_end=2,
        min_workers=1,
        max_workers=6,
        target=1,
        cooldown=0.2,
        fixed_workers=1,
        tail=2.0,
        out=str(tmp_path_factory.mktemp("ed")),
        handler=slow_handler,
    )


def test_every_event_is_processed_in_both_modes(result):
    for run in result["runs"].values():
        assert len(run.latencies) == len(result["arrivals"])


def test_pool_grows_under_the_spike_never_beyond_max_and_shrinks_after(result):
    auto = result["runs"]["autoscaled"]
    spike = [w for t, _, w in auto.timeline if 1 <= t < 2.3]
    assert max(spike) > 1 and auto.max_workers_seen <= 6
    assert max(w for _, _, w in auto.timeline) <= 6
    assert auto.final_workers == 1  # back to min once idle
    before = [w for t, _, w in auto.timeline if t < 0.9]
    assert max(before) <= 2  # quiet before the spike


def test_fixed_pool_stays_fixed(result):
    fixed = result["runs"]["fixed"]
    assert {w for _, _, w in fixed.timeline} == {1}


def test_plot_is_written(result):
    from pathlib import Path

    assert Path(result["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
