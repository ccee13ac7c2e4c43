"""Run an Argo Workflow built with Hera on this laptop (introduced in chapter 5).

No library runs Argo (or Hera) workflows without a cluster, so this small runner does, for the
features the book's workflow patterns use::

    from dmlp import argo
    result = argo.run(w, arguments={"out": "out/ch05"}, cache_dir="out/ch05/cache")
    result.raise_for_status()          # WorkflowFailed names the failing step and its cause
    for node in result.leaves(): print(node.name, node.phase, node.started, node.finished)

Supported, with Argo v4.1.2's semantics: ``steps`` (groups in sequence, members in parallel)
and ``dag`` (``dependencies``, ``depends``, ``target``, ``failFast``; the DAG's phase read from
its targets' branches); ``withItems``/``withParam`` fan-out and its aggregated outputs; the
workflow's arguments as the entrypoint's; input/output parameters, ``outputs.result`` (a step's
stdout) and artifacts (local files under the run's work dir); ``when``; ``retryStrategy``
(``limit``, ``retryPolicy``, ``backoff``); ``memoize`` (``key``, ``maxAge``; the cache is a JSON
file per cache name under ``cache_dir``, as Argo's is a ConfigMap); ``parallelism`` on the
workflow and on templates; on the project image, script steps (Hera's runner or inline Python),
containers running ``python -m chapters....`` and TFJob resource steps (through the chapter 3
launcher). Anything else, and anything Argo's Workflow schema or its validation refuses, fails
before the run starts with :class:`UnsupportedWorkflow`.

A step runs until it ends or its template's ``activeDeadlineSeconds``, as on Argo (or
``step_timeout`` seconds, if given); every process is killed on error or Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dmlp.argo.cache import MemoCache
from dmlp.argo.engine import Engine
from dmlp.argo.records import (
    ROW_HEADERS,
    NodeRecord,
    WorkflowFailed,
    WorkflowResult,
    print_summary,
)
from dmlp.argo.spec import UnsupportedWorkflow, check, load, workflow_name
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import Settings, option

__all__ = [
    "ROW_HEADERS",
    "MemoCache",
    "NodeRecord",
    "UnsupportedWorkflow",
    "UsageError",
    "WorkflowFailed",
    "WorkflowFlags",
    "WorkflowResult",
    "check",
    "load",
    "run",
    "print_summary",
]


@dataclass(frozen=True)
class WorkflowFlags(Settings):
    """Flags of a command that takes a Workflow YAML file and its arguments (local or cluster)."""

    file: str = option("", "the Workflow YAML file")
    arguments: tuple[str, ...] | None = option(None, "workflow arguments as name=value")

    def check(self) -> None:
        if not self.file or not Path(self.file).is_file():
            raise UsageError(f"--file {self.file!r} is not a file")
        for pair in self.arguments or ():
            if "=" not in pair:
                raise UsageError(f"--arguments: expected name=value, got {pair!r}")

    @property
    def parameters(self) -> dict[str, str]:
        """``--arguments`` as ``{name: value}``, the workflow's parameters to override."""
        return dict(pair.split("=", 1) for pair in self.arguments or ())


def run(
    workflow: Any,
    arguments: dict[str, Any] | None = None,
    *,
    work_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    step_timeout: float | None = None,
    quiet: bool = False,
    echo: bool = False,
) -> WorkflowResult:
    """Run ``workflow`` (Hera ``Workflow``, dict, YAML text or file) and return its record.

    ``arguments`` override the workflow's ``spec.arguments.parameters``. ``work_dir`` keeps each
    step's script, stdout/stderr and artifacts (default: a temporary folder, removed after the
    run). ``step_timeout`` kills a step after that many seconds (Argo has no such limit).
    ``cache_dir`` holds the memoization caches (without it, ``memoize`` never hits).
    ``echo`` shows the steps' own stderr lines. A failed workflow is returned, not raised: call
    ``raise_for_status()``. Unsupported features raise :class:`UnsupportedWorkflow` at once.
    """
    data = load(workflow)
    temporary = work_dir is None
    root = Path(tempfile.mkdtemp(prefix="dmlp-wf-")) if temporary else Path(work_dir)
    try:
        engine = Engine(
            data,
            arguments,
            root,
            Path(cache_dir) if cache_dir is not None else None,
            step_timeout,
            _Log(cli.Progress(workflow_name(data), quiet)),
            echo,
        )
        result = engine.run()
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    engine.log(
        f"workflow {result.phase} in {result.seconds:.1f}s"
        + (f": {result.message}" if result.message and not result.succeeded else "")
    )
    return result


class _Log:
    """Progress lines from many threads, one whole line at a time."""

    def __init__(self, progress: cli.Progress):
        self.progress, self.lock = progress, threading.Lock()

    def __call__(self, message: str) -> None:
        with self.lock:
            self.progress(message)
