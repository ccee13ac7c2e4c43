"""Event-driven processing: the pool grows with the queue under a spike, shrinks, obeys max,
and keeps the spike's p99 below a fixed pool's."""

from __future__ import annotations

from pathlib import Path

import pytest

from chapters.ch04_model_serving import event_driven as ed
from chapters.ch04_model_serving.workload import traffic
from dmlp.example.errors import UsageError


def test_autoscaler_grows_at_once_and_shrinks_one_step_per_cooldown():
    scaler = ed.Autoscaler(min_workers=1, max_workers=5, target=2, cooldown=1.0, window=0)
    assert scaler.desired(in_flight=7, current=1, now=0.0) == 4  # ceil(7 / 2), at once
    assert scaler.desired(in_flight=30, current=4, now=0.1) == 5  # capped at max
    assert scaler.desired(in_flight=0, current=5, now=0.5) == 5  # still cooling down
    assert scaler.desired(in_flight=0, current=5, now=1.2) == 4  # one step down
    assert scaler.desired(in_flight=0, current=4, now=1.5) == 4
    assert scaler.desired(in_flight=0, current=4, now=2.3) == 3
    assert scaler.desired(in_flight=0, current=1, now=9.0) == 1  # never below min


def test_autoscaler_averages_over_its_window_so_one_blip_does_not_scale():
    scaler = ed.Autoscaler(min_workers=1, max_workers=8, target=1, window=0.5)
    for i in range(10):  # 0.5 s of one event in flight
        assert scaler.desired(1, 1, i * 0.05) == 1
    assert scaler.desired(3, 1, 0.55) == 2  # a blip of 3: average 1.2, not 3
    spike = [scaler.desired(8, 2, 0.6 + i * 0.05) for i in range(10)]
    assert spike[-1] == 8  # a lasting spike: the whole way up


@pytest.mark.parametrize("kwargs", [{"min_workers": 3, "max_workers": 2}, {"min_workers": 0}])
def test_bad_scaler_settings(kwargs):
    with pytest.raises(UsageError):
        ed.Autoscaler(**kwargs)


def test_traffic_has_a_spike_and_is_repeatable():
    arrivals = traffic(6, 10, 80, 2, 4, seed=1)
    assert arrivals == traffic(6, 10, 80, 2, 4, seed=1)
    in_spike = sum(2 <= t < 4 for t in arrivals)
    assert in_spike > 3 * (len(arrivals) - in_spike)  # 160 expected vs 40 outside
    assert arrivals == sorted(arrivals) and 0 <= arrivals[0] and arrivals[-1] < 6


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    settings = ed.Settings(
        duration=3,
        base_rate=5,
        spike_rate=100,
        spike_start=1,
        spike_end=2,
        max_workers=6,
        cooldown=0.2,
        fixed_workers=1,
        images_per_event=0,  # 30 ms of simulated I/O per event, no model
        io_ms=30,
        tail=2.0,
        out=str(tmp_path_factory.mktemp("ed")),
    )
    return ed.main(settings)


def test_under_the_spike_the_autoscaled_p99_is_below_the_fixed_pools(result):
    assert result.claim_holds
    assert result.spike_p99_ms["autoscaled"] < result.spike_p99_ms["fixed"] / 2


def test_every_event_is_processed_in_both_modes(result):
    for run in result.runs.values():
        assert len(run.latencies) == len(result.arrivals)


def test_pool_is_quiet_before_grows_in_and_shrinks_after_the_spike(result):
    auto = result.runs["autoscaled"]
    assert result.workers_before_spike == 1
    assert auto.workers(1, 2.3) > 1 and result.most_workers <= 6
    assert result.final_workers == 1  # back to min once idle


def test_fixed_pool_stays_fixed(result):
    assert {w for _, _, w in result.runs["fixed"].timeline} == {1}


def test_plot_is_written_under_out(result, tmp_path_factory):
    assert result.plot.name == "ch04_event_driven.png"
    assert Path(result.plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_timeline_rows_line_up():
    from chapters.ch04_model_serving.timeline import Run, timeline_rows

    run = Run("x", timeline=[(0.0, 0, 1), (1.0, 5, 3), (2.0, 0, 1)])
    rows = timeline_rows({"fixed": run, "autoscaled": run}, 0.5, 1.5)
    assert [r[:2] for r in rows] == [("0.0", ""), ("0.5", "*"), ("1.0", "*"), ("1.5", ""),
                                     ("2.0", "")]  # fmt: skip
