"""The model server: TF Serving's answers for the same body, 4xx (never 5xx), quiet, 413s."""

from __future__ import annotations

import json
import random
import shlex
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import requests

from chapters.ch04_model_serving.client import SAMPLE_REQUEST
from chapters.ch04_model_serving.inference import (
    V2_HEADER,
    encode_png,
    read_v2_binary_answer,
    to_instances,
    v2_binary_body,
)
from chapters.ch04_model_serving.replicas import ServerReplicas
from chapters.common.data import synthetic_split
from tests.conftest import run_module

MAX_BODY = 2_000_000


@pytest.fixture(scope="module")
def server(model_dir):
    with ServerReplicas(
        1, model_dir, max_instances=64, extra=["--max-body-bytes", str(MAX_BODY)]
    ) as replicas:
        replicas.wait_ready()
        yield replicas


@pytest.fixture(scope="module")
def base(server):
    return server.urls["replica-0"]


@pytest.fixture(scope="module")
def url(server):
    return server.predict_url("replica-0")


@pytest.fixture(scope="module")
def images():
    return synthetic_split("test", 20).images.reshape(-1, 28, 28)


@pytest.fixture(scope="module")
def tf_serving(model_dir):
    """The SavedModel loaded as TF Serving loads it: its serving_default signature."""
    import tensorflow as tf

    signature = tf.saved_model.load(model_dir).signatures["serving_default"]
    return lambda images: {
        name: value.numpy()
        for name, value in signature(images=tf.constant(images, tf.float32)).items()
    }


def good(url, images):
    response = requests.post(url, json={"instances": to_instances(images[:2])}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_ready_live_and_metrics(server, base):
    assert requests.get(server.ready_url("replica-0"), timeout=10).json() == {
        "name": "fashion-mnist",
        "ready": True,
    }
    assert requests.get(base + "/", timeout=10).json() == {"status": "alive"}
    assert requests.get(base + "/v2/models/fashion-mnist/ready", timeout=10).status_code == 200
    assert "python_gc_objects_collected_total" in requests.get(base + "/metrics", timeout=10).text


def test_v1_answers_are_tf_servings_for_the_same_body(url, images, tf_serving):
    served = requests.post(url, json={"instances": to_instances(images)}, timeout=60).json()
    expected = tf_serving(images)
    got = np.array([p["probabilities"] for p in served["predictions"]])
    np.testing.assert_allclose(got, expected["probabilities"], atol=1e-5)
    assert [p["class_id"] for p in served["predictions"]] == expected["class_id"].tolist()


def test_the_sample_request_gets_tf_servings_classes(url, tf_serving):
    body = json.loads(SAMPLE_REQUEST.read_text())
    served = requests.post(url, json=body, timeout=60).json()["predictions"]
    expected = tf_serving(np.array(body["instances"]))["class_id"].tolist()
    assert [p["class_id"] for p in served] == expected and len(served) == 3


def test_the_clients_curl_command_pastes_and_works(base, url):
    printed = run_module("chapters.ch04_model_serving.client", "--curl", "--url", base, timeout=120)
    assert printed.returncode == 0, printed.stderr
    command = printed.stdout.strip().splitlines()[-1]
    answer = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60)
    direct = requests.post(url, data=SAMPLE_REQUEST.read_bytes(), timeout=60).json()
    assert json.loads(answer.stdout) == direct


def test_png_pixels_v2_json_and_v2_binary_agree(base, url, images, tf_serving):
    expected = tf_serving(images[:3])["class_id"].tolist()
    as_png = requests.post(
        url, json={"instances": [{"b64": encode_png(i)} for i in images[:3]]}, timeout=60
    ).json()
    assert [p["class_id"] for p in as_png["predictions"]] == expected
    v2_json = {
        "inputs": [
            {
                "name": "images",
                "shape": [3, 28, 28],
                "datatype": "FP32",
                "data": images[:3].astype(float).reshape(-1).tolist(),
            }
        ]
    }
    body, headers = v2_binary_body(images[:3])
    for answer in (
        requests.post(base + "/v2/models/fashion-mnist/infer", json=v2_json, timeout=60),
        requests.post(base + "/v2/models/fashion-mnist/infer", data=body, headers=headers),
    ):
        assert answer.status_code == 200, answer.text
        outputs = {o["name"]: o for o in answer.json()["outputs"]}
        assert outputs["class_id"]["data"] == expected
        assert outputs["probabilities"]["shape"] == [3, 10]


