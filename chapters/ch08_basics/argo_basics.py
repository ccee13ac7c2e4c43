"""Chapter 8, section 8.4 "Argo Workflows: Container-native workflow engine" (the basics).

Claim: each of the section's small workflows does what Argo defines: the hello-world step prints
its greeting; in the coin flip exactly one branch runs, the one the flip chose (its ``when``
holds), the other is Skipped; in the DAG diamond B and C start after A and the join D starts only
once both have ended; a script template's stdout becomes ``outputs.result``, passed to the next
step. The resource template creates a ConfigMap, which needs a cluster: locally it is skipped with
that reason.

Every workflow is written once with Hera; ``manifests/ch08/<name>.yaml`` is generated from it
(``python -m chapters.ch08_basics.manifests --write``) and runs on Argo as is
(``python -m dmlp.argo.submit --file manifests/ch08/coinflip.yaml``). On a laptop the
repository's runner executes the same definition, each step a process.

Run: python -m chapters.ch08_basics.argo_basics [--workflow all] [--seed 42]
"""

from dataclasses import dataclass, field

import yaml
from hera.workflows import DAG, Resource, Steps, Workflow, script

from dmlp import argo
from dmlp.argo import conventions
from dmlp.example import cli, report
from dmlp.example.settings import CommonSettings, option

STEP = conventions.script_options(
    cpu="50m", memory="64Mi", data=False
)  # image, requests, no volume


def options(name: str) -> dict:
    return conventions.workflow_options(name, chapter="ch08", data=False)


@script(**STEP)
def hello():
    print("hello world")


@script(**STEP)
def flip_coin(seed: int):
    import random

    print(random.Random(seed).choice(["heads", "tails"]))  # stdout is outputs.result


@script(**STEP)
def echo(message: str, seconds: float = 0.0):
    import time

    time.sleep(float(seconds))  # a little work, so that parallel steps visibly overlap
    print(message)


@script(**STEP)
def gen_random_int(seed: int):
    import random

    print(random.Random(seed).randint(1, 100))


with Workflow(**options("hello-world"), entrypoint="hello") as HELLO_WORLD:
    hello()  # one template: the whole workflow is a single step

with Workflow(**options("coinflip"), entrypoint="coinflip", arguments={"seed": "42"}) as COINFLIP:
    with Steps(name="coinflip") as steps:
        coin = flip_coin(arguments=conventions.from_workflow("seed"))
        with steps.parallel():  # both are considered; `when` lets only one run
            for side in ("heads", "tails"):
                echo(name=side, arguments={"message": f"it was {side}"},
                     when=f"{coin.result} == {side}")  # fmt: skip

with Workflow(**options("dag-diamond"), entrypoint="diamond",
              arguments={"seconds": "0.5"}) as DAG_DIAMOND:  # fmt: skip
    with DAG(name="diamond"):
        a, b, c, d = (
            echo(name=n, arguments={"message": n, **conventions.from_workflow("seconds")})
            for n in "ABCD"
        )
        a >> [b, c] >> d  # B and C wait for A; D waits for both

with Workflow(**options("script-template"), entrypoint="main",
              arguments={"seed": "42"}) as SCRIPT_TEMPLATE:  # fmt: skip
    with Steps(name="main"):
        number = gen_random_int(arguments=conventions.from_workflow("seed"))
        echo(name="print-message", arguments={"message": number.result})

GREETING = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {
        "name": "{{workflow.name}}-greeting",  # one per run: a second run cannot collide
        "labels": {"app.kubernetes.io/part-of": "dmlp", "dmlp/chapter": "ch08"},
    },
    "data": {"message": "hello from a resource template"},
}

with Workflow(**options("resource-template"), entrypoint="create-configmap") as RESOURCE_TEMPLATE:
    Resource(  # the step pod runs `create` with the workflow's service account (ch08 rbac.yaml)
        name="create-configmap",
        action="create",
        set_owner_reference=True,  # deleted with the workflow, so the next run can create it again
        manifest=yaml.safe_dump(GREETING, sort_keys=False),
    )

WORKFLOWS = {
    "hello-world": HELLO_WORLD,
    "coinflip": COINFLIP,
    "dag-diamond": DAG_DIAMOND,
    "script-template": SCRIPT_TEMPLATE,
    "resource-template": RESOURCE_TEMPLATE,
}


