"""Turning request payloads into model input, and logits into answers (chapter 4).

Everything here is plain NumPy/Pillow so it can be tested without a server. Bad input raises
:class:`BadRequest` (HTTP 400) or :class:`TooLarge` (HTTP 413) with a message that says what is
wrong and where (``instances[3]: ...``); nothing else escapes for a bad payload.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np

from chapters.common.data import CLASS_NAMES

ACCEPTED_SHAPES = ((28, 28), (28, 28, 1), (784,))
DEFAULT_MAX_INSTANCES = 256


class BadRequest(ValueError):
    """The payload is malformed: HTTP 400."""


class TooLarge(ValueError):
    """The payload is too big (instances or bytes): HTTP 413."""


def _pixels(instance: Any, where: str) -> np.ndarray:
    """One instance -> float32 (28, 28, 1) in [0, 1]."""
    if isinstance(instance, dict):
        if set(instance) != {"b64"} or not isinstance(instance["b64"], str):
            raise BadRequest(f'{where}: an image object must be {{"b64": "<base64 PNG>"}}')
        return _decode_png(instance["b64"], where)
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
    array = raw.astype(np.float64)
    if array.shape not in ACCEPTED_SHAPES:
        raise BadRequest(
            f"{where}: shape {list(array.shape)} is not 28x28 (accepted: "
            "[28, 28], [28, 28, 1] or [784])"
        )
    if raw.dtype.kind == "b" or _has_bool(instance):
        raise BadRequest(f"{where}: pixel values must be numbers, not booleans")
    if not np.isfinite(array).all():
        raise BadRequest(f"{where}: pixel values must be finite (no NaN or Infinity)")
    if array.min() < 0 or array.max() > 255:
        raise BadRequest(
            f"{where}: pixel values must be in [0, 255], got [{array.min():g}, {array.max():g}]"
        )
    return (array.reshape(28, 28, 1) / 255.0).astype(np.float32)


def _has_bool(nested: Any) -> bool:
    if isinstance(nested, bool):
        return True
    return isinstance(nested, list) and any(_has_bool(x) for x in nested[:784])


def _decode_png(text: str, where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: b64 is not valid base64") from None
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.size != (28, 28):
                raise BadRequest(
                    f"{where}: image is {image.size[0]}x{image.size[1]}, expected 28x28"
                )
            gray = np.asarray(image.convert("L"), dtype=np.float32)
    except BadRequest:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise BadRequest(f"{where}: b64 does not decode to a PNG/JPEG image") from None
    return (gray / 255.0)[..., None]


def parse_instances(payload: Any, max_instances: int = DEFAULT_MAX_INSTANCES) -> np.ndarray:
    """A V1 ``{"instances": [...]}`` payload -> float32 batch (N, 28, 28, 1)."""
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
    return np.stack([_pixels(x, f"instances[{i}]") for i, x in enumerate(instances)])


def parse_tensor(array: np.ndarray, max_instances: int = DEFAULT_MAX_INSTANCES) -> np.ndarray:
    """A V2 (Open Inference Protocol) input tensor -> float32 batch (N, 28, 28, 1)."""
    if array.ndim < 2 or array.shape[1:] not in ACCEPTED_SHAPES:
        raise BadRequest(
            f"input shape {list(array.shape)} is not [N, 28, 28] (or [N, 28, 28, 1] / [N, 784])"
        )
    if not 1 <= array.shape[0] <= max_instances:
        raise (TooLarge if array.shape[0] else BadRequest)(
            f"batch of {array.shape[0]}: send 1 to {max_instances} images"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise BadRequest(f"input datatype must be numeric, got {array.dtype}")
    values = array.astype(np.float64)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
        raise BadRequest("pixel values must be finite numbers in [0, 255]")
    return (values.reshape(-1, 28, 28, 1) / 255.0).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def answers(logits: np.ndarray) -> list[dict]:
    """Logits (N, 10) -> ``[{"class_id", "class_name", "probabilities"}, ...]``."""
    probabilities = softmax(np.asarray(logits, dtype=np.float64))
    out = []
    for row in probabilities:
        class_id = int(np.argmax(row))
        out.append(
            {
                "class_id": class_id,
                "class_name": CLASS_NAMES[class_id],
                "probabilities": [round(float(p), 6) for p in row],
            }
        )
    return out


def encode_png(image: np.ndarray) -> str:
    """A uint8 (28, 28[, 1]) image -> base64 PNG text, as a client sends it."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8).reshape(28, 28), mode="L").save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def to_instances(images: np.ndarray, png: bool = False) -> list:
    """uint8 images (N, 28, 28, 1) -> JSON-ready instances (nested lists, or b64 PNGs)."""
    if png:
        return [{"b64": encode_png(image)} for image in images]
    return np.asarray(images).reshape(-1, 28, 28).astype(int).tolist()
