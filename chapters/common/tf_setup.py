"""TensorFlow set-up shared by every example (introduced in chapter 2, used by all chapters).

This is the ONE place that decides how TensorFlow is configured:

* ``TF_USE_LEGACY_KERAS=1`` must be set before TensorFlow is imported. Keras 3 (the default
  ``tf.keras`` since TF 2.16) cannot run ``MultiWorkerMirroredStrategy`` or
  ``ParameterServerStrategy`` with ``model.fit`` (chapter 3), so the whole repository uses
  Keras 2 from the ``tf-keras`` package, reached as ``tf.keras``.
* TensorFlow's C++ logs are quiet unless ``--verbose`` is given.
* Seeds for Python, NumPy and TensorFlow come from one call.

Importing ``chapters.common`` runs the environment part of this module, so any example that
imports a shared helper first gets the right Keras.
"""

from __future__ import annotations

import logging
import os
import random

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide INFO and WARNING lines from C++
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # bit-for-bit repeatable CPU maths

if "tensorflow" in __import__("sys").modules and os.environ["TF_USE_LEGACY_KERAS"] != "1":
    raise RuntimeError("TF_USE_LEGACY_KERAS must be 1 before TensorFlow is imported")


def quiet(verbose: bool = False) -> None:
    """Silence TensorFlow's Python and absl logs unless ``verbose``."""
    level = logging.INFO if verbose else logging.ERROR
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbose else "2"
    for name in ("tensorflow", "absl", "tensorflow_datasets", "h5py"):
        logging.getLogger(name).setLevel(level)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass


def tf(verbose: bool = False, seed: int | None = None):
    """Import and return TensorFlow, configured (quiet logs, optional seeds)."""
    quiet(verbose)
    import tensorflow as tensorflow_module

    tensorflow_module.get_logger().setLevel(logging.INFO if verbose else logging.ERROR)
    if seed is not None:
        set_seed(seed)
    return tensorflow_module


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call."""
    import numpy as np
    import tensorflow as tensorflow_module

    random.seed(seed)
    np.random.seed(seed)
    tensorflow_module.random.set_seed(seed)
