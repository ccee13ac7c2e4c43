"""Run an Argo Workflow YAML file on this machine with the local runner (introduced in chapter 5).

Prints a line as each step starts and ends, then the per-step table; exits 1 if the workflow
failed. Example, the generated chapter 5 YAML with smaller arguments:

Run: python -m dmlp.argo.local --file manifests/ch05/async-pipeline.yaml \\
         --arguments unit_seconds=0.2
"""

from dataclasses import dataclass

from dmlp import argo
from dmlp.example import cli
from dmlp.example.settings import option


@dataclass(frozen=True)
class Flags(argo.WorkflowFlags):
    file: str = option("", "the Workflow YAML file to run")
    arguments: tuple[str, ...] | None = option(
        None, "workflow arguments as name=value, comma-separated (e.g. out=out/x,seed=1)"
    )
    cache_dir: str | None = option(None, "memoization cache folder (default: none, never a hit)")
    step_timeout: float | None = option(
        None, "seconds before a step is killed (default: never, as on Argo)", minimum=1
    )
    verbose: bool = option(False, "show every step's own stderr")


def main(flags: Flags) -> argo.WorkflowResult:
    result = argo.run(
        flags.file,
        flags.parameters,
        cache_dir=flags.cache_dir,
        step_timeout=flags.step_timeout,
        echo=flags.verbose,
    )
    argo.print_summary(result)
    result.raise_for_status()
    return result


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
