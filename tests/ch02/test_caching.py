"""ch02 caching: later epochs skip preprocessing, same values, the disk cache outlives a process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chapters.ch02_data_ingestion import caching
from tests.conftest import run_module


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("caching")
    return caching.main(
        num_epochs=3, preprocess_cost=2, dataset="synthetic", num_examples=200, out=str(out)
    )


def test_uncached_pipelines_preprocess_every_epoch(result):
    for mode in ("none", "raw-cache"):  # caching raw data does not save the expensive step
        assert [e["preprocessed"] for e in result["modes"][mode]] == [200, 200, 200]


def test_cached_pipelines_preprocess_once(result):
    for mode in ("memory", "disk"):
        assert [e["preprocessed"] for e in result["modes"][mode]] == [200, 0, 0]


def test_cached_values_equal_uncached(result):
    assert result["values_identical"]
    digests = {e["digest"] for epochs in result["modes"].values() for e in epochs}
    assert len(digests) == 1


def test_disk_cache_survives_a_new_process(tmp_path):
    cache_dir = tmp_path / "cache"
    args = [
        "--dataset",
        "synthetic",
        "--num-examples",
        "150",
        "--preprocess-cost",
        "2",
        "--num-epochs",
        "1",
        "--modes",
        "disk",
        "--cache-dir",
        str(cache_dir),
    ]
    first = run_module("chapters.ch02_data_ingestion.caching", *args, "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    first_json = json.loads(Path(tmp_path / "a" / "ch02_caching.json").read_text())
    assert not first_json["disk_cache_reused"]
    assert first_json["modes"]["disk"][0]["preprocessed"] == 150

    second = caching.main(
        num_epochs=2,
        preprocess_cost=2,
        modes=["disk"],
        cache_dir=str(cache_dir),
        dataset="synthetic",
        num_examples=150,
        out=str(tmp_path / "b"),
    )
    assert second["disk_cache_reused"]
    assert [e["preprocessed"] for e in second["modes"]["disk"]] == [0, 0]
    assert second["modes"]["disk"][0]["digest"] == first_json["modes"]["disk"][0]["digest"]


def test_a_different_configuration_does_not_reuse_a_stale_cache(tmp_path):
    kwargs = {
        "num_epochs": 1,
        "modes": ["disk"],
        "cache_dir": str(tmp_path / "c"),
        "dataset": "synthetic",
        "num_examples": 50,
        "out": str(tmp_path),
    }
    caching.main(preprocess_cost=1, **kwargs)
    other = caching.main(preprocess_cost=3, **kwargs)
    assert not other["disk_cache_reused"]
    assert other["modes"]["disk"][0]["preprocessed"] == 50


def test_epoch_plot_is_written(result):
    assert Path(result["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
