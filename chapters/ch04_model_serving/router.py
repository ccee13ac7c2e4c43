"""Chapter 4, section 4.3: the router in front of the shard servers, as it runs in the cluster.

A ``kserve.Model`` too, so it speaks the model server's V1 protocol: it takes requests of up to
``--max-instances`` images, checks them as a server does, splits them with
``sharded_services.shard_plan`` over the ``--shards`` servers, calls them in parallel and merges
their answers in order. A shard's 4xx is passed on; an unreachable shard is a 503. It is ready
(``GET /v1/models/fashion-mnist``) only while every shard is: it needs them all.

Start the shards first (each is the model server), then the router:

    python -m chapters.ch04_model_serving.server --port 8081 --max-instances 128
    python -m chapters.ch04_model_serving.server --port 8082 --max-instances 128
    python -m chapters.ch04_model_serving.router --port 8080 \\
        --shards http://127.0.0.1:8081,http://127.0.0.1:8082

Run: python -m chapters.ch04_model_serving.router --shards URL,URL [--port 8080]
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import kserve
import requests

from chapters.ch04_model_serving import serving
from chapters.ch04_model_serving.client import ServingError
from chapters.ch04_model_serving.replicas import is_ready
from chapters.ch04_model_serving.served import ListenSettings
from chapters.ch04_model_serving.server import read_images
from chapters.ch04_model_serving.sharded_services import sharded_predict
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option


class Router(kserve.Model):
    """Splits each request over the shard servers and merges their answers in order."""

    def __init__(self, name: str, shards: list[str], max_instances: int, per_shard: int):
        super().__init__(name)
        self.shards = [url.rstrip("/") for url in shards]
        self.ready_urls = [f"{url}/v1/models/{name}" for url in self.shards]
        self.predict_urls = [f"{url}:predict" for url in self.ready_urls]
        self.session = requests.Session()  # one for every request: kept-alive shard connections
        # Room to keep every connection routed requests can hold at once (KServe's executor runs
        # at most 32 to_thread calls, each one thread per shard): a full pool closes the rest.
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=32 * len(self.shards))
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, adapter)
        self.max_instances, self.per_shard = max_instances, per_shard
        self.ready = True  # registered as ready; healthy() below asks the shards each time
        self._checked, self._shards_ready = -1.0, False

    async def healthy(self) -> bool:
        """Ready while every shard answers ready (checked at most once a second)."""
        if time.monotonic() - self._checked > 1.0:
            states = await asyncio.gather(
                *(asyncio.to_thread(is_ready, url, 1.0) for url in self.ready_urls)
            )
            self._checked, self._shards_ready = time.monotonic(), all(states)
        return self._shards_ready

    async def predict(self, payload, headers=None, response_headers=None):
        images = read_images(payload, self.max_instances)
        try:
            predictions = await asyncio.to_thread(
                sharded_predict, self.predict_urls, images, self.per_shard, session=self.session
            )
        except ServingError as err:
            if 400 <= err.status < 500:
                raise kserve.errors.InvalidInput(f"a shard refused the request: {err}") from None
            raise ShardUnavailable(f"a shard failed: {err}") from None
        except requests.RequestException as err:
            raise ShardUnavailable(f"a shard is unreachable: {type(err).__name__}") from None
        return {"predictions": predictions}


class ShardUnavailable(Exception):
    """A shard could not answer: HTTP 503 (the client may retry)."""


@dataclasses.dataclass(frozen=True)
class Settings(ListenSettings):
    shards: tuple[str, ...] | None = option(
        None, "comma-separated base URLs of the shard servers (required)"
    )
    max_instances: int = option(4096, "most images the router takes per request", minimum=1)
    shard_max_instances: int = option(128, "most images sent to one shard at once", minimum=1)
    max_body_bytes: int = option(64 << 20)
    verbose: bool = option(False, "show KServe's and uvicorn's own logs")

    def check(self) -> None:
        if not self.shards:
            raise UsageError("--shards is required: the base URLs of the shard servers")
        bad = [url for url in self.shards if not url.startswith(("http://", "https://"))]
        if bad:
            raise UsageError(f"--shards takes http(s):// URLs, got {', '.join(bad)}")


def main(settings: Settings) -> None:
    """Route until stopped (Ctrl-C or SIGTERM)."""
    log = cli.Progress(f"router:{settings.port}")
    router = Router(
        settings.model_name,
        list(settings.shards or ()),
        settings.max_instances,
        settings.shard_max_instances,
    )

    def ready(base: str) -> None:
        log(f"routing {settings.model_name!r} over {len(router.shards)} shards: {router.shards}")
        log(f"listening: {base}/v1/models/{settings.model_name} (ready while every shard is)")
        log("book section 4.3: the sharded services pattern's front door")

    serving.serve(
        [router],
        settings,
        errors={ShardUnavailable: 503},
        on_ready=ready,
    )
    log("stopped")


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
