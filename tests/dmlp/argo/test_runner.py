"""The local workflow runner (dmlp/argo): Argo's semantics on a laptop.

Workflows here are small Argo dicts whose steps are inline Python scripts (fast: no TensorFlow),
plus one Hera-built workflow whose steps go through Hera's own runner.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from chapters.ch05_workflows import timing
from dmlp import argo
from dmlp.argo import pods
from tests.conftest import ROOT


def py(name: str, source: str, inputs=(), **extra) -> dict:
    """An inline Python script template."""
    template = {
        "name": name,
        "script": {"image": "dmlp:dev", "command": ["python"], "source": textwrap.dedent(source)},
        **extra,
    }
    if isinstance(inputs, dict):
        template["inputs"] = inputs
    elif inputs:
        template["inputs"] = {"parameters": [{"name": n} for n in inputs]}
    return template


def wf(*templates: dict, entrypoint: str = "main", arguments=None, **spec_fields) -> dict:
    body = {"entrypoint": entrypoint, "templates": copy.deepcopy(list(templates)), **spec_fields}
    if arguments:
        body["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in arguments.items()]}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "t"}, "spec": body}  # fmt: skip


SLEEP = py("sleep", "import time; time.sleep(float('{{inputs.parameters.s}}')); print('ok')", ["s"])
ECHO = py("echo", "print('{{inputs.parameters.msg}}')", ["msg"])


def task(name, template="sleep", depends=None, **params):
    t = {"name": name, "template": template}
    if depends:
        t["depends"] = depends
    if params:
        t["arguments"] = {"parameters": [{"name": k, "value": str(v)} for k, v in params.items()]}
    return t


def run(data, **kwargs):
    return argo.run(data, quiet=True, **kwargs)


# ---------------------------------------------------------------------------- order and overlap


def test_dag_runs_each_task_after_what_it_depends_on():
    dag = {"name": "main", "dag": {"tasks": [
        task("a", s=0.2), task("b", depends="a", s=0.2), task("c", depends="a", s=0.4),
        task("d", depends="b && c", s=0.1),
    ]}}  # fmt: skip
    result = run(wf(dag, SLEEP)).raise_for_status()
    n = {x: result.node(x) for x in "abcd"}
    assert n["b"].started >= n["a"].finished and n["c"].started >= n["a"].finished
    assert n["d"].started >= max(n["b"].finished, n["c"].finished)
    assert timing.overlapping([n["b"], n["c"]])  # independent branches ran side by side


def test_steps_groups_run_in_order_and_members_together():
    steps = {"name": "main", "steps": [
        [task("first", s=0.3)], [task("x", s=0.5), task("y", s=0.5)], [task("last", s=0.1)],
    ]}  # fmt: skip
    result = run(wf(steps, SLEEP)).raise_for_status()
    x, y = result.node("x"), result.node("y")
    assert min(x.started, y.started) >= result.node("first").finished
    assert result.node("last").started >= max(x.finished, y.finished)
    assert timing.overlapping([x, y])


def test_fan_out_with_items_overlaps_and_fans_in_as_a_json_list():
    fan = {"name": "main", "dag": {"tasks": [
        {**task("sq", "square"), "withItems": [1, 2, 3],
         "arguments": {"parameters": [{"name": "x", "value": "{{item}}"}]}},
        {**task("sum", "add", depends="sq"),
         "arguments": {"parameters": [{"name": "xs", "value": "{{tasks.sq.outputs.result}}"}]}},
    ]}}  # fmt: skip
    square = py(
        "square", "import time; time.sleep(0.5); print({{inputs.parameters.x}} ** 2)", ["x"]
    )
    add = py("add", "import json; print(sum(json.loads('{{inputs.parameters.xs}}')))", ["xs"])
    result = run(wf(fan, square, add)).raise_for_status()
    children = [result.node(f"sq({i}:{i + 1})") for i in range(3)]
    assert timing.overlapping(children)
    assert result.node("sum").outputs["result"] == "14"


def test_with_param_loops_over_a_previous_steps_json_output():
    steps = {"name": "main", "steps": [
        [task("list", "make-list")],
        [{"name": "each", "template": "echo", "withParam": "{{steps.list.outputs.result}}",
          "arguments": {"parameters": [{"name": "msg", "value": "{{item.name}}"}]}}],
    ]}  # fmt: skip
    make = py("make-list", 'import json; print(json.dumps([{"name": "a"}, {"name": "b"}]))')
    result = run(wf(steps, make, ECHO)).raise_for_status()
    outs = sorted(n.outputs["result"] for n in result.leaves() if n.template == "echo")
    assert outs == ["a", "b"]


def test_workflow_parallelism_runs_one_step_at_a_time():
    fan = {"name": "main", "steps": [[
        {"name": "s", "template": "sleep", "withItems": [0.3, 0.3, 0.3],
         "arguments": {"parameters": [{"name": "s", "value": "{{item}}"}]}},
    ]]}  # fmt: skip
    result = run(wf(fan, SLEEP, parallelism=1)).raise_for_status()
    nodes = sorted((n for n in result.leaves()), key=lambda n: n.started)
    assert {n.name for n in nodes} == {"s(0:0.3)", "s(1:0.3)", "s(2:0.3)"}
    for before, after in zip(nodes, nodes[1:], strict=False):
        assert after.started >= before.finished


def test_template_parallelism_limits_its_own_children():
    fan = {"name": "main", "parallelism": 2, "steps": [[
        {"name": "s", "template": "sleep", "withItems": [0.4] * 4,
         "arguments": {"parameters": [{"name": "s", "value": "{{item}}"}]}},
    ]]}  # fmt: skip
    result = run(wf(fan, SLEEP)).raise_for_status()
    nodes = result.leaves()
    for moment in [n.started + 0.01 for n in nodes]:
        assert sum(n.started <= moment < n.finished for n in nodes) <= 2


# ------------------------------------------------------------ when, parameters, artifacts


def test_when_skips_a_step_whose_condition_is_false():
    steps = {"name": "main", "steps": [
        [task("flip", "coin")],
        [{**task("heads", "echo", msg="H"), "when": "{{steps.flip.outputs.result}} == heads"},
         {**task("tails", "echo", msg="T"), "when": "{{steps.flip.outputs.result}} == tails"}],
    ]}  # fmt: skip
    result = run(wf(steps, py("coin", "print('heads')"), ECHO)).raise_for_status()
    assert result.node("heads").phase == "Succeeded"
    assert result.node("tails").phase == "Skipped"


def test_output_parameters_and_artifacts_pass_between_steps(tmp_path):
    produce = py(
        "produce",
        "open('/tmp/n.txt', 'w').write('7')\nopen('/tmp/data.txt', 'w').write('hello')",
        outputs={"parameters": [{"name": "n", "valueFrom": {"path": "/tmp/n.txt"}}],
                 "artifacts": [{"name": "data", "path": "/tmp/data.txt"}]},
    )  # fmt: skip
    consume = py(
        "consume",
        "print(open('/tmp/in.txt').read() * int('{{inputs.parameters.n}}'))",
        inputs={"parameters": [{"name": "n"}], "artifacts": [{"name": "d", "path": "/tmp/in.txt"}]},
    )
    steps = {"name": "main", "steps": [
        [task("p", "produce")],
        [{"name": "c", "template": "consume", "arguments": {
            "parameters": [{"name": "n", "value": "{{steps.p.outputs.parameters.n}}"}],
            "artifacts": [{"name": "d", "from": "{{steps.p.outputs.artifacts.data}}"}]}}],
    ]}  # fmt: skip
    result = run(wf(steps, produce, consume), work_dir=tmp_path).raise_for_status()
    assert result.node("c").outputs["result"] == "hello" * 7
    artifact = result.node("p").outputs["artifacts"]["data"]
    assert artifact.startswith(str(tmp_path)) and open(artifact).read() == "hello"
    assert not os.path.exists("/tmp/n.txt") or open("/tmp/n.txt").read() != "7"


def test_hera_runner_steps_pass_artifacts_and_parameters():
    from tests.dmlp.argo.workflow_steps import WORKFLOW

    result = run(WORKFLOW, arguments={"n": 4}).raise_for_status()
    assert result.node("total").outputs["result"] == "6"
    squared = sorted(int(n.outputs["parameters"]["squared"]) for n in result.leaves()
                     if n.template == "square")  # fmt: skip
    assert squared == [1, 4, 9]


# ---------------------------------------------------------------------------- failures and retries


COUNTER = """
import os, sys, time
from dmlp import argo
path = '{{inputs.parameters.counter}}'
with open(path, 'a') as f:
    f.write(f'{time.time()}\\n')
