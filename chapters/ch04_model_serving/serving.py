"""KServe set-up shared by every model server of the book (introduced in chapter 4).

Chapter 4's model server and its router are both ``kserve.Model`` subclasses run by the SDK's
REST server. What they share lives here, so each pattern module shows only its model:

* :func:`serve`: register the models and serve them on ``host:port`` (see :func:`bind`), with
  quiet logs unless ``verbose`` (:func:`configure_logs`) and a body-size limit
  (:class:`BodyLimit`);
* :class:`PayloadTooLarge`: raise it from ``predict`` to answer 413.
"""

from __future__ import annotations

import logging
import socket
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import orjson
from fastapi.responses import JSONResponse
from kserve import ModelServer, model_server
from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
from kserve.errors import InvalidInput, ModelNotFound, ModelNotReady
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.infer_type import InferInput, InferRequest, RequestedOutput
from kserve.protocol.rest.server import RESTServer
from kserve.utils.numpy_codec import to_np_dtype

from dmlp.example.errors import UsageError


class PayloadTooLarge(Exception):
    """A request over the server's limits (bytes or images): HTTP 413."""


# ---------------------------------------------------------------------------- serving


def serve(
    models: Sequence,
    settings,
    *,
    errors: dict[type[Exception], int] | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``models`` (loaded ``kserve.Model`` objects) until SIGINT/SIGTERM.

    ``settings`` gives ``host``, ``port``, ``max_body_bytes`` and ``verbose``. ``errors`` maps
    more exception types to HTTP statuses (``PayloadTooLarge`` is 413 already);
    ``on_ready(base_url)`` is called once the port is bound.
    """
    host, port, verbose = settings.host, settings.port, settings.verbose
    configure_logs(verbose)

    app = model_server.app
    for kind, status in {PayloadTooLarge: 413, **(errors or {})}.items():

        async def handler(_request, exc, status=status):
            return JSONResponse(status_code=status, content={"error": str(exc)})

        app.add_exception_handler(kind, handler)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    server = ModelServer(http_port=port, enable_grpc=False, workers=1)
    for model in models:
        model.enable_latency_logging = verbose
        server.register_model(model)
    dataplane = BinaryTensorsAsArrays(model_registry=server.registered_models)
    rest = RESTServer(FASTAPI_APP_IMPORT_STRING, dataplane, server.model_repository_extension, port)
    sockets = [bind(host, port)]
    if on_ready is not None:
        on_ready(f"http://{host if ':' not in host else f'[{host}]'}:{port}")
    rest.run(sockets=sockets)


class BinaryTensorsAsArrays(DataPlane):
    """The SDK's data plane, reading V2 binary tensors straight into NumPy arrays.

    With the Open Inference Protocol's binary tensor extension a request is a JSON header (its
    length in the ``inference-header-content-length`` header) followed by each tensor's raw
    bytes. kserve 0.21 (``InferRequest.from_bytes``) turns those bytes into a Python list of
    numbers, which costs more than the model itself on a batch of images; this subclass
    overrides that one step with ``np.frombuffer``. JSON requests go through the SDK unchanged.
    """

    def decode_inference_request(self, body, headers, model_name):
        json_length = headers.get("inference-header-content-length")
        if not isinstance(body, bytes) or json_length is None:
            return super().decode_inference_request(body, headers, model_name)
        return binary_request(body, json_length, model_name)


def binary_request(body: bytes, json_length: str, model_name: str):
    """A binary-extension V2 body -> ``InferRequest`` whose inputs hold NumPy arrays."""
    try:
        offset = int(json_length)
        header = orjson.loads(body[:offset])
        inputs = []
        for spec in header["inputs"]:
            kind, shape = to_np_dtype(spec["datatype"]), list(spec["shape"])
            if not all(type(d) is int and d >= 0 for d in shape):  # NumPy would infer a -1
                raise ValueError(f"shape {shape}: each dimension must be a whole number >= 0")
            if kind is None:
                raise ValueError(f"unknown datatype {spec['datatype']!r}")
            dtype = np.dtype(kind)
            if "data" in spec:
                data = np.asarray(spec["data"], dtype).reshape(shape)
            else:
                size = int(spec["parameters"]["binary_data_size"])
                data = np.frombuffer(body, dtype, size // dtype.itemsize, offset).reshape(shape)
                offset += size
            inputs.append(InferInput(spec["name"], shape, spec["datatype"], data))
        request_id, parameters = header.get("id"), header.get("parameters")
        outputs = [
            RequestedOutput(o["name"], o.get("parameters")) for o in header.get("outputs", [])
        ]
    except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError) as err:
        raise InvalidInput(f"cannot read the binary request: {type(err).__name__}: {err}") from None
    return InferRequest(
        model_name,
        inputs,
        request_id=request_id,
        parameters=parameters,
        request_outputs=outputs or None,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``.

    Why not an option: kserve 0.21's ``ModelServer`` has no host setting (its ``RESTServer``
    builds its uvicorn config with ``host="0.0.0.0"``), but ``RESTServer.run`` takes sockets
    that are already bound, as the SDK's own multi-process server passes them. Binding here is
    how the server listens on 127.0.0.1 by default (and on 0.0.0.0 in a pod, by flag).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as err:
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets a 413 the client can read.

    The body is read here whether or not ``Content-Length`` is given (a chunked body is counted
    as it arrives). An oversized body is read to its end and dropped before answering, so a
    client still sending reads the 413 instead of a reset connection; past ``drain_bytes``
    the connection is closed instead.
    """

    def __init__(self, app, max_bytes: int, drain_bytes: int | None = None):
        self.app, self.max_bytes = app, max_bytes
        self.drain_bytes = drain_bytes if drain_bytes is not None else max(8 * max_bytes, 64 << 20)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        over = declared.isdigit() and int(declared) > self.max_bytes
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= self.drain_bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            over = over or size > self.max_bytes
            if not over:
                chunks.append(chunk)
        if over:
            message = f"request body over {self.max_bytes} bytes: split it into smaller requests"
            response = JSONResponse(status_code=413, content={"error": message})
            return await response(scope, receive, send)
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


