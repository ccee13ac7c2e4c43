"""A small trained SavedModel shared by the chapter 4 tests (trained once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    from chapters.ch04_model_serving.server import ensure_model

    out = tmp_path_factory.mktemp("ch04-model")
    return str(ensure_model(None, str(out), "synthetic", train_steps=150, log=lambda _m: None))
