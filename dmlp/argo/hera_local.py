"""Hera's own script runner, with its fixed pod paths moved into the step's folder (chapter 5).

In a pod, ``python -m hera.workflows.runner -e module:fn ARGS_FILE`` reads input artifacts from
``/tmp/hera-inputs/artifacts/<name>`` and writes annotated outputs to ``/tmp/hera-outputs/...``:
fixed paths, baked into the workflow when the module is imported. Steps running side by side on
one machine must not share them, so the local runner starts this module instead: it moves every
path under ``/tmp/hera-inputs`` or ``/tmp/hera-outputs`` below ``$DMLP_FS_ROOT`` (the step's own
folder, where the runner stages inputs and collects outputs) and then runs Hera's runner as is.
"""

from __future__ import annotations

import os
from pathlib import Path

from hera.workflows import artifact
from hera.workflows._runner import script_annotations_util as annotations
from hera.workflows._runner import util

POD_PATHS = ("/tmp/hera-inputs", "/tmp/hera-outputs")


def local(path) -> Path:
    """``path`` inside the step's folder when it is one of Hera's pod paths, else unchanged."""
    root = os.environ.get("DMLP_FS_ROOT")
    text = str(path)
    if root and text.startswith(POD_PATHS):
        return Path(root) / text.lstrip("/")
    return Path(path)


def _moved(fn):
    def wrapper(*args, **kwargs):
        result = fn(*args, **kwargs)
        if isinstance(result, Path):
            result = local(result)
            result.parent.mkdir(parents=True, exist_ok=True)
        return result

    return wrapper


def _moved_input(fn):
    def wrapper(param_name, annotation):
        if not annotation.output:
            annotation.path = str(local(annotation.path or annotation._get_default_inputs_path()))
        return _moved(fn)(param_name, annotation)

    return wrapper


def install() -> None:
    for name in (
        "_get_outputs_path",
        "get_annotated_output_param",
        "get_annotated_output_artifact",
    ):
        setattr(annotations, name, _moved(getattr(annotations, name)))
    annotations.get_annotated_artifact_value = _moved_input(
        annotations.get_annotated_artifact_value
    )
    for name in ("get_annotated_output_param", "get_annotated_artifact_value"):
        setattr(util, name, getattr(annotations, name))
    root = os.environ.get("DMLP_FS_ROOT")
    if root:
        artifact._DEFAULT_ARTIFACT_INPUT_DIRECTORY = str(local("/tmp/hera-inputs/artifacts")) + "/"


if __name__ == "__main__":
    install()
    util._run()
