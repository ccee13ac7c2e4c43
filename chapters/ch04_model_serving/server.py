"""Chapter 4, section 4.1 "What is model serving?": the model server the patterns of 4.2-4.4 run.

A ``kserve.Model`` that serves the exported SavedModel's ``serving_default`` signature (0-255
pixels in, ``class_id`` and ``probabilities`` out), so the same request body gets the same
answer here and from TF Serving (KServe's TensorFlow runtime), and the same program is a KServe
custom predictor in the cluster:

* GET  /v1/models/fashion-mnist           readiness: {"name": "fashion-mnist", "ready": true}
* POST /v1/models/fashion-mnist:predict   {"instances": [<28x28 pixel rows> or {"b64": PNG}]}
  -> {"predictions": [{"class_id", "class_name", "probabilities"}, ...]}
* POST /v2/models/fashion-mnist/infer     Open Inference Protocol, JSON or binary tensors
* GET  /  (liveness), GET /metrics (Prometheus), both from the SDK

Claim: bad input never earns a 5xx: malformed JSON, wrong shapes or types, NaN, empty or
oversized requests and undecodable images get a 4xx naming the problem, and the next good
request is served.

Run: python -m chapters.ch04_model_serving.server [--model-dir out/ch03_collective/saved_model/1]
     [--port 8080]    (without --model-dir it trains a small model once into OUT/model/1)
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid

import kserve
import numpy as np
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse

from chapters.ch04_model_serving import inference, serving
from chapters.ch04_model_serving.inference import BadRequest, TooLarge
from chapters.ch04_model_serving.served import ListenSettings, ModelSettings
from chapters.common.export import load_serving_function
from dmlp.example import cli
from dmlp.example.settings import option


class FashionMNISTModel(kserve.Model):
    """The SavedModel's serving signature behind KServe's V1 and V2 endpoints."""

    def __init__(self, name: str, model_dir: str, max_instances: int):
        super().__init__(name)
        self.model_dir, self.max_instances = model_dir, max_instances

    def load(self) -> bool:
        self.signature = load_serving_function(self.model_dir)  # as TF Serving loads it
        self.signature(np.zeros((1, 28, 28), np.float32))  # the first call is slow: not a client's
        self.ready = True
        return self.ready

    async def predict(self, payload, headers=None, response_headers=None):
        images = read_images(payload, self.max_instances)  # a 4xx for anything malformed
        # TensorFlow runs in a thread (it releases the GIL): the server reads the next request.
        outputs = await asyncio.to_thread(self.signature, images)  # class_id, probabilities
        if isinstance(payload, InferRequest):  # V2 in, V2 out: one tensor per output
            ids, probabilities = outputs["class_id"], outputs["probabilities"]
            tensors = [
                InferOutput("class_id", list(ids.shape), "INT64", ids),
                InferOutput("probabilities", list(probabilities.shape), "FP32", probabilities),
            ]
            return InferResponse(  # binary outputs when the request asks (binary_data_output)
                payload.id or str(uuid.uuid4()),
                self.name,
                tensors,
                use_binary_outputs=payload.use_binary_outputs,
                requested_outputs=payload.request_outputs,
            )
        return {"predictions": inference.answers(outputs)}


def read_images(payload, max_instances: int) -> np.ndarray:
    """A V1 or V2 request's images as float32 [N, 28, 28] in 0-255; a 4xx for anything else."""
    try:
        if isinstance(payload, InferRequest):
            if len(payload.inputs) != 1:
                raise BadRequest("send exactly one input tensor of images")
            return inference.parse_tensor(payload.inputs[0].as_numpy(), max_instances)
        if isinstance(payload, bytes | bytearray):  # a V1 body sent without a JSON type
            payload = decode_json(payload)
        return inference.parse_instances(payload, max_instances)
    except TooLarge as err:
        raise serving.PayloadTooLarge(str(err)) from None
    except BadRequest as err:
        raise InvalidInput(str(err)) from None
    except (ValueError, TypeError) as err:  # a V2 tensor whose data does not fit its shape
        raise InvalidInput(f"cannot read the input tensor: {err}") from None


def decode_json(body: bytes):
    import orjson

    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"the body is not valid JSON: {err}") from None


@dataclasses.dataclass(frozen=True)
class Settings(ModelSettings, ListenSettings):
    max_instances: int = option(
        inference.DEFAULT_MAX_INSTANCES, "most images per request; more is a 413", minimum=1
    )


def main(settings: Settings) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM)."""
    from dmlp.example.tf_setup import quiet

    quiet(settings.verbose)
    log = cli.Progress(f"server:{settings.port}")
    path = settings.model(log)
    model = FashionMNISTModel(settings.model_name, str(path), settings.max_instances)
    model.load()

    def ready(base: str) -> None:
        log(f"serving {path} as {settings.model_name!r} (pid {os.getpid()}, Ctrl-C stops)")
        log(f"ready: {base}/v1/models/{settings.model_name}")
        log("book section 4.1: the model server that sections 4.2-4.4 replicate, shard and queue")

    serving.serve(
        [model],
        settings,
        on_ready=ready,
    )
    log("stopped")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
