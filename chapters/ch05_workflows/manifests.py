"""Chapter 5: write the Argo Workflow YAML of every chapter 5 workflow from its Hera definition.

Each pattern module defines its workflow once, in Python; this writes ``manifests/ch05/<name>.yaml``
with ``Workflow.to_yaml()``. ``--check`` (the default) only compares and fails when a committed
file differs from what the code generates; ``--write`` rewrites the files.

Run: python -m chapters.ch05_workflows.manifests [--write]
"""

from dataclasses import dataclass
from pathlib import Path

from chapters.common import cli
from chapters.common.settings import Settings, option

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


def render(module: str, definition) -> str:
    header = (
        f"# Generated from {module.replace('.', '/')}.py by\n"
        "#   python -m chapters.ch05_workflows.manifests --write\n"
        "# Do not edit: change the Hera definition and regenerate (a test compares the two).\n"
    )
    return header + definition.to_yaml()


@dataclass(frozen=True)
class Flags(Settings):
    write: bool = option(False, "rewrite the files (default: only check they are up to date)")
    verbose: bool = option(False, "(no library logs here; accepted for uniformity)")


def main(flags: Flags) -> list[str]:
    """Check (or write) every file; returns the names that differed."""
    stale = []
    for name, (module, definition) in workflows().items():
        path = DIRECTORY / name
        text = render(module, definition)
        if not path.exists() or path.read_text() != text:
            stale.append(name)
            if flags.write:
                path.write_text(text)
    for name in stale:
        print(f"{'wrote' if flags.write else 'out of date'}: manifests/ch05/{name}")
    if stale and not flags.write:
        raise cli.UsageError(
            f"{len(stale)} manifest(s) differ from the Hera definitions; run with --write"
        )
    done = "written" if flags.write else "stale"
    print(f"{len(workflows())} workflows checked, {len(stale)} {done}")
    return stale


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
