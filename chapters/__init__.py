"""Runnable companion code for *Distributed Machine Learning Patterns*: one package per chapter.

Before anything else, check that the project's third-party packages can be found: run without the
virtual environment, an example would otherwise stop with a bare ``ModuleNotFoundError``. Then
import :mod:`chapters.common`, which sets TensorFlow's environment and tells the report how to cite
the book, so that every example, even one that uses no shared helper, ends with its section's title.
"""

import importlib.util
import sys

# Import names of the packages every example needs (pyproject.toml lists their distributions).
_NEEDED = ("numpy", "tensorflow", "tf_keras", "tensorflow_datasets", "psutil", "matplotlib")

_missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
if _missing:
    raise SystemExit(
        f"dmlp: {', '.join(_missing)} not found for {sys.executable}: "
        "run `make install` and activate .venv (source .venv/bin/activate)"
    )

import chapters.common  # noqa: E402,F401  (TensorFlow's environment, the book's citations)
