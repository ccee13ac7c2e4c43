"""dmlp.launch.supervisor: failures surface, output is echoed and kept, nothing is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from dmlp.launch import supervisor as sv

FAKE = "tests.dmlp.launch.fake_task"


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tasks(*names: str, **kwargs) -> sv.ProcessGroup:
    """The fake task under each name (given as ``--task NAME``)."""
    return sv.ProcessGroup(FAKE, names=names, extra_args=lambda name: ["--task", name], **kwargs)


SLEEPER = "import subprocess, sys, time; " + (
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "print(c.pid, flush=True); time.sleep(600)"
)


def test_kill_reaps_the_process_and_its_children():
    process = sv.start([sys.executable, "-c", SLEEPER], stdout=subprocess.PIPE, text=True)
    grandchild = int(process.stdout.readline())
    sv.kill(process)
    assert process.returncode == -signal.SIGKILL
    time.sleep(0.2)
    assert not alive(process.pid) and not alive(grandchild)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux only")
def test_a_started_process_dies_with_its_parent():
    # The parent starts a sleeper through the supervisor, then is SIGKILLed (only itself).
    code = (
        "import sys, time; from dmlp.launch import supervisor; "
        "p = supervisor.start([sys.executable, '-c', 'import time; time.sleep(600)']); "
        "print(p.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_free_ports_are_distinct():
    ports = sv.free_ports(5)
    assert len(set(ports)) == 5 and all(0 < p < 65536 for p in ports)


def test_a_failing_task_fails_the_run_with_its_code_and_last_lines():
    env = {"FAKE_WORKER_1": "fail", "FAKE_WORKER_0": "hang"}
    with pytest.raises(sv.TaskFailed) as failure:
        with tasks("worker-0", "worker-1", env=env, echo=False) as group:
            group.wait(timeout=60)
    assert failure.value.task == "worker-1" and failure.value.code == 3
    # The first line (all a one-line error shows) names the task and its last words.
    first = str(failure.value).splitlines()[0]
    assert "worker-1" in first and "something broke in this task" in first
    assert not alive(group.tasks["worker-0"].process.pid)  # the hanging one was killed


def test_timeout_kills_every_child_and_grandchild():
    env = {"FAKE_WORKER_0": "hang", "FAKE_WORKER_1": "hang"}
    with tasks("worker-0", "worker-1", env=env, echo=False) as group:
        deadline = time.monotonic() + 30
        while sum("GRANDCHILD" in x for x in group.lines()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchildren = [int(x.split()[1]) for x in group.lines() if x.startswith("GRANDCHILD")]
        with pytest.raises(sv.ClusterTimeout, match="still running after 1s"):
            group.wait(timeout=1)
    pids = [t.process.pid for t in group.tasks.values()] + grandchildren
    assert len(pids) == 4
    time.sleep(0.2)
    assert not [pid for pid in pids if alive(pid)]


def test_an_exception_in_the_caller_kills_the_tasks():
    with pytest.raises(KeyboardInterrupt):
        with tasks("worker-0", env={"FAKE_WORKER_0": "hang"}, echo=False) as group:
            raise KeyboardInterrupt  # Ctrl-C in the launcher
    assert not alive(group.tasks["worker-0"].process.pid)


def test_wait_for_some_tasks_only_and_kill_one():
    env = {"FAKE_PS_0": "hang", "FAKE_WORKER_0": "hang", "FAKE_CHIEF_0": "slow"}
    with tasks("ps-0", "chief-0", "worker-0", env=env, echo=False) as group:
        group.kill("worker-0")
        assert group.wait(timeout=60, tasks=["chief-0"]) == {"chief-0": 0}
        assert group.returncode("worker-0") == -9 and group.returncode("ps-0") is None
    assert not alive(group.tasks["ps-0"].process.pid)


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
    assert sv.is_noise(line)


@pytest.mark.parametrize(
    "line",
    ["EPOCH_END 3 loss=1.2345", "SERVING ps-0", "collective_communication.py: error: X: y"],
)
def test_the_programs_own_lines_are_not_noise(line):
    assert not sv.is_noise(line)


@pytest.mark.parametrize("verbose", [False, True])
def test_noise_is_echoed_only_when_verbose(capsys, verbose):
    with tasks("worker-0", env={"FAKE_WORKER_0": "noisy"}, verbose=verbose) as group:
        group.wait(timeout=60)
    shown = capsys.readouterr().out
    assert "[worker-0] my own line" in shown
    assert ("Failed to register function" in shown) == verbose
    assert any("Failed to register" in x for x in group.lines("worker-0"))  # always kept


def test_each_task_gets_its_own_tmpdir_which_is_removed():
    env = {"FAKE_WORKER_0": "tmp", "FAKE_WORKER_1": "tmp"}
    with tasks("worker-0", "worker-1", env=env, echo=False) as group:
        group.wait(timeout=60)
        files = [x.split()[1] for x in group.lines() if x.startswith("TMPFILE")]
        scratch = group.scratch
        assert len(files) == 2 and all(os.path.exists(f) for f in files)
        assert {os.path.basename(os.path.dirname(f)) for f in files} == {"worker-0", "worker-1"}
        assert all(f.startswith(scratch) for f in files)
    assert not os.path.exists(scratch) and not any(os.path.exists(f) for f in files)
