"""Run a TensorFlow cluster of N processes on this machine (introduced in chapter 3).

On Kubernetes the Training Operator starts one pod per task and gives each a ``TF_CONFIG``
environment variable naming the cluster and the task. :class:`LocalCluster` does the same on a
laptop: it picks free localhost ports, builds every task's ``TF_CONFIG``, starts each task as a
subprocess running the *same module* the TFJob runs, prefixes each output line with the task name,
waits with a timeout, and always cleans up: every child is killed (its whole process group) on
error, timeout, Ctrl-C, SIGTERM or a failing test, and on Linux a child also dies with its parent.

    spec = cluster_spec(num_workers=2)
    with LocalCluster(spec, "chapters.ch03_distributed_training.collective_communication",
                      ["--num-epochs", "2"]) as cluster:
        codes = cluster.wait(timeout=300)       # TaskFailed / ClusterTimeout on trouble
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dmlp.example import report, tf_setup
from dmlp.example.errors import UsageError

TASK_TYPES = ("chief", "worker", "ps", "evaluator")


class TaskFailed(RuntimeError):
    """A task exited non-zero; carries its name, exit code and last log lines."""

    def __init__(self, task: str, code: int, tail: Sequence[str]):
        self.task, self.code, self.tail = task, code, list(tail)
        shown = [line for line in self.tail if not is_noise(line)] or self.tail
        last = shown[-1].strip() if shown else "(no output)"
        lines = "\n    ".join(shown[-8:]) or "(no output)"
        # The first line is what a one-line error shows: it names the task and its last words.
        super().__init__(
            f"task {task} exited with code {code}: {last}\n  its last lines:\n    {lines}"
        )


class ClusterTimeout(RuntimeError):
    """The tasks did not finish in time; every task has been killed."""


def free_ports(count: int, host: str = "localhost") -> list[int]:
    """``count`` distinct TCP ports that were free a moment ago (held open together)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def cluster_spec(
    num_workers: int = 2,
    num_ps: int = 0,
    chief: bool = False,
    evaluator: bool = False,
    host: str = "localhost",
) -> dict[str, list[str]]:
    """A cluster spec with free localhost ports, e.g. ``{"worker": ["localhost:4242", ...]}``."""
    if num_workers < 1:
        raise UsageError(f"num_workers must be at least 1, got {num_workers}")
    if num_ps < 0:
        raise UsageError(f"num_ps must be 0 or more, got {num_ps}")
    if num_ps and not chief:
        raise UsageError("a parameter-server cluster needs a chief (the coordinator)")
    sizes = {"chief": int(chief), "worker": num_workers, "ps": num_ps}
    ports = iter(free_ports(sum(sizes.values()), host))
    spec = {kind: [f"{host}:{next(ports)}" for _ in range(n)] for kind, n in sizes.items() if n}
    if evaluator:  # the evaluator is not part of the cluster proper (TF's own convention)
        spec["evaluator"] = [f"{host}:{free_ports(1, host)[0]}"]
    return spec


def tf_config(spec: dict[str, list[str]], task_type: str, task_index: int) -> str:
    """The ``TF_CONFIG`` JSON for one task, exactly as the Training Operator writes it."""
    if task_type not in spec or not 0 <= task_index < len(spec[task_type]):
        raise UsageError(f"no task {task_type}-{task_index} in cluster {sorted(spec)}")
    cluster = {k: v for k, v in spec.items() if k != "evaluator"}
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": task_index}})


def tasks_of(spec: dict[str, list[str]]) -> list[str]:
    """Task names in start order: ps first (they serve variables), chief, workers, evaluator."""
    order = ("ps", "chief", "worker", "evaluator")
    return [f"{kind}-{i}" for kind in order for i in range(len(spec.get(kind, [])))]


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class _Task:
    name: str
    process: subprocess.Popen
    tail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=40))
    reader: threading.Thread | None = None
    echoed: set = field(default_factory=set)  # lines already shown: repeats are not echoed