# ---------------------------------------------------------------------------- the example


@dataclass(frozen=True)
class Settings(CommonSettings):
    workflow: str = option("all", "which workflow to run", choices=("all", *WORKFLOWS))
    seconds: float = option(0.5, "seconds each diamond step works", minimum=0.0, maximum=30)
    step_timeout: float = option(120.0, "seconds before a step is killed", minimum=1)


@dataclass
class Outcome:
    phase: str  # the workflow's phase, or "Skipped" when it needs a cluster
    shown: bool  # the run showed what the workflow is about
    detail: str
    steps: list[tuple] = field(default_factory=list)


@dataclass
class Result:
    outcomes: dict[str, Outcome]
    claim: report.Claim


def main(settings: Settings) -> Result:
    names = list(WORKFLOWS) if settings.workflow == "all" else [settings.workflow]
    arguments = {"coinflip": {"seed": settings.seed}, "script-template": {"seed": settings.seed},
                 "dag-diamond": {"seconds": settings.seconds}}  # fmt: skip
    outcomes = {}
    for name in names:
        try:  # the runner checks the workflow first: nothing runs when a feature needs Argo
            run = argo.run(
                WORKFLOWS[name],
                arguments.get(name),
                step_timeout=settings.step_timeout,
                echo=settings.verbose,
            )
        except argo.UnsupportedWorkflow as err:
            outcomes[name] = Outcome("Skipped", False, f"needs a cluster: {err}")
            print(f"[{name}] skipped on this laptop: {err}")
            continue
        shown, detail = SHOWS[name](run) if run.succeeded else (False, run.message)
        outcomes[name] = Outcome(run.phase, shown, detail, run.rows())
    rows = [(n, o.phase, "yes" if o.shown else "no", o.detail) for n, o in outcomes.items()]
    cli.print_table(rows, ["workflow", "phase", "shown", "what it showed"], "Argo basics")
    ran = {n: o for n, o in outcomes.items() if o.phase != "Skipped"}
    cluster = [n for n, o in outcomes.items() if o.phase == "Skipped"]
    text = f"{sum(o.shown for o in ran.values())} of {len(ran)} workflows run here did what " + (
        f"Argo defines: {'; '.join(o.detail for o in ran.values())}" if ran else "Argo defines"
    )
    if cluster:
        text += f"; {', '.join(cluster)} needs a cluster (python -m dmlp.argo.submit)"
    held = bool(ran) and all(o.shown for o in ran.values())
    claim = report.finish(
        "8.4",
        text,
        held,
        wrote="nothing (each run's step folders are temporary)",
        shown={n: o.shown for n, o in outcomes.items()},
    )
    return Result(outcomes, claim)


# ---------------------------------------------------------------------------- what each shows


def _hello(run) -> tuple[bool, str]:
    said = run.node("hello-world").outputs.get("result", "")
    return said == "hello world", f"hello-world printed {said!r}"


def _coinflip(run) -> tuple[bool, str]:
    side = run.node("flip-coin").outputs["result"]
    phases = {b: run.node(b).phase for b in ("heads", "tails")}
    ran = [b for b, phase in phases.items() if phase == "Succeeded"]
    return ran == [side] and "Skipped" in phases.values(), f"flipped {side}, ran only {ran}"


def _diamond(run) -> tuple[bool, str]:
    a, b, c, d = (run.node(n) for n in "ABCD")
    after_a = min(b.started, c.started) >= a.finished
    joined = d.started >= max(b.finished, c.finished)
    overlap = b.started < c.finished and c.started < b.finished
    return after_a and joined, (
        f"D started {d.started - max(b.finished, c.finished):+.2f}s after the later of B and C; "
        f"B and C overlapped: {'yes' if overlap else 'no'}"
    )


def _script(run) -> tuple[bool, str]:
    made = run.node("gen-random-int").outputs["result"]
    printed = run.node("print-message").outputs["result"]
    return made == printed, f"the script's result {made} reached print-message"


SHOWS = {
    "hello-world": _hello,
    "coinflip": _coinflip,
    "dag-diamond": _diamond,
    "script-template": _script,
}


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
