"""Chapter 5: write the Argo Workflow YAML of every chapter 5 workflow from its Hera definition.

Each pattern module defines its workflow once, in Python; this writes ``manifests/ch05/<name>.yaml``
with ``Workflow.to_yaml()``. ``--check`` (the default) only compares and fails when a committed
file differs from what the code generates; ``--write`` rewrites the files.

Run: python -m chapters.ch05_workflows.manifests [--write]
"""

from pathlib import Path

from dmlp.example import cli
from dmlp.kube import generated
from dmlp.kube.generated import Flags

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = ROOT / "manifests" / "ch05"


def workflows() -> dict[str, tuple[str, object]]:
    """``file name -> (module, Hera Workflow)`` for every chapter 5 workflow."""
    from chapters.ch05_workflows import fan_in_fan_out, memoization, sync_async

    return {
        "fan-in-fan-out.yaml": (fan_in_fan_out.__name__, fan_in_fan_out.WORKFLOW),
        "sync-pipeline.yaml": (sync_async.__name__, sync_async.SYNC),
        "async-pipeline.yaml": (sync_async.__name__, sync_async.ASYNC),
        "memoization.yaml": (memoization.__name__, memoization.WORKFLOW),
    }


def main(flags: Flags) -> list[str]:
    """Check (or write) every file; returns the names that differed."""
    files = {name: (module, w.to_yaml()) for name, (module, w) in workflows().items()}
    return generated.sync(DIRECTORY, files, "chapters.ch05_workflows.manifests", flags.write)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
