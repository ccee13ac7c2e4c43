"""ch02 caching: later epochs skip preprocessing, same values, the disk cache outlives a process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chapters.ch02_data_ingestion import caching
from chapters.ch02_data_ingestion.caching_report import Epoch, Result
from dmlp.example.errors import UsageError
from tests.conftest import run_module

TINY = {"preprocess_cost": 2, "dataset": "synthetic"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("caching"))
    return caching.main(caching.Settings(num_epochs=3, num_examples=200, out=out, **TINY))


def preprocessed(result, mode):
    return [e.preprocessed for e in result.modes[mode]]


def test_uncached_pipelines_preprocess_every_epoch(result):
    for mode in ("none", "raw-cache"):  # caching raw data does not save the expensive step
        assert preprocessed(result, mode) == [200, 200, 200]


def test_cached_pipelines_preprocess_once(result):
    """The claim's cause: after epoch 1 a cached pipeline does no preprocessing at all."""
    for mode in ("memory", "disk"):
        assert preprocessed(result, mode) == [200, 0, 0]


def test_every_pipeline_and_epoch_gives_identical_values(result):
    assert result.distinct_digests == 1
    # held: nothing preprocessed again (above), one digest, and faster, measured on this run
    assert result.holds is all(result.speedup(m) > 1 for m in result.cached)
    assert len(result.modes) == 4 and all(len(e) == 3 for e in result.modes.values())


def made(cached_seconds: float, cached_preprocessed: int = 0, digest: str = "d") -> Result:
    """A result as a run would record it: 100 examples, 2 epochs, no cache vs a memory cache."""
    none = [Epoch(1.0, 100, "d"), Epoch(1.0, 100, "d")]
    memory = [Epoch(1.2, 100, "d"), Epoch(cached_seconds, cached_preprocessed, digest)]
    return Result(100, "synthetic", "", False, {"none": none, "memory": memory})


def test_the_claim_holds_only_when_the_cache_is_faster_skips_work_and_keeps_values():
    assert made(0.3).holds is True and made(0.3).speedup("memory") == pytest.approx(1 / 0.3)
    assert made(1.25).holds is False  # a 0.8x "speed-up" is no speed-up
    assert made(0.3, cached_preprocessed=100).holds is False  # preprocessed again
    assert made(0.3, digest="other").holds is False  # different values


def test_different_values_give_a_different_digest(tmp_path):
    """The digest is not blind: other preprocessing gives another one."""
    settings = caching.Settings(
        num_epochs=2, num_examples=200, modes=("none",), out=str(tmp_path), **TINY
    )
    same, other = (caching.main(settings.replace(preprocess_cost=c)) for c in (2, 3))
    assert same.modes["none"][0].digest == same.modes["none"][1].digest
    assert other.modes["none"][0].digest != same.modes["none"][0].digest


def test_disk_cache_survives_a_new_process(tmp_path):
    cache_dir = tmp_path / "cache"
    args = ["--dataset", "synthetic", "--num-examples", "150", "--preprocess-cost", "2",
            "--num-epochs", "2", "--modes", "disk", "--cache-dir", str(cache_dir)]  # fmt: skip
    first = run_module("chapters.ch02_data_ingestion.caching", *args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    saved = json.loads(Path(tmp_path / "a" / "ch02_caching.json").read_text())
    assert not saved["disk_cache_reused"]
    assert [e["preprocessed"] for e in saved["modes"]["disk"]] == [150, 0]

    second = caching.main(
        caching.Settings(num_epochs=2, num_examples=150, modes=("disk",), cache_dir=str(cache_dir),
                         out=str(tmp_path / "b"), **TINY)
    )  # fmt: skip
    assert second.disk_cache_reused
    assert preprocessed(second, "disk") == [0, 0]
    assert second.modes["disk"][0].digest == saved["modes"]["disk"][0]["digest"]


def test_a_different_configuration_does_not_reuse_a_stale_cache(tmp_path):
    settings = caching.Settings(
        num_epochs=2,
        modes=("disk",),
        cache_dir=str(tmp_path / "c"),
        dataset="synthetic",
        num_examples=50,
        out=str(tmp_path),
    )
    caching.main(settings.replace(preprocess_cost=1))
    other = caching.main(settings.replace(preprocess_cost=3))
    assert not other.disk_cache_reused
    assert preprocessed(other, "disk") == [50, 0]


@pytest.mark.parametrize("modes", [("memory", "ram"), ("disk", "disk")])
def test_bad_modes_are_clear_errors(modes):
    with pytest.raises(UsageError, match="--modes must name distinct pipelines"):
        caching.Settings(modes=modes)


def test_epoch_plot_is_written(result):
    assert Path(result.plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
