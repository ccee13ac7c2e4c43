"""Chapter 8: write the YAML of every chapter 8 workflow and of the TFJob from their Python.

The Argo Workflows are Hera definitions (``Workflow.to_yaml()``); the TFJob is the dict that
``kubeflow_tfjob.tfjob`` builds. Without ``--write`` this only checks that the committed files
under ``manifests/ch08/`` are what the code generates, and fails when one differs.

Run: python -m chapters.ch08_basics.manifests [--write]
"""

from pathlib import Path

import yaml

from dmlp.example import cli
from dmlp.kube import generated
from dmlp.kube.generated import Flags

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = ROOT / "manifests" / "ch08"
COMMAND = "chapters.ch08_basics.manifests"


def workflows() -> dict[str, tuple[str, object]]:
    """``file name -> (module, Hera Workflow)`` for every chapter 8 workflow."""
    from chapters.ch08_basics import argo_basics, kubeflow_tfjob

    found = {f"{name}.yaml": (argo_basics.__name__, w) for name, w in argo_basics.WORKFLOWS.items()}
    found["tfjob-workflow.yaml"] = (kubeflow_tfjob.__name__, kubeflow_tfjob.WORKFLOW)
    return found


def files() -> dict[str, tuple[str, ...]]:
    from chapters.ch08_basics import kubeflow_tfjob

    found = {name: (module, w.to_yaml()) for name, (module, w) in workflows().items()}
    tfjob = yaml.safe_dump(kubeflow_tfjob.TFJOB, sort_keys=False)
    found["tfjob.yaml"] = (kubeflow_tfjob.__name__, tfjob, "Python definition")
    return found


def main(flags: Flags) -> list[str]:
    """Check (or write) every file; returns the names that differed."""
    return generated.sync(DIRECTORY, files(), COMMAND, flags.write)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