# ---------------------------------------------------------------------------- logs


def configure_logs(verbose: bool) -> None:
    """KServe and uvicorn log only problems by default; ``verbose`` brings back their INFO lines.

    Uses the SDK's own ``kserve.logging.configure_logging`` with a dictionary (the SDK then
    leaves an already configured logger alone). A client's mistake (400, 404, 413, 503 while
    not ready) is one line with ``verbose`` and nothing without; the SDK logs each with a full
    traceback.
    """
    from kserve.logging import configure_logging

    level = "INFO" if verbose else "WARNING"
    names = ("kserve", "kserve.trace", "uvicorn", "uvicorn.error", "uvicorn.access")
    configure_logging(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(name)s %(levelname)s: %(message)s"}},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "plain",
                    "stream": "ext://sys.stderr",
                }
            },
            "loggers": {
                name: {"handlers": ["stderr"], "level": level, "propagate": False} for name in names
            },
        }
    )
    logging.getLogger("kserve").addFilter(ClientErrorsInOneLine(verbose))
    if not verbose:
        from fastapi.exceptions import FastAPIDeprecationWarning

        # The SDK answers with ORJSONResponse, which FastAPI 0.165 deprecates once per route.
        warnings.filterwarnings("ignore", category=FastAPIDeprecationWarning)


class ClientErrorsInOneLine(logging.Filter):
    """Drop (or, verbose, shorten to one line) the SDK's tracebacks for client errors."""

    def __init__(self, verbose: bool):
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, InvalidInput | ModelNotFound | ModelNotReady | PayloadTooLarge):
            if not self.verbose:
                return False
            record.msg, record.args, record.exc_info = f"client error: {exc}", (), None
            record.levelno, record.levelname = logging.INFO, "INFO"
        elif exc is not None and not self.verbose:
            record.msg, record.args = f"{type(exc).__name__}: {exc} (--verbose for more)", ()
            record.exc_info = None
        return True
