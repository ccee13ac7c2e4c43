"""Run a TensorFlow cluster of N processes on this machine (introduced in chapter 3).

On Kubernetes the Training Operator starts one pod per task and gives each a ``TF_CONFIG``
environment variable naming the cluster and the task. :class:`LocalCluster` does the same on a
laptop: it picks free localhost ports, builds every task's ``TF_CONFIG``, and starts each task as
a process of the *same module* the TFJob runs, through the supervisor
(:class:`dmlp.launch.supervisor.ProcessGroup`): each output line is prefixed with the task name,
the wait has a timeout, and every child is killed (its whole process group) on error, timeout,
Ctrl-C, SIGTERM or a failing test; on Linux a child also dies with its parent.

    spec = cluster_spec(num_workers=2)
    with LocalCluster(spec, "chapters.ch03_distributed_training.collective_communication",
                      ["--num-epochs", "2"]) as cluster:
        codes = cluster.wait(timeout=300)       # TaskFailed / ClusterTimeout on trouble
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

from dmlp.example.errors import UsageError
from dmlp.launch.supervisor import ProcessGroup, free_ports

TASK_TYPES = ("chief", "worker", "ps", "evaluator")


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
