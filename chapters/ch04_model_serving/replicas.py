"""Start model servers as local processes on free 127.0.0.1 ports (chapter 4's examples and tests).

Each replica is ``python -m chapters.ch04_model_serving.server`` (the same program as the
Deployment's container), started through :class:`dmlp.launch.supervisor.ProcessGroup`, so every
server is killed when the block ends, whatever happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import requests

from chapters.ch04_model_serving.client import predict_url
from chapters.ch04_model_serving.served import DEFAULT_MODEL_NAME
from dmlp.launch.supervisor import ProcessGroup, TaskFailed, free_ports

SERVER = "chapters.ch04_model_serving.server"


class ServerReplicas(ProcessGroup):
    """``count`` servers of one SavedModel; ``urls[name]`` is each one's base URL."""

    def __init__(
        self,
        count: int,
        model_dir: str,
        *,
        prefix: str = "replica",
        max_instances: int | None = None,
        model_name: str = DEFAULT_MODEL_NAME,
        echo: bool = False,
        extra: Sequence[str] = (),
    ):
        ports = free_ports(count, "127.0.0.1")
        names = [f"{prefix}-{i}" for i in range(count)]
        self.ports = dict(zip(names, ports, strict=True))
        self.urls = {n: f"http://127.0.0.1:{p}" for n, p in self.ports.items()}
        self.model_name = model_name
        args = [
            "--host",
            "127.0.0.1",
            "--model-dir",
            str(model_dir),
            "--model-name",
            model_name,
            *(["--max-instances", str(max_instances)] if max_instances else []),
            *extra,
        ]
        super().__init__(
            SERVER,
            args,
            names=names,
            echo=echo,
            extra_args=lambda name: ["--port", str(self.ports[name])],
        )

    def predict_url(self, name: str) -> str:
        return predict_url(self.urls[name], self.model_name)

    def ready_url(self, name: str) -> str:
        return f"{self.urls[name]}/v1/models/{self.model_name}"

    def wait_ready(self, timeout: float = 180, log: Callable[[str], None] | None = None) -> None:
        """Block until every server answers ready; a server that exits raises TaskFailed.

        ``log`` hears every 5 s which servers are still starting.
        """
        deadline = time.monotonic() + timeout
        waiting, said = set(self.names), time.monotonic()
        while waiting:
            if log is not None and time.monotonic() - said >= 5:
                log(f"waiting for {len(waiting)} server(s) to load the model: {sorted(waiting)}")
                said = time.monotonic()
            for name in sorted(waiting):
                code = self.returncode(name)
                if code is not None:
                    raise TaskFailed(name, code, self.tasks[name].tail)
                if is_ready(self.ready_url(name)):
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"servers {sorted(waiting)} not ready after {timeout:.0f}s")
            time.sleep(0.2)


def is_ready(url: str, timeout: float = 1.0) -> bool:
    try:
        response = requests.get(url, timeout=timeout)
        return response.status_code == 200 and response.json().get("ready") is True
    except (requests.RequestException, ValueError):
        return False
