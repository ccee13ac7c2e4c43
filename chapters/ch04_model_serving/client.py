"""Chapter 4: a client for the model server (local or in a cluster).

Sends images from the dataset to ``POST /v1/models/<name>:predict`` and prints each prediction
next to the true label, then the accuracy.

Run: python -m chapters.ch04_model_serving.client --url http://127.0.0.1:8080 [--num-examples 10]
     [--png]    (start a server first: python -m chapters.ch04_model_serving.server)
"""

from __future__ import annotations

import time

import numpy as np
import requests

from chapters.ch04_model_serving.inference import to_instances
from chapters.common import cli
from chapters.common.data import CLASS_NAMES, load_fashion_mnist


class ServingError(RuntimeError):
    """The server answered something other than 200."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"HTTP {status}: {message}")


def predict(
    url: str,
    images: np.ndarray | None = None,
    *,
    instances: list | None = None,
    png: bool = False,
    session: requests.Session | None = None,
    timeout: float = 60,
) -> list[dict]:
    """POST images (uint8, N x 28 x 28 [x 1]) or ready-made instances; return predictions."""
    body = {"instances": instances if instances is not None else to_instances(images, png)}
    response = (session or requests).post(url, json=body, timeout=timeout)
    if response.status_code != 200:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        raise ServingError(response.status_code, str(message)[:300])
    return response.json()["predictions"]


def main(
    url: str = "http://127.0.0.1:8080",
    model_name: str = "fashion-mnist",
    num_examples: int | None = 10,
    png: bool = False,
    dataset: str = "auto",
    data_dir: str | None = None,
    seed: int = 42,
    verbose: bool = False,
    print_classes: bool = False,
) -> dict:
    log = cli.Progress("ch04.client")
    test = load_fashion_mnist("test", dataset, data_dir, num_examples or 10, seed)
    endpoint = f"{url.rstrip('/')}/v1/models/{model_name}:predict"
    log(
        f"sending {len(test)} {test.source} test images to {endpoint}"
        + (" as base64 PNG" if png else "")
    )
    start = time.perf_counter()
    try:
        predictions = predict(endpoint, test.images, png=png)
    except requests.ConnectionError:
        raise cli.UsageError(
            f"nothing answers at {url}: start a server first "
            "(python -m chapters.ch04_model_serving.server)"
        ) from None
    seconds = time.perf_counter() - start
    got = np.array([p["class_id"] for p in predictions])
    rows = [
        (
            i,
            CLASS_NAMES[label],
            CLASS_NAMES[p["class_id"]],  # TF Serving answers class_id and probabilities only
            max(p["probabilities"]),
            "ok" if p["class_id"] == label else "WRONG",
        )
        for i, (label, p) in enumerate(zip(test.labels, predictions, strict=True))
    ][:20]
    cli.print_table(
        rows, ["#", "label", "prediction", "probability", ""], title=f"Predictions from {endpoint}"
    )
    accuracy = float(np.mean(got == test.labels))
    print(f"{len(test)} images in {seconds * 1000:.0f} ms; accuracy {accuracy:.1%}")
    if print_classes:  # one line the kind smoke test compares across servers
        print("CLASSES " + ",".join(str(int(c)) for c in got))
    return {"accuracy": accuracy, "predictions": predictions, "seconds": seconds}


def build_parser():
    p = cli.parser(__doc__, out=None)
    p.set_defaults(num_examples=10)
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the server's base URL")
    p.add_argument("--model-name", default="fashion-mnist", help="name in the URL")
    p.add_argument("--png", action="store_true", help='send images as {"b64": PNG}')
    p.add_argument(
        "--print-classes", action="store_true", help="end with a line: CLASSES id,id,..."
    )
    return p


if __name__ == "__main__":
    raise SystemExit(cli.run(main, build_parser()))
