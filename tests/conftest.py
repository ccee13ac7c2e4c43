"""Shared test set-up: offline data, Keras 2, quiet TensorFlow, a helper to run examples as CLIs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Tests never touch the network: `auto` falls straight back to the synthetic data.
os.environ["DMLP_OFFLINE"] = "1"

import chapters.common  # noqa: E402,F401  (TF_USE_LEGACY_KERAS before any TensorFlow import)

ROOT = Path(__file__).resolve().parents[1]


def run_module(module: str, *args: str, timeout: float = 300, env: dict | None = None):
    """Run ``python -m module args`` from the repository root; returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_error(proc, *needles: str) -> None:
    """A CLI failed cleanly: non-zero exit, no traceback, an error line naming the problem."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


@pytest.fixture(autouse=True)
def _fresh_command_environment():
    """Each test is a new command: the dataset warning may show again, and a test that ran an
    example with --verbose does not make later subprocesses verbose."""
    keys = ("DMLP_DATASET_WARNED", "DMLP_VERBOSE", "TF_CPP_MIN_LOG_LEVEL")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.pop("DMLP_DATASET_WARNED", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    os.environ.pop("DMLP_DATASET_WARNED", None)


@pytest.fixture
def out_dir(tmp_path: Path) -> str:
    return str(tmp_path / "out")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    """A small trained SavedModel the chapter 4 servers serve (trained and exported once)."""
    from chapters.ch04_model_serving.served import served_model

    out = tmp_path_factory.mktemp("ch04-model")
    return str(served_model(None, str(out), dataset="synthetic", train_steps=150, log=print))
