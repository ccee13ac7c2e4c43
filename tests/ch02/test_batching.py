"""ch02 batching: batch counts, streaming memory below materialised, training on batches."""

from __future__ import annotations

import pytest

from chapters.ch02_data_ingestion import batching
from chapters.common.data import synthetic_split, write_tfrecords


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return write_tfrecords(synthetic_split("train", 1000), tmp_path_factory.mktemp("rec"), 3)


@pytest.mark.parametrize(
    "batch_size, drop, expected",
    [
        (128, False, [128] * 7 + [104]),  # 1000 = 7 * 128 + 104: the remainder batch is kept
        (128, True, [128] * 7),  # ... or dropped
        (250, False, [250] * 4),  # divisible: no remainder either way
        (5000, False, [1000]),  # batch larger than the data: one short batch
    ],
)
def test_batch_counts_and_remainder(records, batch_size, drop, expected):
    num_batches, sizes = batching.stream(records, batch_size, drop)
    assert sizes == expected and num_batches == len(expected)


def test_batches_have_model_shapes_and_normalised_values(records):
    images, labels = next(iter(batching.batched_pipeline(records, 16)))
    assert images.shape == (16, 28, 28, 1) and images.dtype.name == "float32"
    assert labels.shape == (16,)
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0


def test_materialise_holds_everything(records):
    images, labels = batching.materialise(records)
    assert images.shape == (1000, 28, 28, 1) and labels.shape == (1000,)


def test_main_streaming_needs_less_memory_than_materialising(out_dir):
    result = batching.main(
        dataset="synthetic", num_examples=12_000, batch_sizes=[32, 256], train_steps=30, out=out_dir
    )
    materialised = result["materialised"]
    # 12,000 float32 images are ~36 MiB; streaming holds a few batches at a time.
    assert materialised["array_mib"] > 30
    for row in result["streamed"]:
        assert row["examples_seen"] == 12_000
        assert row["peak_mib"] < materialised["peak_mib"]
    assert result["streamed"][0]["num_batches"] == 375
    assert result["training"]["loss_after"] < result["training"]["loss_before"]
