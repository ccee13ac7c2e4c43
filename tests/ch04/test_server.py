"""The model server: V1/V2 endpoints, answers equal the model's, 4xx (never 5xx) for bad input."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import requests

from chapters.ch04_model_serving.inference import encode_png, to_instances
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.common.data import synthetic_split

MAX_BODY = 2_000_000


@pytest.fixture(scope="module")
def server(model_dir):
    with ServerReplicas(
        1, model_dir, max_instances=64, extra=["--max-body-bytes", str(MAX_BODY)]
    ) as replicas:
        replicas.wait_ready()
        yield replicas


@pytest.fixture(scope="module")
def url(server):
    return server.predict_url("replica-0")


@pytest.fixture(scope="module")
def images():
    return synthetic_split("test", 20).images


def good(url, images):
    response = requests.post(url, json={"instances": to_instances(images[:2])}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_ready_live_and_metrics(server):
    base = server.urls["replica-0"]
    assert requests.get(server.ready_url("replica-0"), timeout=5).json() == {
        "name": "fashion-mnist",
        "ready": True,
    }
    assert requests.get(base + "/", timeout=5).json() == {"status": "alive"}
    assert requests.get(base + "/v2/models/fashion-mnist/ready", timeout=5).status_code == 200
    assert "python_gc_objects_collected_total" in requests.get(base + "/metrics", timeout=5).text


def test_predictions_match_the_model_called_directly(url, images, model_dir):
    import tensorflow as tf

    from chapters.ch04_model_serving.inference import softmax

    served = requests.post(url, json={"instances": to_instances(images)}, timeout=30).json()
    direct = softmax(tf.keras.models.load_model(model_dir)(images / 255.0).numpy())
    got = np.array([p["probabilities"] for p in served["predictions"]])
    np.testing.assert_allclose(got, direct, atol=1e-5)
    assert [p["class_id"] for p in served["predictions"]] == list(direct.argmax(axis=1))


def test_png_and_pixel_lists_agree(url, images):
    as_png = requests.post(
        url, json={"instances": [{"b64": encode_png(i)} for i in images[:3]]}, timeout=30
    ).json()
    as_list = requests.post(url, json={"instances": to_instances(images[:3])}, timeout=30).json()
    assert as_png == as_list


def test_v2_infer(server, images):
    base = server.urls["replica-0"]
    body = {
        "inputs": [
            {
                "name": "images",
                "shape": [2, 28, 28],
                "datatype": "FP32",
                "data": images[:2].astype(float).reshape(-1).tolist(),
            }
        ]
    }
    response = requests.post(base + "/v2/models/fashion-mnist/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    assert output["shape"] == [2, 10] and abs(sum(output["data"][:10]) - 1) < 1e-4


@pytest.mark.parametrize(
    "body, headers, status, needle",
    [
        (b'{"instances": [', {}, 400, "Unrecognized request format"),
        (b'{"instances": [', {"content-type": "application/json"}, 400, "Unrecognized request"),
        (b'{"instances": [', {"content-type": "text/plain"}, 400, "the body is not valid JSON"),
        (b'{"inputs": 1}', {}, 400, 'missing "instances"'),
        (json.dumps({"instances": [[[0] * 5] * 5]}).encode(), {}, 400, "shape [5, 5]"),
        (json.dumps({"instances": [[["x"] * 28] * 28]}).encode(), {}, 400, "must be numbers"),
        (b'{"instances": [[[NaN]]]}', {}, 400, "Unrecognized request format"),
        (json.dumps({"instances": []}).encode(), {}, 400, "empty"),
        (json.dumps({"instances": [[[0] * 28] * 28] * 65}).encode(), {}, 413, "65 instances"),
        (json.dumps({"instances": [{"b64": "aGVsbG8="}]}).encode(), {}, 400, "does not decode"),
        (
            b"\xff\xfe\x00garbage",
            {"content-type": "application/octet-stream"},
            400,
            "not valid UTF-8",
        ),
    ],
)
def test_bad_requests_get_4xx_with_a_message(url, images, body, headers, status, needle):
    response = requests.post(url, data=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]
    good(url, images)  # and the server still serves


def test_unknown_model_is_404(server, images):
    base = server.urls["replica-0"]
    response = requests.post(
        base + "/v1/models/nope:predict", json={"instances": to_instances(images[:1])}, timeout=30
    )
    assert response.status_code == 404 and "nope" in response.json()["error"]


def test_oversized_body_is_413(url, images):
    response = requests.post(
        url, data=b" " * (MAX_BODY + 1), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 413 and "split it" in response.json()["error"]
    good(url, images)


def fuzz_bodies(n: int, seed: int = 7):
    """n malformed bodies of many kinds, deterministic."""
    rng = random.Random(seed)
    valid = json.dumps(
        {"instances": [[[rng.randrange(256) for _ in range(28)] for _ in range(28)]]}
    )
    values = [None, True, -1, 256, 1e309, -1e308, "7", [], {}, [[]], "\u2603", 10**30, 10**400]
    makers = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),
        lambda: valid[: rng.randrange(1, len(valid) - 1)].encode(),
        lambda: json.dumps({"instances": rng.choice(values)}).encode(),
        lambda: json.dumps({"instances": [rng.choice(values)] * rng.randrange(1, 4)}).encode(),
        lambda: json.dumps({"instances": [[[rng.choice(values)] * 28] * 28]}).encode(),
        lambda: json.dumps(
            {"instances": [[[0] * rng.randrange(1, 60)] * rng.randrange(1, 60)]}
        ).encode(),
        lambda: json.dumps(rng.choice(values)).encode(),
        lambda: json.dumps(
            {"instances": [{"b64": rng.choice(["", "@@", "AAAA", "iVBORw0KGgo="])}]}
        ).encode(),
        lambda: json.dumps({"instances": [[[rng.uniform(-1e6, 1e6)] * 28] * 28]}).encode(),
        lambda: json.dumps({"instances": [[[0] * 28] * 28] * rng.randrange(65, 100)}).encode(),
    ]
    for i in range(n):
        yield i, makers[i % len(makers)]()


def test_fuzz_500_bad_requests_only_4xx_and_still_serving(url, images):
    statuses = []
    with requests.Session() as session:
        for i, body in fuzz_bodies(520):
            headers = {"content-type": "application/json"} if i % 3 == 0 else {}
            response = session.post(url, data=body, headers=headers, timeout=30)
            statuses.append(response.status_code)
            assert 400 <= response.status_code < 500, (i, body[:120], response.text[:300])
            assert "error" in response.json()
    assert len(statuses) >= 500 and set(statuses) <= {400, 413}
    assert good(url, images)["predictions"]
