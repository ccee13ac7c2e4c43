"""dmlp.launch.cluster: TF_CONFIG per task, failures surface, nothing is ever left running."""

from __future__ import annotations

import json
import os
import time

import psutil
import pytest

from dmlp.example.cli import UsageError
from dmlp.launch import cluster as cl

FAKE = "tests.dmlp.launch.fake_task"


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_cluster_spec_uses_distinct_free_ports():
    spec = cl.cluster_spec(num_workers=3, num_ps=2, chief=True)
    addresses = spec["chief"] + spec["worker"] + spec["ps"]
    assert [len(spec[k]) for k in ("chief", "worker", "ps")] == [1, 3, 2]
    assert len(set(addresses)) == 6 and all(a.startswith("localhost:") for a in addresses)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_workers": 0}, "num_workers must be at least 1"),
        ({"num_workers": 1, "num_ps": -1}, "num_ps must be 0 or more"),
        ({"num_workers": 1, "num_ps": 1}, "needs a chief"),
    ],
)
def test_bad_cluster_shapes(kwargs, message):
    with pytest.raises(UsageError, match=message):
        cl.cluster_spec(**kwargs)


def test_tf_config_is_what_tensorflow_reads(monkeypatch):
    import tensorflow as tf

    spec = cl.cluster_spec(num_workers=2, num_ps=1, chief=True)
    monkeypatch.setenv("TF_CONFIG", cl.tf_config(spec, "worker", 1))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)
    assert resolver.cluster_spec().as_dict() == spec
    assert cl.task_from_env() == ("worker", 1, spec)


def test_bad_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UsageError, match="TF_CONFIG is not valid"):
        cl.task_from_env()


def test_chief_rules():
    assert cl.is_chief("worker", 0, {"worker": ["a", "b"]})
    assert not cl.is_chief("worker", 1, {"worker": ["a", "b"]})
    assert not cl.is_chief("worker", 0, {"chief": ["c"], "worker": ["a"]})
    assert cl.is_chief("chief", 0, {"chief": ["c"], "worker": ["a"]})


def test_every_task_gets_its_own_tf_config_and_the_same_args():
    spec = cl.cluster_spec(num_workers=2, num_ps=1, chief=True)
    with cl.LocalCluster(spec, FAKE, ["--num-epochs", "2"], echo=False) as cluster:
        codes = cluster.wait(timeout=60)
    assert codes == {"ps-0": 0, "chief-0": 0, "worker-0": 0, "worker-1": 0}
    for name in codes:
        config = json.loads(cluster.lines(name)[0].removeprefix("TF_CONFIG "))
        kind, index = name.split("-")
        assert config == {"cluster": spec, "task": {"type": kind, "index": int(index)}}
        assert cluster.lines(name)[1] == "ARGS --num-epochs 2"


def test_a_failing_task_fails_the_run_with_its_code_and_last_lines():
    spec = cl.cluster_spec(num_workers=2)
    with pytest.raises(cl.TaskFailed) as failure:
        with cl.LocalCluster(
            spec, FAKE, env={"FAKE_WORKER_1": "fail", "FAKE_WORKER_0": "hang"}, echo=False
        ) as cluster:
            cluster.wait(timeout=60)
    assert failure.value.task == "worker-1" and failure.value.code == 3
    # The first line (all a one-line error shows) names the task and its last words.
    first = str(failure.value).splitlines()[0]
    assert "worker-1" in first and "something broke in this task" in first
    assert not alive(cluster.tasks["worker-0"].process.pid)  # the hanging one was killed