class ProcessGroup:
    """Start named tasks as ``python -m module *args *extra_args(name)``; always clean up.

    Each task's output is echoed with a ``[name]`` prefix and kept (``lines()``); ``on_line(task,
    line)`` sees every line, e.g. to kill a worker once it reports an epoch. Use it as a context
    manager: leaving the block kills every task still running (its whole process group).
    """

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        *,
        names: Iterable[str],
        env: dict[str, str] | None = None,
        on_line: Callable[[str, str], None] | None = None,
        echo: bool = True,
        verbose: bool | None = None,
        extra_args: Callable[[str], Sequence[str]] | None = None,
    ):
        self.module, self.args = module, list(args)
        # Echo library noise too (``--verbose``); by default as the example itself was asked.
        self.verbose = tf_setup.verbose() if verbose is None else verbose
        self.scratch: str | None = None  # each task's TMPDIR lives under it; removed in stop()
        self.env = {**os.environ, **(env or {})}
        self.env.pop(report.SUMMARY_ENV, None)  # the tasks are not the example: no summary
        self.names = list(names)
        self.on_line, self.echo, self.extra_args = on_line, echo, extra_args
        self.tasks: dict[str, _Task] = {}
        self.output: list[tuple[str, str]] = []  # (task, line), every line in arrival order
        self._lock = threading.Lock()
        self._old_sigterm = None

    def task_env(self, name: str) -> dict[str, str]:
        """Extra environment for one task (none here; a TF cluster adds ``TF_CONFIG``)."""
        return {}

    # -------------------------------------------------------------------- life cycle

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)

    @staticmethod
    def _on_sigterm(signum, frame):  # turn `kill <launcher>` into a clean, cleaned-up exit
        raise SystemExit(128 + signum)

    def start(self) -> None:
        for name in self.names:
            self.start_task(name)

    def start_task(self, name: str) -> None:
        """(Re)start one task, e.g. after it was killed, as a restarted pod would be."""
        if self.scratch is None:
            self.scratch = tempfile.mkdtemp(prefix="dmlp-tasks-")
        tmp = os.path.join(self.scratch, name)
        os.makedirs(tmp, exist_ok=True)
        # Its own TMPDIR: what TensorFlow leaves there (autograph files, TFDS folders) goes
        # when the launcher removes the scratch folder.
        env = {**self.env, **self.task_env(name), "PYTHONUNBUFFERED": "1", "TMPDIR": tmp}
        extra = list(self.extra_args(name)) if self.extra_args else []
        process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args, *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        task = _Task(name, process)
        task.reader = threading.Thread(target=self._pump, args=(task,), daemon=True)
        self.tasks[name] = task
        task.reader.start()

    def _pump(self, task: _Task) -> None:
        assert task.process.stdout is not None
        for raw in task.process.stdout:
            line = raw.rstrip("\n")
            task.tail.append(line)
            with self._lock:
                self.output.append((task.name, line))
            if self.echo and (self.verbose or not is_noise(line)) and line not in task.echoed:
                # gRPC retries repeat the same error many times a second: show each line once.
                if len(task.echoed) < 10_000 and not line.startswith("EPOCH_"):
                    task.echoed.add(line)
                print(f"[{task.name}] {line}", flush=True)
            if self.on_line is not None:
                self.on_line(task.name, line)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (default SIGKILL, like a node failure) to a task's process group."""
        task = self.tasks[name]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(task.process.pid, sig)

    def stop(self) -> None:
        """Kill every task still running and reap it (idempotent)."""
        for name, task in self.tasks.items():
            if task.process.poll() is None:
                self.kill(name)
        for task in self.tasks.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                task.process.wait(timeout=10)
            if task.reader is not None:
                task.reader.join(timeout=5)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    # -------------------------------------------------------------------- waiting

    def returncode(self, name: str) -> int | None:
        return self.tasks[name].process.poll()

    def wait(
        self, timeout: float, tasks: Iterable[str] | None = None, fail_fast: bool = True
    ) -> dict[str, int]:
        """Wait until ``tasks`` (default: all started) exit; return their exit codes.

        With ``fail_fast`` a task that exits non-zero raises :class:`TaskFailed` at once (the
        caller's ``with`` block then kills the rest). Past ``timeout`` seconds every task is
        killed and :class:`ClusterTimeout` is raised.
        """
        names = list(tasks) if tasks is not None else list(self.tasks)
        deadline = time.monotonic() + timeout
        while True:
            codes = {n: self.tasks[n].process.poll() for n in names}
            if fail_fast:
                for name, code in codes.items():
                    if code not in (None, 0):
                        self._drain(name)
                        raise TaskFailed(name, code, self.tasks[name].tail)
            if all(code is not None for code in codes.values()):
                for name in names:
                    self._drain(name)
                return codes  # type: ignore[return-value]
            if time.monotonic() > deadline:
                running = [n for n, c in codes.items() if c is None]
                self.stop()
                raise ClusterTimeout(
                    f"tasks {', '.join(running)} still running after "
                    f"{timeout:.0f}s; killed every task"
                )
            time.sleep(0.1)

    def _drain(self, name: str) -> None:
        reader = self.tasks[name].reader
        if reader is not None:
            reader.join(timeout=5)

    def lines(self, task: str | None = None) -> list[str]:
        with self._lock:
            return [line for t, line in self.output if task is None or t == task]


