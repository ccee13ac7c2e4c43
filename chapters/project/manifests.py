"""Chapter 9: write ``manifests/project/workflow.yaml`` from the project's Hera definition.

``--check`` (the default) fails when the committed file differs from what
``chapters/project/workflow.py`` generates; ``--write`` rewrites it.

Run: python -m chapters.project.manifests [--write]
"""

from dataclasses import dataclass
from pathlib import Path

from chapters.common import cli
from chapters.common.settings import Settings, option

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "manifests" / "project" / "workflow.yaml"
HEADER = (
    "# Generated from chapters/project/workflow.py by\n"
    "#   python -m chapters.project.manifests --write\n"
    "# Do not edit: change the Hera definition and regenerate (a test compares the two).\n"
    "# Submit with quick sizes: argo submit -n dmlp manifests/project/workflow.yaml "
    "-p num_examples=512 -p num_validation=256 -p num_epochs=1 -p steps_per_epoch=4 "
    "-p batch_size=16\n"
)


def render() -> str:
    from chapters.project.workflow import WORKFLOW

    return HEADER + WORKFLOW.to_yaml()


@dataclass(frozen=True)
class Flags(Settings):
    write: bool = option(False, "rewrite the file (default: only check it is up to date)")
    verbose: bool = option(False, "(no library logs here; accepted for uniformity)")


def main(flags: Flags) -> bool:
    """Check (or write) the file; returns whether it differed."""
    text = render()
    stale = not PATH.exists() or PATH.read_text() != text
    if stale and flags.write:
        PATH.write_text(text)
    state = "written" if flags.write and stale else "out of date" if stale else "up to date"
    print(f"manifests/project/{PATH.name}: {state}")
    if stale and not flags.write:
        raise cli.UsageError("the project workflow differs from its Hera definition; --write")
    return stale


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
