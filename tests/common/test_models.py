"""chapters.common.models: the book's three model types, layer for layer as the book builds them."""

from __future__ import annotations

import numpy as np
import pytest

from chapters.common.models import MODEL_TYPES, book_learning_rate, build_model
from dmlp.example.errors import UsageError


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_each_model_type_maps_images_to_ten_logits(model_type):
    model = build_model(model_type)
    logits = model.predict(np.zeros((3, 28, 28, 1), np.float32), verbose=0)
    assert logits.shape == (3, 10)
    layers = {type(layer).__name__ for layer in model.layers}
    assert ("Dropout" in layers) == (model_type == "dropout")
    assert ("BatchNormalization" in layers) == (model_type == "batch_norm")


# The book's chapter 9 code (multi-worker-distributed-training.py), written out as (layer, detail):
# Conv2D (filters, kernel, activation), MaxPooling2D (pool), Dropout (rate), Dense (units, act).
CONVS = [
    ("Conv2D", 32, (3, 3), "relu"),
    ("Conv2D", 64, (3, 3), "relu"),
    ("Conv2D", 64, (3, 3), "relu"),
]
POOL = ("MaxPooling2D", (2, 2))
HEAD = [("Flatten",), ("Dense", 64, "relu"), ("Dense", 10, "linear")]  # logits: see models.py
BOOK = {
    "cnn": [CONVS[0], POOL, CONVS[1], POOL, CONVS[2], *HEAD],
    "dropout": [CONVS[0], POOL, CONVS[1], POOL, ("Dropout", 0.5), CONVS[2], *HEAD],
    "batch_norm": [
        CONVS[0], ("BatchNormalization",), ("Activation", "sigmoid"), POOL,
        CONVS[1], ("BatchNormalization",), ("Activation", "sigmoid"), POOL,
        CONVS[2], *HEAD,
    ],
}  # fmt: skip


def describe(layer) -> tuple:
    """A layer as the book's list names it: its type and the settings the book gives."""
    kind, c = type(layer).__name__, layer.get_config()
    detail = {
        "Conv2D": lambda: (c["filters"], tuple(c["kernel_size"]), c["activation"]),
        "MaxPooling2D": lambda: (tuple(c["pool_size"]),),
        "Dropout": lambda: (c["rate"],),
        "Dense": lambda: (c["units"], c["activation"]),
        "Activation": lambda: (c["activation"],),
    }.get(kind, tuple)
    return (kind, *detail())


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_each_model_is_the_books_layer_for_layer(model_type):
    model = build_model(model_type, compile=False)
    assert [describe(layer) for layer in model.layers] == BOOK[model_type]


def test_the_books_step_learning_rate():
    rates = [book_learning_rate(epoch) for epoch in range(10)]
    assert rates == [1e-3] * 3 + [1e-4] * 4 + [1e-5] * 3


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
