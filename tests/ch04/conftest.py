"""A small trained SavedModel shared by the chapter 4 tests (trained and exported once)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    from chapters.ch04_model_serving.served import served_model

    out = tmp_path_factory.mktemp("ch04-model")
    return str(served_model(None, str(out), dataset="synthetic", train_steps=150, log=print))
