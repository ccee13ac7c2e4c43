"""Chapter 9: write ``manifests/project/workflow.yaml`` from the project's Hera definition.

``--check`` (the default) fails when the committed file differs from what
``chapters/project/workflow.py`` generates; ``--write`` rewrites it.

Run: python -m chapters.project.manifests [--write]
"""

from pathlib import Path

from chapters.project.config import SIZES
from dmlp.example import cli
from dmlp.kube import generated
from dmlp.kube.generated import Flags

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "manifests" / "project" / "workflow.yaml"
COMMAND = "chapters.project.manifests"
QUICK = " ".join(f"-p {name}={value}" for name, value in SIZES["quick"].items())
SUBMIT = f"# Submit with quick sizes: argo submit -n dmlp manifests/project/workflow.yaml {QUICK}\n"


def files() -> dict[str, tuple[str, str]]:
    """``file name -> (defining module, body)``: a line on submitting it, then the YAML."""
    from chapters.project import workflow

    return {PATH.name: (workflow.__name__, SUBMIT + workflow.WORKFLOW.to_yaml())}


def main(flags: Flags) -> list[str]:
    """Check (or write) the file; returns ``[PATH.name]`` when it differed, else ``[]``."""
    return generated.sync(PATH.parent, files(), COMMAND, flags.write)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
