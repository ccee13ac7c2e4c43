"""TensorFlow set-up shared by every example (introduced in chapter 2, used by all chapters).

This is the ONE place that decides how TensorFlow is configured:

* ``TF_USE_LEGACY_KERAS=1`` must be set before TensorFlow is imported. Keras 3 (the default
  ``tf.keras`` since TF 2.16) cannot run ``MultiWorkerMirroredStrategy`` or
  ``ParameterServerStrategy`` with ``model.fit`` (chapter 3), so the whole repository uses
  Keras 2 from the ``tf-keras`` package, reached as ``tf.keras``.
* The libraries' own logs are hidden unless ``--verbose`` is given (``DMLP_VERBOSE=1``, which
  the processes an example starts inherit). TensorFlow's C++ start-up lines (absl, "Could not
  find cuda drivers", "failed call to cuInit", oneDNN notices) are written straight to file
  descriptor 2 before any log setting applies, so the import of ``tensorflow`` runs with fd 2
  captured, and only lines that are not such chatter are written back (see :func:`is_noise`).
* oneDNN stays on: it doubles the CPU speed of the book's CNN. A test that needs bit-for-bit
  repeatable maths sets ``TF_ENABLE_ONEDNN_OPTS=0`` for itself.
* Seeds for Python, NumPy and TensorFlow come from one call.

Importing ``chapters.common`` runs the environment part of this module, so any example that
imports a shared helper first gets the right Keras and a quiet start.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import random
import re
import sys
import tempfile

VERBOSE_ENV = "DMLP_VERBOSE"

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING lines once running

if "tensorflow" in sys.modules and os.environ["TF_USE_LEGACY_KERAS"] != "1":
    raise RuntimeError("TF_USE_LEGACY_KERAS must be 1 before TensorFlow is imported")

# What TensorFlow prints on its own while it starts on a machine without a GPU.
_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\)"
    r"|^[IW]\d{4} [\d:.]+ +\d+ [\w.-]+:\d+\]"  # an absl C++ INFO or WARNING line
    r"|^E\d{4} [\d:.]+ +\d+ cuda\w*\.cc:\d+\]"  # "failed call to cuInit" and friends
    r"|^To enable the following instructions: .*rebuild TensorFlow"
)


def is_noise(line: str) -> bool:
    """True for TensorFlow's start-up chatter (absl preamble, CUDA probing, oneDNN notices)."""
    return bool(_NOISE.search(line.strip()))


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV) == "1"


@contextlib.contextmanager
def filtered_stderr():
    """Capture file descriptor 2 (C++ writes too), then write back the lines that are not noise."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr: nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not is_noise(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` inside :func:`filtered_stderr`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        with filtered_stderr():
            self.loader.exec_module(module)
            try:  # the CUDA probe prints here, so inside the filter
                module.config.list_physical_devices()
            except Exception:  # noqa: BLE001 - a device problem shows again on first real use
                pass
        module.__loader__ = module.__spec__.loader = self.loader  # leave no trace of the wrapper


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as usual and hands its import to :class:`_QuietLoader` (once)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or verbose():
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet(verbose: bool = False) -> None:
    """Hide the libraries' Python and C++ logs unless ``verbose`` (inherited by child processes)."""
    os.environ[VERBOSE_ENV] = "1" if verbose else "0"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0" if verbose else "2"
    _log_levels(verbose)


def _log_levels(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.ERROR
    for name in ("tensorflow", "tensorflow_datasets", "h5py"):
        logging.getLogger(name).setLevel(level)
    from absl import logging as absl_logging  # absl comes with TensorFlow

    absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)


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


if "tensorflow" not in sys.modules and not any(
    isinstance(f, _QuietTensorFlow) for f in sys.meta_path
):
    sys.meta_path.insert(0, _QuietTensorFlow())
_log_levels(verbose())
