"""Chapter 4, section 4.1: a client for the model server, the router or TF Serving, anywhere.

Sends test images to ``POST /v1/models/<name>:predict`` and prints each prediction next to the
true label, then the accuracy. ``--curl`` prints instead a curl command that sends the sample
request shipped with this chapter (sample_request.json: three test images), to paste as is.

Run: python -m chapters.ch04_model_serving.client --url http://127.0.0.1:8080 [--num-examples 10]
     [--png] [--curl]    (start a server first: python -m chapters.ch04_model_serving.server)
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from pathlib import Path

import numpy as np
import requests

from chapters.ch04_model_serving.inference import to_instances
from chapters.ch04_model_serving.served import DEFAULT_MODEL_NAME
from chapters.common.data import CLASS_NAMES, load_fashion_mnist
from chapters.common.flags import DatasetSettings
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option

SAMPLE_REQUEST = Path(__file__).with_name("sample_request.json")


class ServingError(RuntimeError):
    """The server answered something other than 200."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"HTTP {status}: {message}")


def predict(
    url: str,
    images: np.ndarray | None = None,
    *,
    png: bool = False,
    session: requests.Session | None = None,
    timeout: float = 60,
) -> list[dict]:
    """POST images (N x 28 x 28 [x 1], pixels 0-255) to a V1 predict URL; return predictions."""
    body = {"instances": to_instances(images, png)}
    response = (session or requests).post(url, json=body, timeout=timeout)
    if response.status_code != 200:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        raise ServingError(response.status_code, str(message)[:300])
    return response.json()["predictions"]


def predict_url(url: str, model_name: str) -> str:
    """The V1 predict endpoint of ``model_name`` on the server (or router) at base ``url``."""
    return f"{url.rstrip('/')}/v1/models/{model_name}:predict"


def curl_command(url: str, model_name: str, body: Path = SAMPLE_REQUEST) -> str:
    """A curl command that POSTs ``body`` (a V1 JSON request) to the predict URL."""
    endpoint = predict_url(url, model_name)
    return shlex.join(
        ["curl", "-s", "-H", "content-type: application/json", "-d", f"@{body}", endpoint]
    )


@dataclasses.dataclass(frozen=True)
class Settings(DatasetSettings):
    url: str = option("http://127.0.0.1:8080", "the server's (or router's) base URL")
    model_name: str = option(DEFAULT_MODEL_NAME, "the model's name in the URL")
    num_examples: int = option(10, "test images to send in one request", minimum=1)
    png: bool = option(False, 'send the images as {"b64": "<base64 PNG>"} instead of pixels')
    curl: bool = option(False, "print a curl command for the sample request and exit")
    print_classes: bool = option(
        False, "end with one line, CLASSES id,id,... (the kind smoke test compares servers)"
    )
    seed: int = option(42, "random seed (which synthetic images)")
    verbose: bool = option(False, "show the libraries' own logs")

    def check(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise UsageError(f"--url takes an http(s):// URL, got {self.url!r}")


@dataclasses.dataclass
class Result:
    predictions: list[dict]
    accuracy: float
    seconds: float


def main(settings: Settings) -> Result | None:
    if settings.curl:
        print(curl_command(settings.url, settings.model_name))
        return None
    log = cli.Progress("ch04.client")
    test = load_fashion_mnist(
        "test", settings.dataset, settings.data_dir, settings.num_examples, settings.seed
    )
    endpoint = predict_url(settings.url, settings.model_name)
    how = " as base64 PNGs" if settings.png else ""
    log(f"sending {len(test)} {test.source} test images to {endpoint}{how}")
    start = time.perf_counter()
    try:
        predictions = predict(endpoint, test.images, png=settings.png)
    except requests.ConnectionError:
        raise UsageError(
            f"nothing answers at {settings.url}: start a server first "
            "(python -m chapters.ch04_model_serving.server)"
        ) from None
    seconds = time.perf_counter() - start
    rows = [  # by class_id: TF Serving's answers have no class_name
        (i, CLASS_NAMES[label], CLASS_NAMES[p["class_id"]], max(p["probabilities"]),
         "ok" if p["class_id"] == label else "WRONG")
        for i, (label, p) in enumerate(zip(test.labels, predictions, strict=True))
    ][:20]  # fmt: skip
    cli.print_table(
        rows, ["#", "label", "prediction", "probability", ""], title=f"Predictions from {endpoint}"
    )
    accuracy = float(np.mean(np.array([p["class_id"] for p in predictions]) == test.labels))
    print(f"{len(test)} images in {seconds * 1000:.0f} ms; accuracy {accuracy:.1%}")
    if settings.print_classes:
        print("CLASSES " + ",".join(str(int(p["class_id"])) for p in predictions))
    return Result(predictions, accuracy, seconds)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
