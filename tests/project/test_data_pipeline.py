"""The data pipeline (9.1): TFRecords written once, read whole or as disjoint worker shares."""

from chapters.project import config, data_pipeline


def test_workers_read_disjoint_shares_that_cover_every_example(tmp_path):
    settings = config.ProjectSettings(out=str(tmp_path), dataset="synthetic", num_examples=120,
                                      num_validation=30, num_files=4, num_workers=2)  # fmt: skip
    result = data_pipeline.main(settings)
    assert result.examples_single == 120 and result.per_worker == [60, 60]
    assert result.disjoint and result.complete
    held_out = data_pipeline.validation_split(result.summary["data_dir"])
    assert len(held_out) == 30 and held_out.images.shape[1:] == (28, 28, 1)


def test_the_ingestion_key_changes_with_every_input():
    base = ("synthetic", 100, 20, 42, 4)
    keys = {config.ingest_key(*base)}
    for i, changed in enumerate(("tfds", 101, 21, 43, 5)):
        keys.add(config.ingest_key(*base[:i], changed, *base[i + 1 :]))
    assert len(keys) == 6 and config.ingest_key(*base) == config.ingest_key(*base)
