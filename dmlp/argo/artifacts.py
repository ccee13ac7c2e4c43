"""A step's files: the pod paths a template declares, its input artifacts and its outputs.

On the cluster a step reads its input artifacts from paths in its pod (``/tmp/data``, a volume
mount) and writes its outputs (artifacts, output parameter files) there too. Here every such
path lives under the step's own folder on this machine: ``local(path)`` is where a pod path
landed. These functions copy the inputs in before the step runs and read the outputs after.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dmlp.example.errors import UsageError

Local = Callable[[str], str]  # a pod path -> where it lives on this machine


def artifact_path(a: dict) -> str:
    """Where a step reads or writes artifact ``a``: its ``path``, else ``/tmp/<name>``."""
    return a.get("path", f"/tmp/{a['name']}")


def declared_paths(t: dict) -> list[str]:
    """Absolute paths the template declares (artifacts, output parameter files), longest first."""
    paths = []
    for io in ("inputs", "outputs"):
        for a in (t.get(io) or {}).get("artifacts") or []:
            if a.get("path", "").startswith("/"):
                paths.append(a["path"])
    for p in (t.get("outputs") or {}).get("parameters") or []:
        path = (p.get("valueFrom") or {}).get("path", "")
        if path.startswith("/"):
            paths.append(path)
    return sorted(set(paths), key=len, reverse=True)


def trim_newline(text: str) -> str:
    """``text`` without one trailing newline, as Argo keeps a result or an output parameter."""
    return text[:-1] if text.endswith("\n") else text


def output_paths(t: dict) -> dict[str, str]:
    """``outputs.artifacts.NAME.path`` and ``outputs.parameters.NAME.path`` of a leaf template,
    its declared pod paths (``SubstituteParams`` in ``workflow/common/util.go``)."""
    outputs = t.get("outputs") or {}
    paths = {
        f"outputs.artifacts.{a['name']}.path": a["path"]
        for a in outputs.get("artifacts") or []
        if a.get("path")
    }
    for p in outputs.get("parameters") or []:
        path = (p.get("valueFrom") or {}).get("path")
        if path:
            paths[f"outputs.parameters.{p['name']}.path"] = path
    return paths


def mover(paths: list[str], local: Local) -> Callable[[str], str]:
    """A function that moves each of the pod ``paths`` written in a text to where it lives here.

    A path counts only as a whole: ``/tmp/p`` in ``/tmp/p``, ``/tmp/p/x`` or ``'/tmp/p'``, not in
    ``/tmp/pytest`` or ``/data/tmp/p``; each is moved once, the longest first.
    """
    if not paths:
        return lambda text: text
    alternatives = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w./-])({alternatives})(?![\w.-])")
    return lambda text: pattern.sub(lambda m: local(m.group(1)), text)


def stage_inputs(t: dict, scope: dict, local: Local) -> None:
    """Copy input artifacts to the paths the step reads them from."""
    for a in (t.get("inputs") or {}).get("artifacts") or []:
        source = scope.get(f"__from.{a['name']}")
        if source:
            copy_artifact(source, local(artifact_path(a)))


def collect_outputs(t: dict, local: Local) -> dict:
    """The output parameters and artifacts the step wrote, as Argo's ``outputs``."""
    out: dict[str, Any] = {}
    declared = t.get("outputs") or {}
    params = {}
    for p in declared.get("parameters") or []:
        value_from = p.get("valueFrom") or {}
        path = value_from.get("path")
        if path is None:
            if "value" in p:
                params[p["name"]] = str(p["value"])
            continue
        file = Path(local(path))  # SaveParameters: one trailing newline off, the default's too
        if file.is_file():
            params[p["name"]] = trim_newline(file.read_text())
        elif "default" in value_from:
            params[p["name"]] = trim_newline(str(value_from["default"]))
        else:
            raise UsageError(f"output parameter {p['name']!r}: the step did not write {path}")
    if params:
        out["parameters"] = params
    artifacts = {}
    for a in declared.get("artifacts") or []:
        file = Path(local(artifact_path(a)))
        if file.exists():
            artifacts[a["name"]] = str(file)
        elif not a.get("optional"):
            raise UsageError(
                f"output artifact {a['name']!r}: the step did not write {a.get('path')}"
            )
    if artifacts:
        out["artifacts"] = artifacts
    return out


def copy_artifact(source: str, target: str) -> None:
    """Put an artifact (file or folder) where a step reads it."""
    src, dst = Path(source), Path(target)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    elif src.is_file():
        shutil.copy2(src, dst)
    else:
        raise UsageError(f"artifact {source} does not exist")
