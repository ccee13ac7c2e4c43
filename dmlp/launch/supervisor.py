"""Start processes on this machine and never leave one behind (introduced in chapter 3).

The one place that starts a child process for the examples, the local TF cluster
(:mod:`dmlp.launch.tfcluster`) and the local workflow runner (:mod:`dmlp.argo`). Every child:

* runs in a session of its own, so :func:`signal_group` reaches its whole process group
  (the grandchildren it starts too);
* dies with its parent on Linux (``PR_SET_PDEATHSIG``), even when the parent is SIGKILLed;
* is killed and reaped by :func:`kill` on error, timeout, Ctrl-C or SIGTERM.

:class:`ProcessGroup` supervises named tasks ``python -m module ...``: it echoes each output line
with the task's name, waits with a timeout, fails fast with :class:`TaskFailed`, and kills every
task when its ``with`` block ends. :func:`free_ports` picks localhost ports for them.
"""

from __future__ import annotations

import collections
import contextlib
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


# ---------------------------------------------------------------------------- one process


def _libc_prctl():
    with contextlib.suppress(Exception):
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    return None


# Looked up here, not in the child: a child forked from a threaded parent must not import (a
# module lock held by another thread at fork time would never be released there).
_PRCTL = _libc_prctl() if sys.platform == "linux" else None


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(command: Sequence[str], **popen) -> subprocess.Popen:
    """``subprocess.Popen(command, **popen)`` in a new process group that dies with this process."""
    return subprocess.Popen(
        list(command),
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        **popen,
    )


def signal_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the process's whole group (nothing if it is gone already)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def kill(process: subprocess.Popen, wait: float = 10.0) -> None:
    """SIGKILL the process's whole group and reap the process (waiting ``wait`` s at most)."""
    signal_group(process)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=wait)


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


# ---------------------------------------------------------------------------- named tasks


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
        process = start(
            [sys.executable, "-m", self.module, *self.args, *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
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
        signal_group(self.tasks[name].process, sig)

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


# ---------------------------------------------------------------------------- library noise

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