def test_v2_binary_outputs_when_asked_match_the_json_answer(base, images, tf_serving):
    infer = base + "/v2/models/fashion-mnist/infer"
    expected = tf_serving(images[:4])
    body, headers = v2_binary_body(images[:4], binary_output=True)
    answer = requests.post(infer, data=body, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    assert V2_HEADER in answer.headers  # JSON header, then the raw output bytes
    outputs = read_v2_binary_answer(answer.content, answer.headers)
    np.testing.assert_array_equal(outputs["class_id"], expected["class_id"])
    np.testing.assert_allclose(outputs["probabilities"], expected["probabilities"], atol=1e-6)
    plain_body, plain_headers = v2_binary_body(images[:4])  # not asked: the outputs are JSON
    plain = requests.post(infer, data=plain_body, headers=plain_headers, timeout=60)
    assert V2_HEADER not in plain.headers
    assert read_v2_binary_answer(plain.content, plain.headers)["class_id"].tolist() == (
        outputs["class_id"].tolist()
    )


def test_v2_binary_request_for_an_unknown_output_is_400(base, images):
    body, headers = v2_binary_body(images[:2])
    length = int(headers[V2_HEADER])
    header = json.loads(body[:length])
    header["outputs"] = [{"name": "logits", "parameters": {"binary_data": True}}]
    text = json.dumps(header).encode()
    headers[V2_HEADER] = str(len(text))
    infer = base + "/v2/models/fashion-mnist/infer"
    answer = requests.post(infer, data=text + body[length:], headers=headers, timeout=60)
    assert answer.status_code == 400 and "logits" in answer.json()["error"]


def test_v2_binary_request_with_a_negative_dimension_is_400_and_serving_goes_on(base, images):
    body, headers = v2_binary_body(images[:2])
    length = int(headers[V2_HEADER])
    header = json.loads(body[:length])
    header["inputs"][0]["shape"][0] = -1  # NumPy alone would infer it and answer 200
    text = json.dumps(header).encode()
    headers[V2_HEADER] = str(len(text))
    infer = base + "/v2/models/fashion-mnist/infer"
    answer = requests.post(infer, data=text + body[length:], headers=headers, timeout=60)
    assert answer.status_code == 400 and "shape [-1, 28, 28]" in answer.json()["error"]
    good_body, good_headers = v2_binary_body(images[:2])
    assert requests.post(infer, data=good_body, headers=good_headers, timeout=60).ok


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
        (b"\xff\xfe\x00garbage", {"content-type": "application/octet-stream"}, 400, "not valid"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(url, images, body, headers, status, needle):
    response = requests.post(url, data=body, headers=headers, timeout=60)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]
    good(url, images)  # and the server still serves


def test_bad_v2_binary_requests_get_400(base):
    body, headers = v2_binary_body(np.zeros((2, 28, 28), np.uint8))
    infer = base + "/v2/models/fashion-mnist/infer"
    truncated = requests.post(infer, data=body[:-10], headers=headers, timeout=60)
    assert truncated.status_code == 400 and "smaller than requested" in truncated.json()["error"]
    headers["inference-header-content-length"] = "3"  # the JSON header's length, wrong
    wrong = requests.post(infer, data=body, headers=headers, timeout=60)
    assert wrong.status_code == 400


def test_unknown_model_is_404_without_a_traceback(server, base, images):
    response = requests.post(
        base + "/v1/models/nope:predict", json={"instances": to_instances(images[:1])}, timeout=60
    )
    assert response.status_code == 404 and "nope" in response.json()["error"]
    assert not [line for line in server.lines() if "Traceback" in line or "nope" in line]


def test_oversized_body_reaches_the_client_as_413(url, images):
    response = requests.post(
        url, data=b" " * (MAX_BODY * 3), headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 413 and "split it" in response.json()["error"]
    good(url, images)


def test_oversized_chunked_body_is_413_too(url, images):
    def chunks():  # no Content-Length: requests sends Transfer-Encoding: chunked
        for _ in range(30):
            yield b" " * 100_000

    response = requests.post(url, data=chunks(), headers={"content-type": "application/json"})
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


def test_fuzz_500_bad_requests_only_4xx_quietly_and_still_serving(server, url, images):
    statuses: Counter = Counter()
    before = len(server.lines())
    with requests.Session() as session:
        for i, body in fuzz_bodies(520):
            headers = {"content-type": "application/json"} if i % 3 == 0 else {}
            response = session.post(url, data=body, headers=headers, timeout=60)
            assert 400 <= response.status_code < 500, (i, body[:120], response.text[:300])
            assert response.json()["error"], (i, body[:120])
            statuses[response.status_code] += 1
    assert statuses[400] > 400 and statuses[413] >= 52  # every kind was refused as its kind
    assert server.lines()[before:] == []  # the server printed nothing for a client's mistakes
    assert server.returncode("replica-0") is None
    assert good(url, images)["predictions"]


def test_the_server_prints_only_its_own_lines(server):
    own = server.lines()  # TensorFlow's start-up lines included: tf_setup keeps them out
    assert own and all(line.startswith("[server:") for line in own), own


def test_model_dir_without_version_folder_says_which_to_pass(model_dir):
    parent = str(Path(model_dir).parent)
    proc = run_module("chapters.ch04_model_serving.server", "--model-dir", parent, timeout=120)
    assert proc.returncode == 2 and f"e.g. {model_dir}" in proc.stderr


def test_the_readmes_curl_commands_paste_and_work(base, url):
    from tests.conftest import ROOT

    readme = (ROOT / "chapters" / "ch04_model_serving" / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.startswith("curl ")]
    assert len(lines) == 2
    answers = []
    for line in lines:
        command = shlex.split(line.replace("http://127.0.0.1:8080", base))
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        answers.append(json.loads(proc.stdout))
    assert answers[0] == {"name": "fashion-mnist", "ready": True}
    direct = requests.post(url, data=SAMPLE_REQUEST.read_bytes(), timeout=60).json()
    assert answers[1] == direct and len(direct["predictions"]) == 3


def test_the_client_reports_the_servers_answers(base, tf_serving):
    from chapters.ch04_model_serving import client

    result = client.main(client.Settings(url=base, dataset="synthetic", num_examples=8))
    test = synthetic_split("test", 8, seed=42)
    expected = tf_serving(test.images.reshape(-1, 28, 28))["class_id"]
    assert [p["class_id"] for p in result.predictions] == expected.tolist()
    assert result.accuracy == float(np.mean(expected == test.labels))


def test_the_client_reads_tf_servings_answers_too(tf_serving):
    """TF Serving answers {"class_id", "probabilities"} per instance, without a class name."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from chapters.ch04_model_serving import client

    class TFServing(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            outputs = tf_serving(np.array(body["instances"], np.float32))
            answer = [
                {"class_id": int(c), "probabilities": p.tolist()}
                for c, p in zip(outputs["class_id"], outputs["probabilities"], strict=True)
            ]
            data = json.dumps({"predictions": answer}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), TFServing) as stub:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{stub.server_address[1]}"
        result = client.main(client.Settings(url=url, dataset="synthetic", num_examples=5))
        stub.shutdown()
    test = synthetic_split("test", 5, seed=42)
    expected = tf_serving(test.images.reshape(-1, 28, 28))["class_id"]
    assert [p["class_id"] for p in result.predictions] == expected.tolist()
    assert result.accuracy == float(np.mean(expected == test.labels))
    assert "class_name" not in result.predictions[0]
