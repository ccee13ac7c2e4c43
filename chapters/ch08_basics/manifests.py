"""Chapter 8: write the YAML of every chapter 8 workflow and of the TFJob from their Python.

The Argo Workflows are Hera definitions (``Workflow.to_yaml()``); the TFJob is the dict that
``kubeflow_tfjob.tfjob`` builds. This declares which file each one becomes under
``manifests/ch08/`` (:mod:`dmlp.kube.generated` writes them). Without ``--write`` it only checks
that the committed files are what the code generates, and fails when one differs.

Run: python -m chapters.ch08_basics.manifests [--write]
"""

from dmlp.kube import generated
from dmlp.kube.generated import File


def files() -> dict[str, File]:
    """``file name -> File(module, definition)``: every chapter 8 workflow, then the TFJob."""
    from chapters.ch08_basics import argo_basics, kubeflow_tfjob

    found = {
        f"{name}.yaml": File(argo_basics.__name__, w) for name, w in argo_basics.WORKFLOWS.items()
    }
    found["tfjob-workflow.yaml"] = File(kubeflow_tfjob.__name__, kubeflow_tfjob.WORKFLOW)
    found["tfjob.yaml"] = File(kubeflow_tfjob.__name__, kubeflow_tfjob.TFJOB)
    return found


GENERATOR = generated.Generator(
    "chapters.ch08_basics.manifests", generated.MANIFESTS / "ch08", files
)

if __name__ == "__main__":
    raise SystemExit(GENERATOR.run(__doc__))
