"""chapters.common.models: the book's three model types."""

from __future__ import annotations

import numpy as np
import pytest

from chapters.common.models import MODEL_TYPES, build_model
from dmlp.example.errors import UsageError


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_each_model_type_maps_images_to_ten_logits(model_type):
    model = build_model(model_type)
    logits = model.predict(np.zeros((3, 28, 28, 1), np.float32), verbose=0)
    assert logits.shape == (3, 10)
    layers = {type(layer).__name__ for layer in model.layers}
    assert ("Dropout" in layers) == (model_type == "dropout")
    assert ("BatchNormalization" in layers) == (model_type == "batch_norm")


def test_keras_is_keras_2_from_tf_keras():
    import tensorflow as tf
    import tf_keras

    assert tf.keras.Model is tf_keras.Model
    assert tf_keras.__version__.startswith("2.")


def test_unknown_model_type_lists_valid_ones():
    with pytest.raises(
        UsageError, match="unknown model type 'resnet'; valid: cnn, dropout, batch_norm"
    ):
        build_model("resnet")


def test_legacy_optimizer_for_parameter_server():
    import tensorflow as tf

    model = build_model("cnn", legacy_optimizer=True)
    assert isinstance(model.optimizer, tf.keras.optimizers.legacy.Optimizer)
