"""Chapter 4, section 4.3: the router in front of the shard servers, as run in the cluster.

It speaks the same V1 protocol as a model server (it is a ``kserve.Model`` too), accepts requests
up to ``--max-instances`` images, validates them the same way, splits them with
``sharded_services.shard_plan`` over the ``--shards`` URLs, calls the shards in parallel and merges
their answers in order. A shard's 4xx is passed on; an unreachable shard is a 503.

Run: python -m chapters.ch04_model_serving.router --shards http://shard-0:8080,http://shard-1:8080
     [--shard-max-instances 128] [--port 8080]
"""

from __future__ import annotations

import logging

from chapters.ch04_model_serving import server
from chapters.ch04_model_serving.inference import BadRequest, TooLarge, parse_instances
from chapters.common import cli


def build_router_model(
    name: str, shard_urls: list[str], max_instances: int, shard_max_instances: int
):
    import kserve
    import numpy as np
    import requests
    from kserve.errors import InvalidInput

    from chapters.ch04_model_serving.client import ServingError
    from chapters.ch04_model_serving.sharded_services import sharded_predict

    predict_urls = [f"{u.rstrip('/')}/v1/models/{name}:predict" for u in shard_urls]

    class Router(kserve.Model):
        def __init__(self):
            super().__init__(name)
            self.ready = True

        def predict(self, payload, headers=None, response_headers=None):
            try:
                if isinstance(payload, bytes | bytearray):
                    payload = server.decode_json(payload)
                batch = parse_instances(payload, max_instances)
            except TooLarge as err:
                raise server.PayloadTooLarge(str(err)) from None
            except BadRequest as err:
                raise InvalidInput(str(err)) from None
            pixels = np.clip(np.rint(batch * 255), 0, 255).astype(np.uint8)  # what shards expect
            try:
                return {"predictions": sharded_predict(predict_urls, pixels, shard_max_instances)}
            except ServingError as err:
                if 400 <= err.status < 500:
                    raise InvalidInput(f"a shard refused the request: {err}") from None
                raise ShardUnavailable(f"a shard failed: {err}") from None
            except requests.RequestException as err:
                raise ShardUnavailable(f"a shard is unreachable: {type(err).__name__}") from None

    return Router()


class ShardUnavailable(Exception):
    """A shard could not answer: HTTP 503 (the client may retry)."""


def main(
    shards: list[str],
    port: int = 8080,
    host: str = "0.0.0.0",
    model_name: str = server.DEFAULT_MODEL_NAME,
    max_instances: int = 4096,
    shard_max_instances: int = 128,
    max_body_bytes: int = 64 << 20,
    out: str | None = None,
    seed: int = 42,
    verbose: bool = False,
) -> None:
    import kserve
    from fastapi.responses import JSONResponse
    from kserve import model_server

    from chapters.common.tf_setup import quiet

    quiet(verbose)
    for name in ("kserve", "uvicorn", "uvicorn.access", "kserve.trace"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("kserve").addFilter(server.OneLineClientErrors())
    server.install_limits(max_body_bytes, host)

    async def unavailable(_request, exc):
        return JSONResponse(status_code=503, content={"error": str(exc)})

    model_server.app.add_exception_handler(ShardUnavailable, unavailable)
    router = build_router_model(model_name, shards, max_instances, shard_max_instances)
    cli.Progress(f"router:{port}")(
        f"routing '{model_name}' on port {port} over {len(shards)} shards: {', '.join(shards)}"
    )
    kserve.ModelServer(http_port=port, enable_grpc=False, workers=1).start([router])


def url_list(text: str) -> list[str]:
    urls = [u.strip() for u in text.split(",") if u.strip()]
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if not urls or bad:
        raise cli.argparse.ArgumentTypeError(
            f"expected comma-separated http(s):// URLs, got {', '.join(bad) or repr(text)}"
        )
    return urls


def build_parser():
    p = cli.parser(__doc__, data=False, out=None)
    p.add_argument(
        "--shards",
        type=url_list,
        required=True,
        help="comma-separated base URLs of the shard servers",
    )
    p.add_argument("--port", type=cli.positive_int, default=8080, help="(default: 8080)")
    p.add_argument("--host", default="0.0.0.0", help="address to bind (default: all)")
    p.add_argument("--model-name", default=server.DEFAULT_MODEL_NAME, help="name in the URL")
    p.add_argument(
        "--max-instances",
        type=cli.positive_int,
        default=4096,
        help="most images the router takes per request (default: 4096)",
    )
    p.add_argument(
        "--shard-max-instances",
        type=cli.positive_int,
        default=128,
        help="most images sent to one shard per request (default: 128)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=cli.positive_int,
        default=64 << 20,
        help="largest request body (default: 64 MiB)",
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
