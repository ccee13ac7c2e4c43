"""ch02 batching: batch counts, memory flat in the dataset's size, held batches grow with B."""

from __future__ import annotations

import pytest

from chapters.ch02_data_ingestion import batching
from chapters.ch02_data_ingestion.memory import MiB
from chapters.common.data import synthetic_split, write_tfrecords

EXAMPLE_BYTES = 28 * 28 * 4 + 8  # a float32 image and an int64 label


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
    sizes, largest = batching.stream(records, batch_size, drop)
    assert sizes == expected
    assert largest == max(expected) * EXAMPLE_BYTES


def test_batches_have_model_shapes_and_normalised_values(records):
    images, labels = next(iter(batching.batched_pipeline(records, 16)))
    assert images.shape == (16, 28, 28, 1) and images.dtype.name == "float32"
    assert labels.shape == (16,)
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0


def test_materialise_holds_everything(records):
    images, labels = batching.materialise(records)
    assert images.shape == (1000, 28, 28, 1) and labels.shape == (1000,)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    settings = batching.Settings(
        dataset="synthetic",
        num_examples=12_000,
        batch_sizes=(32, 512),
        repeats=2,
        train_steps=30,
        out=str(tmp_path_factory.mktemp("batching")),
    )
    return batching.main(settings)


def test_streaming_memory_does_not_grow_with_the_dataset(result):
    """The claim: doubling the data doubles the materialised peak, not the streamed one."""
    half, full = result.by_size
    assert (half.num_examples, full.num_examples) == (6_000, 12_000)
    # 6,000 more float32 images are ~18 MiB: the materialised peak grows by about that much ...
    assert full.array_mib - half.array_mib > 17
    assert result.materialised_growth_mib > 0.8 * (full.array_mib - half.array_mib)
    # ... while the streamed peak stays where it was (RSS noise is a few MiB at most).
    assert abs(result.streamed_growth_mib) < 0.25 * result.materialised_growth_mib
    assert full.streamed_rss_mib < half.materialised_rss_mib
    assert result.holds


def test_what_a_stream_holds_grows_with_the_batch_size(result):
    small, big = result.streamed
    assert small.in_flight_mib == pytest.approx(batching.IN_FLIGHT * 32 * EXAMPLE_BYTES / MiB)
    assert big.in_flight_mib == pytest.approx(batching.IN_FLIGHT * 512 * EXAMPLE_BYTES / MiB)
    assert (small.num_batches, small.last_batch) == (375, 32)
    assert all(row.examples == 12_000 for row in result.streamed)


def test_the_model_trains_on_streamed_batches(result):
    assert result.loss_after < result.loss_before


def test_memory_plot_is_written(result):
    with open(result.plot, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