attempts = len(open(path).read().split())
if attempts < int('{{inputs.parameters.succeed_at}}'):
    print(f'attempt {attempts}: disk full', file=sys.stderr)
    sys.exit(3)
print(attempts)
"""


def flaky(limit: int, backoff=None) -> dict:
    retry = {"limit": limit, **({"backoff": backoff} if backoff else {})}
    return py("flaky", COUNTER, ["counter", "succeed_at"], retryStrategy=retry)


def test_a_failing_step_is_retried_with_backoff_until_it_succeeds(tmp_path):
    counter = tmp_path / "count"
    steps = {"name": "main", "steps": [[task("train", "flaky", counter=counter, succeed_at=3)]]}
    backoff = {"duration": "0.2s", "factor": 2}
    result = run(wf(steps, flaky(3, backoff))).raise_for_status()
    node = result.node("train")
    assert node.attempts == 3 and node.outputs["result"] == "3"
    times = [float(t) for t in counter.read_text().split()]
    assert times[1] - times[0] >= 0.2 and times[2] - times[1] >= 0.4  # 0.2s, then x2


def test_retries_exhausted_fail_the_workflow_with_the_step_and_its_cause(tmp_path):
    steps = {"name": "main", "steps": [
        [task("train", "flaky", counter=tmp_path / "c", succeed_at=9)], [task("after", s=0)],
    ]}  # fmt: skip
    result = run(wf(steps, flaky(2), SLEEP))
    assert result.phase == "Failed"
    assert "train" in result.message and "disk full" in result.message
    assert result.node("train").attempts == 3
    with pytest.raises(argo.WorkflowFailed, match="train.*exit code 3"):
        result.raise_for_status()
    assert all(n.name != "after" for n in result.nodes.values())  # later groups never started


def test_a_failed_dag_task_omits_its_dependents_but_not_independent_branches(tmp_path):
    dag = {"name": "main", "dag": {"tasks": [
        task("bad", "flaky", counter=tmp_path / "c", succeed_at=9), task("ok", s=0.1),
        task("next", depends="bad", s=0), task("cleanup", depends="bad.Failed", s=0),
    ]}}  # fmt: skip
    result = run(wf(dag, flaky(0), SLEEP))
    # Argo v4.1.2 (dag.go, assessDAGPhase): `next` is a target task; it was omitted, so it takes
    # the phase of its branch, `bad`'s Failed. That `cleanup` handled the failure does not help.
    assert result.phase == "Failed" and "bad" in result.message
    assert result.node("next").phase == "Omitted"
    assert result.node("ok").phase == "Succeeded" and result.node("cleanup").phase == "Succeeded"


def test_a_step_over_its_deadline_is_killed():
    slow = py("slow", "import time; time.sleep(60)", activeDeadlineSeconds=1)
    start = time.monotonic()
    result = run(wf({"name": "main", "steps": [[task("s", "slow")]]}, slow))
    assert result.phase == "Failed" and "timed out" in result.node("s").message
    assert time.monotonic() - start < 20


# ---------------------------------------------------------------------------- memoization


INGEST = py(
    "ingest",
    "open('{{inputs.parameters.log}}', 'a').write('ran\\n'); print('data-{{inputs.parameters.n}}')",
    ["n", "log"],
    memoize={"key": "ingest-{{inputs.parameters.n}}", "maxAge": "1h",
             "cache": {"configMap": {"name": "test-cache"}}},
)  # fmt: skip


def memo_workflow(log) -> dict:
    steps = {"name": "main", "steps": [[task("ingest", "ingest", n="{{workflow.parameters.n}}",
                                            log=log)]]}  # fmt: skip
    return wf(steps, INGEST, arguments={"n": "1"})


def test_a_memoized_step_is_skipped_then_rerun_after_its_input_changes(tmp_path):
    log, cache = tmp_path / "ran", tmp_path / "cache"
    first = run(memo_workflow(log), cache_dir=cache).raise_for_status()
    second = run(memo_workflow(log), cache_dir=cache).raise_for_status()
    assert first.node("ingest").cache == "miss" and second.node("ingest").cache == "hit"
    assert second.node("ingest").outputs["result"] == "data-1"
    assert log.read_text().count("ran") == 1
    changed = run(memo_workflow(log), arguments={"n": 2}, cache_dir=cache).raise_for_status()
    assert changed.node("ingest").cache == "miss" and log.read_text().count("ran") == 2
    entries = argo.MemoCache(cache).entries("test-cache")
    assert set(entries) == {"ingest-1", "ingest-2"}
    assert set(entries["ingest-1"]) == {
        "nodeID",
        "outputs",
        "creationTimestamp",
        "lastHitTimestamp",
    }


def test_a_memoized_entry_older_than_max_age_is_ignored(tmp_path):
    log, cache = tmp_path / "ran", tmp_path / "cache"
    run(memo_workflow(log), cache_dir=cache).raise_for_status()
    path = cache / "test-cache.json"
    data = json.loads(path.read_text())
    entry = json.loads(data["ingest-1"])
    entry["creationTimestamp"] = "2020-01-01T00:00:00Z"  # two hours is past maxAge 1h
    data["ingest-1"] = json.dumps(entry)
    path.write_text(json.dumps(data))
    again = run(memo_workflow(log), cache_dir=cache).raise_for_status()
    assert again.node("ingest").cache == "miss" and log.read_text().count("ran") == 2


def test_the_memo_cache_survives_a_new_process(tmp_path):
    log, cache = tmp_path / "ran", tmp_path / "cache"
    source = tmp_path / "wf.json"
    source.write_text(json.dumps(memo_workflow(log)))
    code = (
        "import json, sys; from dmlp import argo; "
        f"r = argo.run(json.load(open({str(source)!r})), cache_dir={str(cache)!r}, quiet=True);"
        "print(r.node('ingest').cache)"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
        ).stdout.split()[-1]  # fmt: skip
        for _ in range(2)
    ]
    assert outputs == ["miss", "hit"]


# ---------------------------------------------------------------------------- errors before the run


def assert_rejected(data, *needles, tmp_path=None):
    with pytest.raises(argo.UnsupportedWorkflow) as caught:
        argo.run(data, quiet=True)
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_a_dependency_cycle_is_an_error_before_anything_runs(tmp_path):
    marker = tmp_path / "ran"
    touch = py("touch", f"open({str(marker)!r}, 'w')")
    dag = {"name": "main", "dag": {"tasks": [
        task("start", "touch"), task("a", "touch", depends="start && c"),
        task("b", "touch", depends="a"), task("c", "touch", depends="b"),
    ]}}  # fmt: skip
    assert_rejected(wf(dag, touch), "cycle", "a -> b -> c -> a")
    assert not marker.exists()


def test_an_unknown_template_name_is_an_error():
    steps = {"name": "main", "steps": [[task("x", "no-such-template")]]}
    assert_rejected(wf(steps, SLEEP), "unknown template 'no-such-template'", "step 'x'")


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (lambda d: d["spec"].update(onExit="sleep"), ["workflow spec", "'onExit'"]),
        (lambda d: d["spec"]["templates"][1].update(synchronization={"mutexes": [{"name": "m"}]}),
         ["template 'sleep'", "'synchronization'"]),
        (lambda d: d["spec"]["templates"].append(
            {"name": "shell", "container": {"image": "busybox", "command": ["sh", "-c", "ls"]}}),
         ["template 'shell'", "cannot run locally"]),
        (lambda d: d["spec"]["templates"].append(
            {"name": "wait", "suspend": {}}), ["template 'wait'", "'suspend'"]),
        (lambda d: d["spec"]["templates"][0]["steps"][0][0].update(when="{{x}} =="),
         ["when", "ends too early"]),
    ],
)  # fmt: skip
def test_unsupported_features_are_named_before_the_run(change, needles):
    data = wf({"name": "main", "steps": [[task("a", s=0)]]}, SLEEP)
    change(data)
    assert_rejected(data, *needles)


# ---------------------------------------------------------------------------- containers and TFJobs


def test_a_container_running_a_project_module_runs_locally():
    container = {"name": "main", "container": {
        "image": "dmlp:dev", "command": ["python", "-m", "chapters.ch05_workflows.manifests"],
        "args": ["--verbose"]}}  # fmt: skip
    result = run(wf(container)).raise_for_status()
    assert result.node("t").outputs["exitCode"] == "0"
    assert "generated manifests checked, 0 stale" in result.node("t").outputs["result"]


TFJOB = """
apiVersion: kubeflow.org/v1
kind: TFJob
metadata: {generateName: t-}
spec:
  tfReplicaSpecs:
    Worker:
      replicas: 2
      template:
        spec:
          containers:
            - name: tensorflow
              image: dmlp:dev
              command: [python, -m, tests.dmlp.launch.fake_task]
