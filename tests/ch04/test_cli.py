"""Chapter 4 command lines: bad flags and missing things are one clear line, no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import assert_one_line_error, run_module

M = "chapters.ch04_model_serving."


@pytest.mark.parametrize(
    "module, args, needle",
    [
        ("replicated_services", ["--num-replicas", "1"], "at least 2"),
        ("replicated_services", ["--concurrency", "0"], "at least 1"),
        ("replicated_services", ["--num-examples", "5"], "unrecognized arguments"),
        ("router", ["--shards", "ftp://x"], "http(s)://"),
        ("router", [], "--shards is required"),
        ("event_driven", ["--min-workers", "5", "--max-workers", "2"], "--min-workers (5)"),
        ("event_driven", ["--spike-start", "5", "--spike-end", "4"], "--spike-start"),
        ("event_driven", ["--num-examples", "5"], "unrecognized arguments"),
        ("sharded_services", ["--num-shards", "-3"], "at least 1"),
        ("sharded_services", ["--num-examples", "5"], "unrecognized arguments"),
        ("server", ["--model-dir", "/nonexistent/model"], "no SavedModel there"),
        ("server", ["--port", "http"], "expected a whole number"),
        ("server", ["--num-examples", "5"], "unrecognized arguments"),
        ("server", ["--num-exam", "5"], "unrecognized arguments"),  # no abbreviations
        ("client", ["--url", "http://127.0.0.1:9", "--dataset", "synthetic"], "nothing answers"),
        ("client", ["--url", "127.0.0.1:8080"], "http(s)://"),
    ],
)
def test_bad_input_is_one_line(module, args, needle):
    assert_one_line_error(run_module(M + module, *args, timeout=180), needle)


@pytest.mark.parametrize(
    "module",
    ["server", "router", "client", "replicated_services", "sharded_services", "event_driven"],
)
def test_help_has_plain_words(module):
    proc = run_module(M + module, "--help", timeout=180)
    assert proc.returncode == 0 and "Run: python -m" in proc.stdout
    assert "``" not in proc.stdout and ":func:" not in proc.stdout


def test_server_and_router_listen_on_localhost_by_default():
    from chapters.ch04_model_serving import router, server

    assert server.Settings().host == "127.0.0.1"
    assert router.Settings(shards=("http://127.0.0.1:1",)).host == "127.0.0.1"


def test_client_curl_prints_a_command_without_a_server():
    proc = run_module(M + "client", "--curl", "--url", "http://127.0.0.1:8080", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "sample_request.json" in proc.stdout
    assert "http://127.0.0.1:8080/v1/models/fashion-mnist:predict" in proc.stdout
