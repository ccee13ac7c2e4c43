"""An outside check of the local runner: Argo's own examples, each Argo's phase or a clear refusal.

The workflows in ``argo_examples/`` are copied unchanged from argoproj/argo-workflows at tag
v4.1.2, ``examples/`` (each file names its source). Argo's end-to-end test
(``test/e2e/examples_test.go``, ``TestExampleWorkflows``) submits every example and waits for it
``ToBeSucceeded``, unless it carries the ``workflows.argoproj.io/no-test`` label: Succeeded is
the expected phase here too.

The examples run ``busybox`` and ``python:alpine`` images; the runner has one image, the
project's, whose Python stands in for every step. So before running, this test moves onto it what
it can run as the example means it: each Python script, and each container that only echoes
(``echo ...`` or ``sh -c 'echo ...'``, which becomes a script printing the same line). Anything
else stays as written, and the runner must refuse it before the first step, in one line naming
the template.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml

from dmlp import argo

EXAMPLES = Path(__file__).with_name("argo_examples")
PROJECT_IMAGE = "dmlp:dev"


def rehost(template: dict) -> None:
    """Move a Python script, or a container that only echoes, onto the project image."""
    script = template.get("script")
    if script and (script.get("command") or [None])[0] == "python":
        script["image"] = PROJECT_IMAGE
        return
    container = template.get("container")
    if not container:
        return
    line = list(container.get("command") or []) + list(container.get("args") or [])
    if line[:2] == ["sh", "-c"] and len(line) == 3:
        line = shlex.split(line[2])
    if line and line[0] == "echo":
        template.pop("container")
        source = f"print({' '.join(line[1:])!r})"
        template["script"] = {"image": PROJECT_IMAGE, "command": ["python"], "source": source}


def example(name: str) -> dict:
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    for template in data["spec"]["templates"]:
        rehost(template)
    return data


def printed(result, step: str) -> str:
    return result.node(step).outputs["result"]


def test_hello_world():
    result = argo.run(example("hello-world"), quiet=True).raise_for_status()
    assert printed(result, "hello-world") == "hello world"


def test_arguments_parameters_bind_to_the_entrypoint():
    # Argo's parameters walk-through: spec.arguments reach the entrypoint's inputs, and
    # `argo submit -p message=...` overrides them.
    data = example("arguments-parameters")
    name = data["metadata"]["generateName"].rstrip("-")
    assert printed(argo.run(data, quiet=True).raise_for_status(), name) == "hello world"
    given = argo.run(data, {"message": "goodbye world"}, quiet=True).raise_for_status()
    assert printed(given, name) == "goodbye world"


def test_steps():
    result = argo.run(example("steps"), quiet=True).raise_for_status()
    assert [printed(result, s) for s in ("hello1", "hello2a", "hello2b")] == [
        "hello1",
        "hello2a",
        "hello2b",
    ]
    hello1, hello2a = result.node("hello1"), result.node("hello2a")
    assert hello2a.started >= hello1.finished


def test_dag_diamond():
    result = argo.run(example("dag-diamond"), quiet=True).raise_for_status()
    n = {x: result.node(x) for x in "ABCD"}
    assert n["D"].started >= max(n["B"].finished, n["C"].finished)
    assert [printed(result, x) for x in "ABCD"] == list("ABCD")


def test_coinflip():
    result = argo.run(example("coinflip"), quiet=True).raise_for_status()
    side = printed(result, "flip-coin")
    other = {"heads": "tails", "tails": "heads"}[side]
    assert result.node(side).phase == "Succeeded" and printed(result, side) == f"it was {side}"
    assert result.node(other).phase == "Skipped"


def test_dag_coinflip_recursion():
    result = argo.run(example("dag-coinflip"), quiet=True).raise_for_status()
    heads = [n for n in result.leaves() if n.template == "heads" and n.phase == "Succeeded"]
    assert len(heads) == 4  # each of A, B, C, D flips until heads


def test_recursive_for_loop():
    result = argo.run(example("recursive-for-loop"), quiet=True).raise_for_status()
    counts = sorted(int(n.outputs["result"]) for n in result.leaves() if n.phase == "Succeeded")
    assert counts == list(range(1, 11))  # "10 < 10" is false: the last `continue` is skipped
    assert [n.phase for n in result.leaves() if n.name == "continue"] == ["Skipped"]


def test_retry_script():
    node = argo.run(example("retry-script"), quiet=True).node("retry-script")
    # limit "10": Succeeded within 11 attempts, or Failed after exactly 11 (processNodeRetries).
    assert (node.phase, node.attempts <= 11) == ("Succeeded", True) or (
        node.phase,
        node.attempts,
    ) == ("Failed", 11)


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("conditional-parameters", ["template 'main'", "outputs of a steps template"]),
        ("dag-conditional-parameters", ["template 'main'", "outputs of a dag template"]),
        ("parameter-aggregation-script", ["template 'divide-by-2'", "image 'alpine:3.23'"]),
        ("withsequence-nested-result", ["step 'hello-b'", "'withSequence'"]),
        ("exit-handlers", ["workflow spec", "'onExit'"]),
    ],
)
def test_what_the_runner_cannot_do_is_refused_in_one_line(name, needles):
    with pytest.raises(argo.UnsupportedWorkflow) as refused:
        argo.run(example(name), quiet=True)
    message = str(refused.value)
    assert "\n" not in message and all(needle in message for needle in needles), message