class LocalCluster(ProcessGroup):
    """Every task of a TF cluster ``spec`` as a process of ``module``, each with its ``TF_CONFIG``.

    ``tasks`` limits which tasks start (default all, parameter servers first).
    """

    def __init__(
        self,
        spec: dict[str, list[str]],
        module: str,
        args: Sequence[str] = (),
        *,
        tasks: Iterable[str] | None = None,
        **kwargs,
    ):
        super().__init__(
            module, args, names=tasks if tasks is not None else tasks_of(spec), **kwargs
        )
        self.spec = spec

    def task_env(self, name: str) -> dict[str, str]:
        kind, index = name.rsplit("-", 1)
        return {"TF_CONFIG": tf_config(self.spec, kind, int(index))}


# What TensorFlow and gRPC print on their own, beyond the start-up chatter that tf_setup knows:
# C++ error lines and the continuation lines of gRPC errors, which a killed peer (section 3.4)
# makes dozens of times (``Failed to register function remotely ...``). Hidden from the echoed
# task output unless ``verbose``.
_GRPC_NOISE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|^Additional GRPC error information"
    r"|^:\{?UNKNOWN:|^:UNAVAILABLE:|grpc_status:|grpc_message:"
    r"|Failed to (register|remove) function remotely"
    r"|^/job:\w+/replica:\d+/task:\d+$|type\.googleapis\.com/tensorflow\."
    r"|^The tasks have crashed\. Check the task logs"
    r"|^The error could be from a previous operation"
    r"|^This could happen if the remote target has been disconnected"
)


def is_noise(line: str) -> bool:
    """A line TensorFlow or gRPC printed by itself, not the program."""
    return tf_setup.is_noise(line) or _GRPC_NOISE.search(line) is not None


def task_from_env() -> tuple[str, int, dict] | None:
    """``(task_type, task_index, cluster)`` from ``TF_CONFIG``, or ``None`` when not set."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        config = json.loads(raw)
        task = config["task"]
        return str(task["type"]), int(task["index"]), dict(config["cluster"])
    except (ValueError, KeyError, TypeError) as err:
        raise UsageError(
            f"TF_CONFIG is not valid ({type(err).__name__}: {err}): {raw[:200]}"
        ) from None


def is_chief(task_type: str, task_index: int, cluster: dict) -> bool:
    """The chief writes checkpoints and models: the ``chief`` task, or worker 0 without one."""
    if "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and task_index == 0
