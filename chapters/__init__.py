"""Runnable companion code for *Distributed Machine Learning Patterns*: one package per chapter.

Before anything else, check that the project's third-party packages can be found: run without the
virtual environment, an example would otherwise stop with a bare ``ModuleNotFoundError``. Then
tell the library's report (:mod:`dmlp.example.report`) how an example cites the book, so the
library never has to import the book.
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

from chapters.common.sections import reference  # noqa: E402  (after the check above)
from dmlp.example import report  # noqa: E402

report.cite_with(reference)