def test_timeout_kills_every_child_and_grandchild():
    spec = cl.cluster_spec(num_workers=2)
    with cl.LocalCluster(
        spec, FAKE, env={"FAKE_WORKER_0": "hang", "FAKE_WORKER_1": "hang"}, echo=False
    ) as cluster:
        deadline = time.monotonic() + 30
        while sum("GRANDCHILD" in x for x in cluster.lines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchildren = [int(x.split()[1]) for x in cluster.lines() if x.startswith("GRANDCHILD")]
        with pytest.raises(cl.ClusterTimeout, match="still running after 1s"):
            cluster.wait(timeout=1)
    pids = [t.process.pid for t in cluster.tasks.values()] + grandchildren
    assert len(pids) == 4
    time.sleep(0.2)
    assert not [pid for pid in pids if alive(pid)]


def test_an_exception_in_the_caller_kills_the_tasks():
    spec = cl.cluster_spec(num_workers=1)
    with pytest.raises(KeyboardInterrupt):
        with cl.LocalCluster(spec, FAKE, env={"FAKE_WORKER_0": "hang"}, echo=False) as cluster:
            raise KeyboardInterrupt  # Ctrl-C in the launcher
    assert not alive(cluster.tasks["worker-0"].process.pid)


def test_wait_for_some_tasks_only_and_kill_one():
    spec = cl.cluster_spec(num_workers=1, num_ps=1, chief=True)
    env = {"FAKE_PS_0": "hang", "FAKE_WORKER_0": "hang", "FAKE_CHIEF_0": "slow"}
    with cl.LocalCluster(spec, FAKE, env=env, echo=False) as cluster:
        cluster.kill("worker-0")
        assert cluster.wait(timeout=60, tasks=["chief-0"]) == {"chief-0": 0}
        assert cluster.returncode("worker-0") == -9 and cluster.returncode("ps-0") is None
    assert not alive(cluster.tasks["ps-0"].process.pid)


@pytest.mark.parametrize(
    "line",
    [
        "E0000 00:00:1795660121.178873   19564 context.cc:911] Failed to remove function remotely",
        "W1126 02:30:00.123456   1234 port.cc:153] oneDNN custom operations are on.",
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "Additional GRPC error information from remote target /job:worker/replica:0/task:1 while",
        ':UNKNOWN:Error received from peer  {grpc_status:14, grpc_message:"Socket closed"}',
        "/job:worker/replica:0/task:1",
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow",
    ],
)
def test_library_noise_is_recognised(line):
    assert cl.is_noise(line)


@pytest.mark.parametrize(
    "line",
    ["EPOCH_END 3 loss=1.2345", "SERVING ps-0", "collective_communication.py: error: X: y"],
)
def test_the_programs_own_lines_are_not_noise(line):
    assert not cl.is_noise(line)


@pytest.mark.parametrize("verbose", [False, True])
def test_noise_is_echoed_only_when_verbose(capsys, verbose):
    spec = cl.cluster_spec(num_workers=1)
    env = {"FAKE_WORKER_0": "noisy"}
    with cl.LocalCluster(spec, FAKE, env=env, verbose=verbose) as cluster:
        cluster.wait(timeout=60)
    shown = capsys.readouterr().out
    assert "[worker-0] my own line" in shown
    assert ("Failed to register function" in shown) == verbose
    assert any("Failed to register" in x for x in cluster.lines("worker-0"))  # always kept


def test_each_task_gets_its_own_tmpdir_which_is_removed():
    spec = cl.cluster_spec(num_workers=2)
    env = {"FAKE_WORKER_0": "tmp", "FAKE_WORKER_1": "tmp"}
    with cl.LocalCluster(spec, FAKE, env=env, echo=False) as cluster:
        cluster.wait(timeout=60)
        files = [x.split()[1] for x in cluster.lines() if x.startswith("TMPFILE")]
        scratch = cluster.scratch
        assert len(files) == 2 and all(os.path.exists(f) for f in files)
        assert {os.path.basename(os.path.dirname(f)) for f in files} == {"worker-0", "worker-1"}
        assert all(f.startswith(scratch) for f in files)
    assert not os.path.exists(scratch) and not any(os.path.exists(f) for f in files)