"""


def test_a_tfjob_resource_step_runs_its_workers_with_tf_config(monkeypatch):
    monkeypatch.setattr(pods, "LOCAL_MODULES", ("chapters.", "tests."))
    resource = {"name": "main", "resource": {
        "action": "create", "manifest": TFJOB,
        "successCondition": "status.replicaStatuses.Worker.succeeded == 2",
        "failureCondition": "status.replicaStatuses.Worker.failed > 0"}}  # fmt: skip
    result = run(wf(resource)).raise_for_status()
    assert "every task exited 0" in result.node("t").message
    # Only the processes were checked: the note says the condition was not (issue 17, item 10).
    note = "(successCondition and failureCondition not evaluated locally)"
    assert note in result.node("t").message
    monkeypatch.setenv("FAKE_WORKER_1", "fail")
    failed = run(wf(resource))
    assert failed.phase == "Failed" and "worker-1" in failed.message


def test_a_tfjob_running_a_non_project_image_is_rejected():
    manifest = TFJOB.replace("[python, -m, tests.dmlp.launch.fake_task]", "[sh, -c, train]")
    resource = {"name": "main", "resource": {"action": "create", "manifest": manifest}}
    assert_rejected(wf(resource), "TFJob Worker command", "cannot run locally")


def test_unknown_workflow_arguments_are_an_error():
    with pytest.raises(argo.UsageError, match="unknown workflow argument.*nope"):
        run(wf({"name": "main", "steps": [[task("a", s=0)]]}, SLEEP), arguments={"nope": 1})


def test_ctrl_c_kills_every_running_step(tmp_path):
    pids = tmp_path / "pids"
    hang = py("hang", f"import os, time\nopen({str(pids)!r}, 'a').write(str(os.getpid()) + ' ')\n"
                      "time.sleep(120)")  # fmt: skip
    fan = {"name": "main", "steps": [[{"name": "h", "template": "hang", "withItems": [1, 2]}]]}
    source = tmp_path / "wf.json"
    source.write_text(json.dumps(wf(fan, hang)))
    code = f"from dmlp import argo; argo.run({str(source)!r}, quiet=True)"
    # As a terminal's foreground job: Python turns SIGINT into KeyboardInterrupt only if SIGINT
    # is not ignored when it starts, and a shell starts background jobs with SIGINT ignored.
    runner = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, preexec_fn=_default_sigint
    )
    try:
        deadline = time.monotonic() + 60
        while len(pids.read_text().split() if pids.exists() else []) < 2:
            assert time.monotonic() < deadline and runner.poll() is None
            time.sleep(0.1)
        runner.send_signal(signal.SIGINT)
        runner.wait(timeout=30)
    finally:
        runner.kill()
    assert b"KeyboardInterrupt" in runner.stderr.read()
    time.sleep(0.5)
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"step process {pid} survived Ctrl-C"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_command_line_runs_a_yaml_file_and_reports_each_step(tmp_path):
    from tests.conftest import assert_one_line_error, run_module

    path = "manifests/ch05/async-pipeline.yaml"
    proc = run_module("dmlp.argo.local", "--file", path, "--arguments", "unit_seconds=0.1")
    assert proc.returncode == 0, proc.stderr
    assert "Workflow async-pipeline: Succeeded" in proc.stdout
    assert proc.stdout.count("Succeeded  async-pipeline.") == 5  # one line per finished step
    bad = run_module("dmlp.argo.local", "--file", path, "--arguments", "speed=9")
    assert_one_line_error(bad, "unknown workflow argument", "speed")


def test_a_memo_key_argo_would_refuse_fails_the_step(tmp_path):
    bad = copy.deepcopy(INGEST)
    bad["memoize"]["key"] = "ingest_{{inputs.parameters.n}}"  # '_' is not allowed by Argo
    steps = {"name": "main", "steps": [[task("ingest", "ingest", n=1, log=tmp_path / "l")]]}
    result = run(wf(steps, bad), cache_dir=tmp_path / "cache")
    assert result.phase == "Failed" and "invalid cache key 'ingest_1'" in result.message


def test_nested_templates_dependencies_lists_and_input_defaults():
    inner = {"name": "inner", "inputs": {"parameters": [{"name": "who", "default": "world"}]},
             "steps": [[task("hello", "echo", msg="hello {{inputs.parameters.who}}")]]}  # fmt: skip
    dag = {"name": "main", "dag": {"tasks": [
        task("first", "inner"),
        {**task("second", "inner", who="again"), "dependencies": ["first"]},
    ]}}  # fmt: skip
    result = run(wf(dag, inner, ECHO)).raise_for_status()
    hellos = {n.id: n for n in result.leaves()}
    assert hellos["t.first.hello"].outputs["result"] == "hello world"
    assert hellos["t.second.hello"].outputs["result"] == "hello again"
    assert hellos["t.second.hello"].started >= hellos["t.first.hello"].finished
