"""Chapter 4, section 4.2: the model server every serving pattern in the chapter replicates.

A Fashion-MNIST classifier behind the KServe / TF-Serving V1 REST protocol, built on the
``kserve`` SDK's ``Model`` and ``ModelServer`` (the runtime KServe runs for custom predictors), so
the same container is a KServe predictor in the cluster:

* ``GET  /v1/models/<name>``          -> ``{"name": ..., "ready": true}`` (readiness)
* ``POST /v1/models/<name>:predict``  with ``{"instances": [<28x28 pixel lists> | {"b64": PNG}]}``
  -> ``{"predictions": [{"class_id", "class_name", "probabilities"}, ...]}``
* ``POST /v2/models/<name>/infer``   (Open Inference Protocol), ``GET /`` (liveness),
  ``GET /metrics`` (Prometheus), all from the SDK.

Claim: bad input never crashes the server or earns a 5xx: malformed JSON, wrong shapes, types,
NaN, empty or oversized requests and undecodable images get a 4xx with a JSON message naming the
problem, and the next good request is served.

Run: python -m chapters.ch04_model_serving.server [--model-dir out/ch03_collective/saved_model]
     [--port 8080]    (without a model, it trains a small one first and saves it)
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from chapters.ch04_model_serving.inference import (
    DEFAULT_MAX_INSTANCES,
    BadRequest,
    TooLarge,
    answers,
    parse_instances,
    parse_tensor,
)
from chapters.common import cli

DEFAULT_MODEL_NAME = "fashion-mnist"
DEFAULT_MAX_BODY_BYTES = 8 << 20


def ensure_model(
    model_dir: str | None,
    out: str,
    dataset: str = "auto",
    data_dir: str | None = None,
    train_steps: int = 300,
    seed: int = 42,
    log=print,
) -> Path:
    """The SavedModel to serve: ``model_dir`` if given, else train a small one into ``out``."""
    if model_dir:
        path = Path(model_dir)
        if not (path / "saved_model.pb").exists() and not (path / "keras_metadata.pb").exists():
            raise cli.UsageError(
                f"--model-dir {model_dir}: no SavedModel there (train one with "
                "chapter 3, or leave --model-dir out to train a small one)"
            )
        return path
    path = Path(out) / "model"
    if (path / "saved_model.pb").exists():
        return path
    from chapters.common.data import load_fashion_mnist, normalize
    from chapters.common.models import build_model
    from chapters.common.tf_setup import tf as import_tf

    import_tf(seed=seed)
    log(f"no --model-dir: training a small CNN for {train_steps} steps into {path}")
    train = load_fashion_mnist("train", dataset, data_dir, 10_000, seed)
    model = build_model("cnn")
    data = train.to_dataset().map(normalize).shuffle(10_000, seed=seed).repeat().batch(64)
    model.fit(data, steps_per_epoch=train_steps, epochs=1, verbose=0)
    model.save(str(path))
    return path


def add_model_dir_flag(p) -> None:
    """``--model-dir``, shared by every chapter 4 example that runs the model."""
    p.add_argument(
        "--model-dir",
        default=None,
        help="SavedModel to serve, e.g. out/ch03_collective/saved_model/1 "
        "(default: train a small one into OUT/model)",
    )


def build_kserve_model(name: str, model_dir: Path, max_instances: int):
    """The ``kserve.Model`` subclass, built lazily so importing this module stays cheap."""
    import kserve
    import numpy as np
    import tensorflow as tf
    from kserve.errors import InvalidInput
    from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

    class FashionMNISTModel(kserve.Model):
        def __init__(self):
            super().__init__(name)
            self.model = None
            self.max_instances = max_instances

        def load(self) -> bool:
            keras_model = tf.keras.models.load_model(str(model_dir))
            self.infer = tf.function(lambda x: keras_model(x, training=False))
            self.infer(np.zeros((1, 28, 28, 1), np.float32))  # trace once before "ready"
            self.model = keras_model
            self.ready = True
            return self.ready

        def logits(self, batch: np.ndarray) -> np.ndarray:
            return self.infer(batch).numpy()

        def predict(self, payload, headers=None, response_headers=None):
            try:
                if isinstance(payload, bytes | bytearray):  # a body sent without a JSON type
                    payload = decode_json(payload)
                if isinstance(payload, InferRequest):
                    if len(payload.inputs) != 1:
                        raise BadRequest("send exactly one input tensor of images")
                    batch = parse_tensor(payload.inputs[0].as_numpy(), self.max_instances)
                else:
                    batch = parse_instances(payload, self.max_instances)
            except TooLarge as err:
                raise PayloadTooLarge(str(err)) from None
            except BadRequest as err:
                raise InvalidInput(str(err)) from None
            except (ValueError, TypeError) as err:  # V2 tensors the SDK could not decode
                raise InvalidInput(f"cannot read the input tensor: {err}") from None
            logits = self.logits(batch)
            if isinstance(payload, InferRequest):
                probs = answers(logits)
                output = InferOutput(
                    "probabilities",
                    [len(probs), 10],
                    "FP32",
                    np.asarray([p["probabilities"] for p in probs], np.float32),
                )
                return InferResponse(payload.id or str(uuid.uuid4()), self.name, [output])
            return {"predictions": answers(logits)}

    return FashionMNISTModel()


class PayloadTooLarge(Exception):
    """Raised for requests over the size limits; answered 413."""


def decode_json(body: bytes):
    import json

    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"the body is not valid JSON: {err}") from None


class OneLineClientErrors(logging.Filter):
    """The SDK logs a full traceback for every 400; a client's mistake deserves one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from kserve.errors import InvalidInput

        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, InvalidInput | PayloadTooLarge):
            record.msg, record.args, record.exc_info = f"bad request: {exc}", (), None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def install_limits(max_body_bytes: int, host: str) -> None:
    """Add a body-size limit (413), a 413 handler, and bind address to the SDK's app."""
    from fastapi.responses import JSONResponse
    from kserve import model_server
    from kserve.protocol.rest import server as rest

    app = model_server.app

    async def too_large(_request, exc):
        return JSONResponse(status_code=413, content={"error": str(exc)})

    app.add_exception_handler(PayloadTooLarge, too_large)

    class BodyLimit:
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                length = dict(scope.get("headers", [])).get(b"content-length")
                if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
                    response = JSONResponse(
                        status_code=413,
                        content={"error": f"request body over {max_body_bytes} bytes: split it"},
                    )
                    return await response(scope, receive, send)
            return await self.inner(scope, receive, send)

    app.add_middleware(BodyLimit)
    original = rest.RESTServer.__init__

    def bind(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.config.host = host

    rest.RESTServer.__init__ = bind


def main(
    port: int = 8080,
    host: str = "0.0.0.0",
    model_dir: str | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    max_instances: int = DEFAULT_MAX_INSTANCES,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    train_steps: int = 300,
    dataset: str = "auto",
    data_dir: str | None = None,
    num_examples: int | None = None,
    out: str = "out/ch04",
    seed: int = 42,
    verbose: bool = False,
) -> None:
    """Serve until stopped (SIGTERM / Ctrl-C)."""
    from chapters.common.tf_setup import quiet

    quiet(verbose)
    log = cli.Progress(f"server:{port}")
    path = ensure_model(model_dir, out, dataset, data_dir, train_steps, seed, log)
    import kserve

    for name in ("kserve", "uvicorn", "uvicorn.access", "kserve.trace"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("kserve").addFilter(OneLineClientErrors())
    install_limits(max_body_bytes, host)
    model = build_kserve_model(model_name, path, max_instances)
    model.load()
    log(
        f"serving {path} as '{model_name}' on http://{host}:{port}/v1/models/{model_name} "
        f"(pid {os.getpid()})"
    )
    kserve.ModelServer(http_port=port, enable_grpc=False, workers=1).start([model])


def build_parser():
    p = cli.parser(__doc__, out="out/ch04")
    p.add_argument("--port", type=cli.positive_int, default=8080, help="HTTP port (default: 8080)")
    p.add_argument(
        "--host", default="0.0.0.0", help="address to bind (default: all; tests use 127.0.0.1)"
    )
    add_model_dir_flag(p)
    p.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="name in the URL")
    p.add_argument(
        "--max-instances",
        type=cli.positive_int,
        default=DEFAULT_MAX_INSTANCES,
        help=f"most images per request; more is a 413 (default: {DEFAULT_MAX_INSTANCES})",
    )
    p.add_argument(
        "--max-body-bytes",
        type=cli.positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest request body; more is a 413 (default: 8 MiB)",
    )
    p.add_argument(
        "--train-steps",
        type=cli.positive_int,
        default=300,
        help="steps for the fallback model when --model-dir is not given",
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
