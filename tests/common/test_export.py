"""The exported SavedModel answers TF Serving's way: 0-255 pixels in, class ids out."""

from __future__ import annotations

import numpy as np
import pytest

from chapters.common.export import export_saved_model, load_serving_function
from chapters.common.models import build_model
from dmlp.example.errors import UsageError
from dmlp.example.tf_setup import tf as import_tf


def test_signature_preprocesses_and_matches_the_keras_model(tmp_path):
    tf = import_tf(seed=0)
    model = build_model("batch_norm")
    images = np.random.default_rng(0).integers(0, 256, (6, 28, 28)).astype(np.float32)
    serve = load_serving_function(export_saved_model(model, tmp_path / "m" / "1"))
    out = serve(images)
    expected = tf.nn.softmax(model(images.reshape(-1, 28, 28, 1) / 255.0)).numpy()
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)
    np.testing.assert_array_equal(out["class_id"], expected.argmax(axis=1))
    # the same artifact still loads as a Keras model (chapter 3 evaluates it that way)
    assert tf.keras.models.load_model(str(tmp_path / "m" / "1")).name == model.name


def test_a_folder_without_a_saved_model_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="not a SavedModel version directory"):
        load_serving_function(tmp_path)
