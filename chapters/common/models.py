"""The book's three Keras models for Fashion-MNIST (introduced in chapter 3, used in ch04-ch09).

Chapter 7's project trains three variants side by side and keeps the best:

* ``cnn``: convolution + max-pooling + a dense head, the baseline.
* ``dropout``: the baseline with dropout before the classifier (regularisation).
* ``batch_norm``: the baseline with batch normalisation after the convolution.

All take float32 images in [0, 1] of shape (28, 28, 1) (see ``data.normalize``) and output
10 logits. Built with ``tf.keras`` which, thanks to ``tf_setup``, is Keras 2 (``tf-keras``).
"""

from __future__ import annotations

from chapters.common.data import IMAGE_SHAPE, NUM_CLASSES
from dmlp.example import tf_setup  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from dmlp.example.errors import UsageError

MODEL_TYPES = ("cnn", "dropout", "batch_norm")


def build_model(
    model_type: str = "cnn",
    *,
    learning_rate: float = 1e-3,
    legacy_optimizer: bool = False,
    compile: bool = True,
    filters: int = 32,
    dense_units: int = 64,
    steps_per_execution: int = 1,
):
    """Build (and by default compile) one of :data:`MODEL_TYPES`.

    ``legacy_optimizer`` selects ``tf.keras.optimizers.legacy.Adam``, which
    ``ParameterServerStrategy`` needs. ``steps_per_execution`` runs that many training steps per
    call into TensorFlow (less Python overhead per step; chapter 3). Call inside
    ``strategy.scope()`` for distributed training.
    """
    import tensorflow as tf

    if model_type not in MODEL_TYPES:
        raise UsageError(f"unknown model type {model_type!r}; valid: {', '.join(MODEL_TYPES)}")
    layers = tf.keras.layers
    stack = [layers.Input(shape=IMAGE_SHAPE, name="image")]
    if model_type == "batch_norm":
        stack += [
            layers.Conv2D(filters, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]
    else:
        stack += [layers.Conv2D(filters, 3, activation="relu")]
    stack += [layers.MaxPooling2D(), layers.Flatten(), layers.Dense(dense_units, activation="relu")]
    if model_type == "dropout":
        stack += [layers.Dropout(0.3)]
    stack += [layers.Dense(NUM_CLASSES, name="logits")]
    model = tf.keras.Sequential(stack, name=f"fashion_mnist_{model_type}")
    if compile:
        optimizers = tf.keras.optimizers.legacy if legacy_optimizer else tf.keras.optimizers
        model.compile(
            optimizer=optimizers.Adam(learning_rate=learning_rate),
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )
    return model
