"""ch04 serving: body limit, binary V2 tensors, quiet logs, binding, the served model."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import numpy as np
import pytest
from kserve.errors import InvalidInput, ModelNotFound

from chapters.ch04_model_serving import serving
from dmlp.example.errors import UsageError


async def body_length(scope, receive, send):
    """A tiny ASGI app: answers with the length of the body it read."""
    size, more = 0, True
    while more:
        message = await receive()
        size, more = size + len(message.get("body", b"")), message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(chunks: list[bytes], length: int | None, max_bytes: int = 1000, drain: int | None = None):
    """Send ``chunks`` through BodyLimit; return (status, body, chunks the middleware read)."""
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    read, sent = [], []

    async def receive():
        index = len(read)
        read.append(index)
        more = index < len(chunks) - 1
        return {"type": "http.request", "body": chunks[index], "more_body": more}

    async def send(message):
        sent.append(message)

    asyncio.run(serving.BodyLimit(body_length, max_bytes, drain)(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, len(read)


def test_body_under_the_limit_reaches_the_app_whole():
    assert call([b"x" * 600, b"x" * 400], 1000) == (200, b"1000", 2)


def test_body_over_the_limit_is_read_to_its_end_then_413():
    status, body, read = call([b"x" * 600] * 5, 3000)
    assert status == 413 and "over 1000 bytes" in json.loads(body)["error"]
    assert read == 5  # drained: a client still sending reads the 413, not a reset


def test_an_absurd_body_is_not_read_forever():
    status, _body, read = call([b"x" * 600] * 100, None, drain=3000)
    assert status == 413 and read == 6  # stops past drain_bytes (the connection then closes)


def test_chunked_body_without_length_is_limited_too():
    assert call([b"x" * 300] * 3, None)[:2] == (200, b"900")
    assert call([b"x" * 300] * 4, None)[0] == 413


def binary(images: np.ndarray, datatype="UINT8", size=None, extra=b"", shape=None):
    header = {
        "inputs": [
            {
                "name": "images",
                "shape": list(images.shape) if shape is None else shape,
                "datatype": datatype,
                "parameters": {"binary_data_size": images.nbytes if size is None else size},
            }
        ]
    }
    text = json.dumps(header).encode()
    return text + images.tobytes() + extra, str(len(text))


def test_binary_request_keeps_arrays_of_every_dtype():
    for dtype, name in ((np.uint8, "UINT8"), (np.float32, "FP32"), (np.int64, "INT64")):
        images = np.arange(2 * 784).reshape(2, 28, 28).astype(dtype)
        request = serving.binary_request(*binary(images, name), "m")
        np.testing.assert_array_equal(request.inputs[0].as_numpy(), images)


@pytest.mark.parametrize(
    "body, length, needle",
    [
        (*binary(np.zeros((2, 28, 28), np.uint8), size=5000), "smaller than requested"),
        (*binary(np.zeros((2, 28, 28), np.uint8), "NOPE"), "unknown datatype"),
        (*binary(np.zeros((2, 28, 28), np.uint8), shape=[-1, 28, 28]), r"shape \[-1, 28, 28\]"),
        (*binary(np.zeros((2, 28, 28), np.uint8), shape=[2, 28, 28.0]), "whole number"),
        (b"{not json", "9", "JSONDecodeError"),
        (b'{"inputs": 3}', "13", "TypeError"),
        (b'{"inputs": [{"name": "x"}]}', "27", "KeyError"),
        (b"{}", "x", "ValueError"),
    ],
)
def test_bad_binary_requests_are_invalid_input(body, length, needle):
    with pytest.raises(InvalidInput, match=needle):
        serving.binary_request(body, length, "m")


def record(exc: Exception) -> logging.LogRecord:
    info = (type(exc), exc, None)
    return logging.LogRecord("kserve", logging.ERROR, "x", 1, "Exception:", (), info)


def test_client_errors_are_silent_by_default_and_one_line_when_verbose():
    quiet, verbose = serving.ClientErrorsInOneLine(False), serving.ClientErrorsInOneLine(True)
    for exc in (InvalidInput("bad"), ModelNotFound("nope"), serving.PayloadTooLarge("big")):
        assert not quiet.filter(record(exc))
        shown = record(exc)
        assert verbose.filter(shown) and shown.exc_info is None and shown.levelno == logging.INFO
    crash = record(RuntimeError("boom"))
    assert quiet.filter(crash) and crash.exc_info is None and "boom" in crash.getMessage()


def test_bind_listens_on_the_host_asked_and_refuses_a_busy_port():
    sock = serving.bind("127.0.0.1", 0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1"
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            serving.bind("127.0.0.1", port)
    finally:
        sock.close()
    assert isinstance(sock, socket.socket)
