"""One served artifact for every server (introduced in chapter 3, served in chapters 4 and 9).

The SavedModel a training job exports carries its own preprocessing in its ``serving_default``
signature, so TF Serving (KServe's TensorFlow runtime, V1 protocol) and this repository's own
KServe server accept the same request body and give the same answer:

* input ``images``: float32 ``[batch, 28, 28]`` raw pixel values in [0, 255] (a V1 request's
  ``instances`` are rows of 28 lists of 28 numbers);
* outputs ``class_id`` (int64 ``[batch]``) and ``probabilities`` (float32 ``[batch, 10]``).

The layout is TF Serving's: ``<model>/<version>/saved_model.pb``, version a positive integer.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from chapters.common.data import IMAGE_SHAPE
from dmlp.example.errors import UsageError

SIGNATURE = "serving_default"
INPUT_NAME = "images"
OUTPUTS = ("class_id", "probabilities")


def serving_signature(model):
    """A ``tf.function`` that takes 0-255 pixels and returns ``class_id`` and ``probabilities``."""
    import tensorflow as tf

    height, width, _channels = IMAGE_SHAPE

    @tf.function(input_signature=[tf.TensorSpec([None, height, width], tf.float32, INPUT_NAME)])
    def serve(images):
        scaled = tf.reshape(images, [-1, *IMAGE_SHAPE]) / 255.0  # the same as data.normalize
        probabilities = tf.nn.softmax(model(scaled, training=False), axis=-1)
        return {"class_id": tf.argmax(probabilities, axis=-1), "probabilities": probabilities}

    return serve


def export_saved_model(model, path: str | os.PathLike) -> Path:
    """Save ``model`` (a Keras model with logits output) with the serving signature at ``path``.

    Under ``MultiWorkerMirroredStrategy`` every worker must call this (the save is collective);
    only the chief's ``path`` is the real one.
    """
    path = Path(path)
    model.save(str(path), signatures={SIGNATURE: serving_signature(model)})
    return path


def load_serving_function(path: str | os.PathLike) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Load an exported SavedModel as TF Serving does and return ``f(images_0_255) -> outputs``."""
    import tensorflow as tf

    path = Path(path)
    if not (path / "saved_model.pb").is_file():
        raise UsageError(
            f"{path} is not a SavedModel version directory (no saved_model.pb); "
            "pass the numbered folder, e.g. out/ch03_collective/saved_model/1"
        )
    loaded = tf.saved_model.load(str(path))
    if SIGNATURE not in loaded.signatures:
        raise UsageError(f"{path} has no {SIGNATURE!r} signature; re-export it with this version")
    signature = loaded.signatures[SIGNATURE]

    def predict(images: np.ndarray) -> dict[str, np.ndarray]:
        batch = np.asarray(images, np.float32).reshape(-1, *IMAGE_SHAPE[:2])
        outputs = signature(**{INPUT_NAME: tf.constant(batch)})
        return {name: outputs[name].numpy() for name in OUTPUTS}

    predict.saved_model = loaded  # keep the object (and its variables) alive with the function
    return predict
