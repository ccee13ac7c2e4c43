"""Chapter 8, section 8.3 "Kubeflow: Machine learning workloads on Kubernetes" (a TFJob).

Claim: a minimal TFJob with two workers runs section 8.1's program as a distributed job: the
Training Operator (on a laptop, the repository's launcher) gives each worker a ``TF_CONFIG``, both
train under ``MultiWorkerMirroredStrategy`` and finish the same number of steps with bit-for-bit
identical weights.

``tfjob`` below declares the TFJob (:func:`dmlp.kube.tfjob.build` writes the Kubernetes
object); ``manifests/ch08/tfjob.yaml`` is generated from it for ``kubectl apply`` and shows it
whole. ``manifests/ch08/tfjob-workflow.yaml`` is an Argo Workflow whose resource template creates
the same TFJob and waits for it (success when both workers succeeded, failure on any failed
worker), which is how chapter 9's workflow trains its models. This example runs that workflow on
the laptop: its resource step starts the TFJob's workers as local processes.

Run: python -m chapters.ch08_basics.kubeflow_tfjob [--train-steps 20] [--dataset synthetic]
"""

from dataclasses import dataclass
from pathlib import Path

import yaml
from hera.workflows import Resource, Workflow

from chapters.common import distributed as dist
from dmlp import argo
from dmlp.argo import conventions
from dmlp.example import cli, report
from dmlp.example.settings import CommonSettings, option
from dmlp.kube.tfjob import Replica, build

MODULE = "chapters.ch08_basics.tensorflow_basics"
NUM_WORKERS = 2


def tfjob(name: str, out: str, train_steps: int | str = 20, dataset: str = "synthetic") -> dict:
    """A TFJob of ``NUM_WORKERS`` workers, each running section 8.1's program."""
    args = [f"--dataset={dataset}", f"--train-steps={train_steps}", f"--out={out}"]
    return build(
        name,
        {"Worker": Replica(["python", "-m", MODULE], args, NUM_WORKERS)},
        run_policy={"cleanPodPolicy": "None", "backoffLimit": 2},  # keep pods for logs
        **conventions.tfjob_options("ch08"),
    )


TFJOB = tfjob("tensorflow-basics", f"{conventions.DATA_MOUNT}/ch08/tfjob")

with Workflow(
    **conventions.workflow_options("tfjob-workflow", chapter="ch08", data=False),
    entrypoint="train",
    arguments={"out": f"{conventions.DATA_MOUNT}/ch08/tfjob-workflow", "train_steps": "20"},
) as WORKFLOW:
    Resource(
        name="train",
        action="create",
        set_owner_reference=True,  # the TFJob goes when the workflow is deleted
        manifest=yaml.safe_dump(
            tfjob(
                "{{workflow.name}}-tfjob",
                "{{workflow.parameters.out}}",
                "{{workflow.parameters.train_steps}}",
            ),
            sort_keys=False,
        ),
        success_condition=f"status.replicaStatuses.Worker.succeeded == {NUM_WORKERS}",
        failure_condition="status.replicaStatuses.Worker.failed > 0",
    )


# ---------------------------------------------------------------------------- the example


@dataclass(frozen=True)
class Settings(CommonSettings):
    out: str = option("out/ch08/tfjob")
    train_steps: int = option(20, "training steps of each worker", minimum=1)
    step_timeout: float = option(300.0, "seconds before the TFJob is killed", minimum=1)


@dataclass(frozen=True)
class Result:
    reports: dict[str, dict]  # per worker: steps, losses, weights digest
    same_steps: bool
    distinct_digests: int  # 1 = identical weights on every worker
    claim: report.Claim


def main(settings: Settings) -> Result:
    out = cli.writable_dir(settings.out).resolve()
    dist.clear_reports(out)
    run = argo.run(
        WORKFLOW,
        {"out": str(out), "train_steps": settings.train_steps},
        step_timeout=settings.step_timeout,
        echo=True,  # the workers' own progress lines, prefixed [worker-i]
    ).raise_for_status()
    workers = [f"worker-{i}" for i in range(NUM_WORKERS)]
    reports = dist.read_reports(out, workers)
    rows = [
        (name, r["replicas"], r["steps"], r["loss_after"], r["accuracy_after"], r["weights_sha256"])
        for name, r in reports.items()
    ]
    headers = ["task", "replicas", "steps", "test loss", "accuracy", "weights sha256"]
    cli.print_table(rows, headers, f"TFJob with {NUM_WORKERS} workers ({run.seconds:.0f}s)")
    steps = {r["steps"] for r in reports.values()}
    digests = len({r["weights_sha256"] for r in reports.values()})
    claim = report.finish(
        "8.3",
        f"the {NUM_WORKERS} workers each finished {'/'.join(map(str, sorted(steps)))} steps with "
        f"{'identical' if digests == 1 else 'DIFFERENT'} weights ({digests} distinct digest(s)); "
        f"the resource step: {run.leaves()[0].message}",
        len(steps) == 1 and digests == 1,
        wrote=f"{Path(out, 'reports')}/worker-*.json",
        steps=sorted(steps),
        distinct_digests=digests,
    )
    return Result(reports, len(steps) == 1, digests, claim)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
