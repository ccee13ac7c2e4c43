"""ch02 sharding: shards are disjoint and together cover the dataset exactly once."""

from __future__ import annotations

import pytest

from chapters.ch02_data_ingestion import sharding
from chapters.common.data import synthetic_split, write_tfrecords
from dmlp.example.errors import UsageError


@pytest.mark.parametrize("n, workers, files", [(100, 3, 3), (101, 4, 7), (10, 10, 10), (57, 2, 5)])
def test_both_methods_partition_the_dataset(tmp_path, n, workers, files):
    split = synthetic_split("train", n)
    paths = write_tfrecords(split, tmp_path, files)
    for shard in (
        lambda w: sharding.element_shard(split, workers, w),
        lambda w: sharding.file_shard(paths, workers, w),
    ):
        shards = {w: sharding.ids_of(shard(w)) for w in range(workers)}
        assert sum(len(ids) for ids in shards.values()) == n
        assert sharding.check_partition(shards, n) == (True, True)
        assert all(shards.values()), "every worker gets data"


def test_check_partition_detects_overlap_and_gaps():
    assert sharding.check_partition({0: [0, 1], 1: [1, 2]}, 3) == (False, True)
    assert sharding.check_partition({0: [0], 1: [2]}, 3) == (True, False)
    assert sharding.check_partition({0: [0, 0], 1: [1]}, 2) == (False, True)


def test_file_sharding_reads_only_its_own_files(tmp_path):
    split = synthetic_split("train", 60)
    paths = write_tfrecords(split, tmp_path, 6)
    ids = sorted(sharding.ids_of(sharding.file_shard(paths, 3, 1)))
    # files hold consecutive blocks of 10: worker 1 reads files 1 and 4
    assert ids == list(range(10, 20)) + list(range(40, 50))


def test_main_reports_disjoint_covering_shards(out_dir):
    settings = sharding.Settings(num_workers=3, num_files=6, dataset="synthetic", num_examples=300)
    result = sharding.main(settings.replace(out=out_dir))
    assert result.holds is True
    for method in (result.element, result.file):
        assert method.disjoint and method.covers
        assert sorted(len(ids) for ids in method.shards.values()) == [100, 100, 100]
    assert result.files_of[1] == ["fashion_mnist-00001-of-00006.tfrecord",
                                  "fashion_mnist-00004-of-00006.tfrecord"]  # fmt: skip


def test_main_single_worker_view(out_dir):
    settings = sharding.Settings(
        num_workers=4, worker_index=2, num_files=4, dataset="synthetic", num_examples=40
    )
    result = sharding.main(settings.replace(out=out_dir))
    assert list(result.file.shards) == [2] and result.holds is None
    assert sorted(result.file.shards[2]) == list(range(20, 30))
    assert sorted(result.element.shards[2]) == list(range(2, 40, 4))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_workers": 2, "worker_index": 2}, "--worker-index must be below --num-workers"),
        ({"num_workers": 4, "num_files": 3}, "--num-files"),
        ({"worker_index": -1}, "--worker-index must be at least 0"),
    ],
)
def test_settings_reject_bad_shard_settings(kwargs, message):
    with pytest.raises(UsageError, match=message):
        sharding.Settings(**kwargs)


def test_too_few_examples_for_the_files_is_a_clear_error(out_dir):
    settings = sharding.Settings(num_files=6, dataset="synthetic", num_examples=4, out=out_dir)
    with pytest.raises(UsageError, match="4 examples cannot fill --num-files 6"):
        sharding.main(settings)
