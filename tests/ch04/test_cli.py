"""Chapter 4 command lines: bad flags and missing things are one clear line, no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_line_error, run_module


@pytest.mark.parametrize(
    "module, args, needle",
    [
        ("chapters.ch04_model_serving.replicated_services", ["--num-replicas", "1"], "at least 2"),
        ("chapters.ch04_model_serving.replicated_services", ["--concurrency", "0"], "at least 1"),
        ("chapters.ch04_model_serving.router", ["--shards", "ftp://x"], "http(s)://"),
        ("chapters.ch04_model_serving.router", [], "--shards"),
        (
            "chapters.ch04_model_serving.event_driven",
            ["--min-workers", "5", "--max-workers", "2"],
            "--min-workers (5) is above --max-workers (2)",
        ),
        (
            "chapters.ch04_model_serving.event_driven",
            ["--spike-start", "5", "--spike-end", "4"],
            "--spike-start",
        ),
        ("chapters.ch04_model_serving.sharded_services", ["--num-shards", "-3"], "at least 1"),
        (
            "chapters.ch04_model_serving.server",
            ["--model-dir", "/nonexistent/model"],
            "no SavedModel there",
        ),
        ("chapters.ch04_model_serving.server", ["--port", "http"], "expected a whole number"),
        (
            "chapters.ch04_model_serving.client",
            ["--url", "http://127.0.0.1:9", "--dataset", "synthetic"],
            "nothing answers at",
        ),
    ],
)
def test_bad_input_is_one_line(module, args, needle):
    assert_one_line_error(run_module(module, *args, timeout=120), needle)
