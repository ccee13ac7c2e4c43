"""An outside check of the local runner: every one of Argo's examples gives Argo's phase, or is
refused before its first step in one line.

``argo_examples/`` holds, unchanged, every file of argoproj/argo-workflows at tag v4.1.2
(commit 16a52d67daf2f4a8a76fa8bec02a76a46aa46257), ``examples/``, that has a Workflow in it
(Apache License 2.0, ``argo_examples/LICENSE``). Argo's end-to-end test
(``test/e2e/examples_test.go``, ``TestExampleWorkflows``) submits every one of them and waits for
it ``ToBeSucceeded``, unless it carries the ``workflows.argoproj.io/no-test`` label, which skips it:
Succeeded is the expected phase here too, and the labelled ones are skipped in the same way
unless the runner refuses them.

The examples run ``busybox``, ``alpine`` and ``python:alpine`` images; the runner has one image,
the project's, whose Python stands in for every step. So before running, this test moves onto it
what it can run as the example means it: each Python script, and each container that only echoes
(``echo ...`` or ``sh -c 'echo ...'`` with no other shell syntax, which becomes a script printing
the same line). Anything else stays as written, and the runner must refuse it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from dmlp import argo
from tests.conftest import ROOT

EXAMPLES = Path(__file__).with_name("argo_examples")
PROJECT_IMAGE = "dmlp:dev"
NO_TEST = "workflows.argoproj.io/no-test"
SHELL_SYNTAX = set("|&;<>()$`\\*?[]")  # quotes are read by shlex; {{...}} is the runner's


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
        if SHELL_SYNTAX & set(line[2]):
            return  # a pipe, a redirection, a variable...: not only an echo
        line = shlex.split(line[2])
    if line and line[0] == "echo":
        template.pop("container")
        source = f"print({' '.join(line[1:])!r})"
        template["script"] = {"image": PROJECT_IMAGE, "command": ["python"], "source": source}


def workflows(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if (d or {}).get("kind") == "Workflow"]


def example(name: str, index: int = 0) -> dict:
    data = workflows(EXAMPLES / f"{name}.yaml")[index]
    for template in data["spec"].get("templates") or []:
        rehost(template)
    return data


NAMES = [str(p.relative_to(EXAMPLES).with_suffix("")) for p in sorted(EXAMPLES.rglob("*.yaml"))]
EVERY = [
    pytest.param(name, i, id=f"{name}#{i}")
    for name in NAMES
    for i, _ in enumerate(workflows(EXAMPLES / f"{name}.yaml"))
]


def printed(result, step: str) -> str:
    return result.node(step).outputs["result"]


def test_every_workflow_example_of_argo_is_read():
    assert len(EVERY) >= 190  # v4.1.2 has 197 files with a Workflow; a broken glob finds fewer


@pytest.mark.parametrize(("name", "index"), EVERY)
def test_every_example_gives_argos_phase_or_is_refused_before_it_runs(name, index, tmp_path):
    data = example(name, index)
    skipped = ((data.get("metadata") or {}).get("labels") or {}).get(NO_TEST)
    try:
        argo.check(data)
    except argo.UnsupportedWorkflow as refused:
        message = str(refused)
        assert message and "\n" not in message, message
        with pytest.raises(argo.UnsupportedWorkflow, match=f"^{re.escape(message)}$"):
            argo.run(data, quiet=True, work_dir=tmp_path)  # the run refuses it the same way...
        assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # ...before any step ran
        return
    if skipped is not None:
        pytest.skip(f"Argo's own example test skips it too: {skipped}")
    result = argo.run(data, quiet=True, step_timeout=120)
    assert result.phase == "Succeeded", f"{name}: {result.phase}: {result.message}"


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


def test_the_chapter_5_readme_counts_what_this_test_finds():
    refused, skipped = 0, 0
    for param in EVERY:
        data = example(*param.values)
        try:
            argo.check(data)
        except argo.UnsupportedWorkflow:
            refused += 1
            continue
        skipped += ((data.get("metadata") or {}).get("labels") or {}).get(NO_TEST) is not None
    ran = len(EVERY) - refused - skipped
    readme = " ".join((ROOT / "chapters" / "ch05_workflows" / "README.md").read_text().split())
    assert f"({len(EVERY)} in {len(NAMES)} files): {ran} run to Succeeded" in readme
    assert f"{skipped} that Argo's test skips too" in readme
    assert f"the other {refused} are refused before their first step" in readme
