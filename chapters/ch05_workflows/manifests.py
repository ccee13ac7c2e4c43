"""Chapter 5: write the Argo Workflow YAML of every chapter 5 workflow from its Hera definition.

Each pattern module defines its workflow once, in Python; this declares which file each one
becomes under ``manifests/ch05/`` (:mod:`dmlp.kube.generated` writes them with
``Workflow.to_yaml()``). Without ``--write`` it only compares, and fails when a committed file
differs from what the code generates; ``--write`` rewrites the files.

Run: python -m chapters.ch05_workflows.manifests [--write]
"""

from dmlp.kube import generated
from dmlp.kube.generated import File


def files() -> dict[str, File]:
    """``file name -> File(module, Hera Workflow)`` for every chapter 5 workflow."""
    from chapters.ch05_workflows import fan_in_fan_out, memoization, sync_async

    return {
        "fan-in-fan-out.yaml": File(fan_in_fan_out.__name__, fan_in_fan_out.WORKFLOW),
        "sync-pipeline.yaml": File(sync_async.__name__, sync_async.SYNC),
        "async-pipeline.yaml": File(sync_async.__name__, sync_async.ASYNC),
        "memoization.yaml": File(memoization.__name__, memoization.WORKFLOW),
    }


GENERATOR = generated.Generator(
    "chapters.ch05_workflows.manifests", generated.MANIFESTS / "ch05", files
)

if __name__ == "__main__":
    raise SystemExit(GENERATOR.run(__doc__))
