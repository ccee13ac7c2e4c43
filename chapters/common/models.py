"""The book's three Keras models for Fashion-MNIST (introduced in chapter 3, used in ch04-ch09).

Chapter 9's project trains three variants side by side and keeps the best. They are the book's
own (its ``multi-worker-distributed-training.py``), layer for layer:

* ``cnn``: Conv2D(32, 3x3, relu), MaxPool 2x2, Conv2D(64, 3x3, relu), MaxPool 2x2,
  Conv2D(64, 3x3, relu), Flatten, Dense(64, relu), Dense(10);
* ``dropout``: the same, with Dropout(0.5) after the second MaxPool;
* ``batch_norm``: BatchNormalization then a sigmoid Activation after each of the first two
  convolutions (which keep their relu), the rest as ``cnn``.

One difference, on purpose: the last layer outputs 10 logits instead of softmax probabilities, and
the loss is computed ``from_logits`` (numerically steadier; the served signature of
:mod:`chapters.common.export` applies the softmax). The book compiles each with Adam and sparse
categorical cross-entropy and trains with a step learning rate, :func:`book_learning_rate`.

All take float32 images in [0, 1] of shape (28, 28, 1) (see ``data.normalize``). Built with
``tf.keras`` which, thanks to ``tf_setup``, is Keras 2 (``tf-keras``).
"""

from __future__ import annotations

from chapters.common.data import IMAGE_SHAPE, NUM_CLASSES
from dmlp.example import tf_setup  # noqa: F401  (TF_USE_LEGACY_KERAS before TensorFlow)
from dmlp.example.errors import UsageError

MODEL_TYPES = ("cnn", "dropout", "batch_norm")
DROPOUT_RATE = 0.5


def book_learning_rate(epoch: int) -> float:
    """The book's step schedule: 1e-3 for epochs 0-2, 1e-4 for epochs 3-6, 1e-5 after."""
    return 1e-3 if epoch < 3 else 1e-4 if epoch < 7 else 1e-5


def build_model(
    model_type: str = "cnn",
    *,
    learning_rate: float = 1e-3,
    legacy_optimizer: bool = False,
    compile: bool = True,
    filters: int = 32,
    dense_units: int = 64,
    steps_per_execution: int = 1,
    batch_norm_momentum: float = 0.99,
):
    """Build (and by default compile) one of :data:`MODEL_TYPES`.

    ``batch_norm_momentum`` is how much of its moving mean and variance a BatchNormalization layer
    keeps at each step (Keras's and the book's 0.99). Inference uses those moving statistics,
    which start at mean 0 and variance 1: after n steps ``0.99**n`` of that start is left, and
    the variance of these convolutions' outputs is about 1e-4, so a few hundred steps leave an
    inference-time variance dominated by the start. Short laptop runs pass 0.9 (the project's
    sizes do; see its README).

    ``filters`` is the first convolution's width (the book's 32; the other two have twice as
    many) and ``dense_units`` the hidden dense layer's (the book's 64): chapter 6 shrinks both to
    train in a second. ``legacy_optimizer`` selects ``tf.keras.optimizers.legacy.Adam``, which
    ``ParameterServerStrategy`` needs. ``steps_per_execution`` runs that many training steps per
    call into TensorFlow (less Python overhead per step; chapter 3). Call inside
    ``strategy.scope()`` for distributed training.
    """
    import tensorflow as tf

    if model_type not in MODEL_TYPES:
        raise UsageError(f"unknown model type {model_type!r}; valid: {', '.join(MODEL_TYPES)}")
    layers = tf.keras.layers

    def conv(width: int) -> list:
        block = [layers.Conv2D(width, (3, 3), activation="relu")]
        if model_type == "batch_norm":
            block += [
                layers.BatchNormalization(momentum=batch_norm_momentum),
                layers.Activation("sigmoid"),
            ]
        return block

    stack = [layers.Input(shape=IMAGE_SHAPE, name="image")]
    stack += conv(filters) + [layers.MaxPooling2D((2, 2))]
    stack += conv(2 * filters) + [layers.MaxPooling2D((2, 2))]
    if model_type == "dropout":
        stack += [layers.Dropout(DROPOUT_RATE)]
    stack += [layers.Conv2D(2 * filters, (3, 3), activation="relu"), layers.Flatten()]
    stack += [
        layers.Dense(dense_units, activation="relu"),
        layers.Dense(NUM_CLASSES, name="logits"),
    ]
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
