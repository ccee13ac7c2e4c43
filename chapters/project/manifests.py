"""Chapter 9: write ``manifests/project/workflow.yaml`` from the project's Hera definition.

This declares the one file (:mod:`dmlp.kube.generated` writes it): the workflow of
``chapters/project/workflow.py``, after a line on submitting it with the quick sizes. Without
``--write`` it only checks the committed file, and fails when it differs; ``--write`` rewrites it.

Run: python -m chapters.project.manifests [--write]
"""

from chapters.project.config import SIZES
from dmlp.kube import generated
from dmlp.kube.generated import File

QUICK = " ".join(f"-p {name}={value}" for name, value in SIZES["quick"].items())
SUBMIT = f"# Submit with quick sizes: argo submit -n dmlp manifests/project/workflow.yaml {QUICK}\n"


def files() -> dict[str, File]:
    """``file name -> File(module, Hera Workflow, note)``: the workflow, a line on submitting it."""
    from chapters.project import workflow

    return {"workflow.yaml": File(workflow.__name__, workflow.WORKFLOW, note=SUBMIT)}


GENERATOR = generated.Generator(
    "chapters.project.manifests", generated.MANIFESTS / "project", files
)

if __name__ == "__main__":
    raise SystemExit(GENERATOR.run(__doc__))
