"""Request bodies in, model input out; model output in, answers out (chapter 4's protocol).

Plain NumPy/Pillow, testable without a server. A whole request is converted and checked in one
vectorised step (``np.asarray`` over every instance at once); only when that finds a problem is
each instance looked at on its own, to say which one is wrong (``instances[3]: ...``). Bad input
raises :class:`BadRequest` (HTTP 400) or :class:`TooLarge` (HTTP 413); nothing else escapes.

Model input is what the exported signature takes (:mod:`chapters.common.export`): float32
``[N, 28, 28]`` raw pixel values in [0, 255].
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
from typing import Any

import numpy as np

from chapters.common.data import CLASS_NAMES

ACCEPTED_SHAPES = ((28, 28), (28, 28, 1), (784,))
DEFAULT_MAX_INSTANCES = 256
V2_HEADER = "inference-header-content-length"  # the V2 binary tensor extension's header


class BadRequest(ValueError):
    """The payload is malformed: HTTP 400."""


class TooLarge(ValueError):
    """The payload is too big (instances or bytes): HTTP 413."""


# ---------------------------------------------------------------------------- V1 instances


def parse_instances(payload: Any, max_instances: int = DEFAULT_MAX_INSTANCES) -> np.ndarray:
    """A V1 ``{"instances": [...]}`` payload -> float32 pixels ``[N, 28, 28]`` in [0, 255]."""
    if not isinstance(payload, dict):
        raise BadRequest('the body must be a JSON object like {"instances": [...]}')
    if "instances" not in payload:
        raise BadRequest('missing "instances": send {"instances": [<28x28 image>, ...]}')
    instances = payload["instances"]
    if not isinstance(instances, list):
        raise BadRequest('"instances" must be a list of images')
    if not instances:
        raise BadRequest('"instances" is empty: send at least one image')
    if len(instances) > max_instances:
        raise TooLarge(
            f"{len(instances)} instances is more than this server takes at once "
            f"({max_instances}): split the request (see sharded_services)"
        )
    pngs = [i for i, x in enumerate(instances) if isinstance(x, dict)]
    if not pngs:
        batch = _pixel_lists(instances)
        return batch if batch is not None else _explain(instances)
    batch = np.empty((len(instances), 28, 28), np.float32)
    batch[pngs] = [_decode_png(instances[i], f"instances[{i}]") for i in pngs]
    rest = sorted(set(range(len(instances))) - set(pngs))
    if rest:
        lists = _pixel_lists([instances[i] for i in rest])
        batch[rest] = lists if lists is not None else _explain(instances)
    return batch


def _pixel_lists(instances: list) -> np.ndarray | None:
    """Every instance at once; ``None`` if anything is wrong (then :func:`_explain` says what)."""
    try:
        raw = np.asarray(instances)
    except (ValueError, TypeError, OverflowError):  # ragged lists, huge integers
        return None
    if raw.dtype.kind not in "iuf" or raw.shape[1:] not in ACCEPTED_SHAPES:
        return None  # strings, None, objects, booleans alone, wrong shapes
    if not (np.isfinite(raw).all() and raw.min() >= 0 and raw.max() <= 255):
        return None
    if bool in set(map(type, _flatten(instances, raw.ndim - 1))):  # true among numbers
        return None
    return raw.reshape(-1, 28, 28).astype(np.float32)


def _flatten(nested: list, depth: int):
    for _ in range(depth):
        nested = itertools.chain.from_iterable(nested)
    return nested


def _explain(instances: list) -> np.ndarray:
    """Find the first bad instance and raise :class:`BadRequest` naming it."""
    for i, instance in enumerate(instances):
        _check_one(instance, f"instances[{i}]")
    raise BadRequest("the instances are not all the same shape: send 28x28 images")


def _check_one(instance: Any, where: str) -> None:
    if isinstance(instance, dict):
        _decode_png(instance, where)
        return
    if not isinstance(instance, list):
        raise BadRequest(
            f"{where}: expected a 28x28 list of pixel values or "
            f'{{"b64": ...}}, got {type(instance).__name__}'
        )
    try:
        raw = np.asarray(instance)
    except (ValueError, TypeError, OverflowError):
        raw = None
    if raw is None or raw.dtype.kind not in "biuf":
        raise BadRequest(
            f"{where}: pixel values must be numbers in nested lists of equal length (28x28)"
        )
    if raw.shape not in ACCEPTED_SHAPES:
        raise BadRequest(
            f"{where}: shape {list(raw.shape)} is not 28x28 (accepted: "
            "[28, 28], [28, 28, 1] or [784])"
        )
    if raw.dtype.kind == "b" or bool in set(map(type, _flatten(instance, raw.ndim - 1))):
        raise BadRequest(f"{where}: pixel values must be numbers, not booleans")
    _check_range(raw.astype(np.float64), where + ": ")


def _check_range(values: np.ndarray, where: str = "") -> None:
    if not np.isfinite(values).all():
        raise BadRequest(f"{where}pixel values must be finite (no NaN or Infinity)")
    if values.min() < 0 or values.max() > 255:
        raise BadRequest(
            f"{where}pixel values must be in [0, 255], got [{values.min():g}, {values.max():g}]"
        )


def _decode_png(instance: dict, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if set(instance) != {"b64"} or not isinstance(instance["b64"], str):
        raise BadRequest(f'{where}: an image object must be {{"b64": "<base64 PNG>"}}')
    try:
        raw = base64.b64decode(instance["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: b64 is not valid base64") from None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.size != (28, 28):
                raise BadRequest(
                    f"{where}: image is {image.size[0]}x{image.size[1]}, expected 28x28"
                )
            return np.asarray(image.convert("L"), dtype=np.float32)
    except BadRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BadRequest(f"{where}: b64 does not decode to a PNG/JPEG image") from None


# ---------------------------------------------------------------------------- V2 tensors


def parse_tensor(array: np.ndarray, max_instances: int = DEFAULT_MAX_INSTANCES) -> np.ndarray:
    """A V2 (Open Inference Protocol) input tensor -> float32 pixels ``[N, 28, 28]``."""
    if array.ndim < 2 or array.shape[1:] not in ACCEPTED_SHAPES:
        raise BadRequest(
            f"input shape {list(array.shape)} is not [N, 28, 28] (or [N, 28, 28, 1] / [N, 784])"
        )
    if not 1 <= array.shape[0] <= max_instances:
        raise (TooLarge if array.shape[0] else BadRequest)(
            f"batch of {array.shape[0]}: send 1 to {max_instances} images"
        )
    if array.dtype.kind not in "iuf":
        raise BadRequest(f"input datatype must be numeric, got {array.dtype}")
    batch = array.reshape(-1, 28, 28).astype(np.float32)
    _check_range(batch)
    return batch


def v2_binary_body(images: np.ndarray, binary_output: bool = False) -> tuple[bytes, dict[str, str]]:
    """uint8 images as a V2 request with the binary tensor extension: (body, headers).

    The body is a JSON header naming the tensor, then its raw bytes; the header
    ``inference-header-content-length`` says where the JSON ends. With ``binary_output`` the
    request asks for the answer in the same form (``binary_data_output``): read it with
    :func:`read_v2_binary_answer`.
    """
    pixels = np.ascontiguousarray(images, np.uint8).reshape(-1, 28, 28)
    header: dict[str, Any] = {
        "inputs": [
            {
                "name": "images",
                "shape": list(pixels.shape),
                "datatype": "UINT8",
                "parameters": {"binary_data_size": pixels.nbytes},
            }
        ]
    }
    if binary_output:
        header["parameters"] = {"binary_data_output": True}
    text = json.dumps(header).encode()
    return text + pixels.tobytes(), {
        "content-type": "application/octet-stream",
        V2_HEADER: str(len(text)),
    }


def read_v2_binary_answer(body: bytes, headers) -> dict[str, np.ndarray]:
    """A V2 answer -> {output name: array}, read by the kserve SDK's own ``InferResponse``.

    With binary outputs the body is a JSON header (its length in the ``V2_HEADER`` header) followed
    by each output's raw bytes; without that header it is plain V2 JSON.
    """
    from kserve.protocol.infer_type import InferResponse  # the SDK: only callers that need it

    length = int(headers.get(V2_HEADER, len(body)))
    return {o.name: o.as_numpy() for o in InferResponse.from_bytes(body, length).outputs}


# ---------------------------------------------------------------------------- answers


def answers(outputs: dict[str, np.ndarray]) -> list[dict]:
    """The signature's outputs -> ``[{"class_id", "class_name", "probabilities"}, ...]``."""
    class_ids = np.asarray(outputs["class_id"]).tolist()
    probabilities = np.round(np.asarray(outputs["probabilities"], np.float64), 6).tolist()
    return [
        {"class_id": c, "class_name": CLASS_NAMES[c], "probabilities": p}
        for c, p in zip(class_ids, probabilities, strict=True)
    ]


def encode_png(image: np.ndarray) -> str:
    """A uint8 (28, 28[, 1]) image -> base64 PNG text, as a client sends it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8).reshape(28, 28), mode="L").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def to_instances(images: np.ndarray, png: bool = False) -> list:
    """Images (N, 28, 28[, 1]) -> JSON-ready instances (28x28 lists, or b64 PNGs).

    Whole-number pixels are sent as integers (shorter JSON), others as they are.
    """
    if png:
        return [{"b64": encode_png(image)} for image in images]
    pixels = np.asarray(images).reshape(-1, 28, 28)
    if pixels.dtype.kind == "f" and np.array_equal(pixels, np.round(pixels)):
        pixels = pixels.astype(np.int64)
    return pixels.tolist()
