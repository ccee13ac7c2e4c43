"""chapters.ch04_model_serving.inference: request bodies to pixels and back, without a server."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from chapters.ch04_model_serving import inference as inf

IMAGE = [[0] * 28 for _ in range(28)]


def test_accepted_instance_forms_give_the_same_pixels():
    image = (np.arange(784) % 256).astype(np.uint8).reshape(28, 28)
    as_list = inf.parse_instances({"instances": [image.tolist()]})
    as_flat = inf.parse_instances({"instances": [image.reshape(784).tolist()]})
    as_column = inf.parse_instances({"instances": [image.reshape(28, 28, 1).tolist()]})
    as_png = inf.parse_instances({"instances": [{"b64": inf.encode_png(image)}]})
    assert as_list.shape == (1, 28, 28) and as_list.dtype == np.float32
    for other in (as_flat, as_column, as_png):
        np.testing.assert_array_equal(as_list, other)
    np.testing.assert_array_equal(as_list[0], image)  # raw 0-255 pixels: the signature scales


def test_one_vectorised_step_gives_what_each_instance_gives_alone():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (17, 28, 28))
    floats = rng.uniform(0, 255, (5, 784))
    for instances in (images.tolist(), floats.tolist()):
        whole = inf.parse_instances({"instances": instances})
        one_by_one = np.concatenate([inf.parse_instances({"instances": [x]}) for x in instances])
        np.testing.assert_array_equal(whole, one_by_one)


def test_png_and_pixel_instances_mixed_keep_their_order():
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype(np.uint8)
    mixed = [{"b64": inf.encode_png(images[0])}, images[1].tolist(), images[2].tolist()]
    mixed.append({"b64": inf.encode_png(images[3])})
    np.testing.assert_array_equal(inf.parse_instances({"instances": mixed}), images)


@pytest.mark.parametrize(
    "payload, error, needle",
    [
        ([1, 2], inf.BadRequest, "must be a JSON object"),
        ({}, inf.BadRequest, 'missing "instances"'),
        ({"instances": "x"}, inf.BadRequest, "must be a list"),
        ({"instances": []}, inf.BadRequest, "is empty"),
        ({"instances": [IMAGE] * 300}, inf.TooLarge, "300 instances is more than"),
        ({"instances": [[[0] * 27] * 28]}, inf.BadRequest, "instances[0]: shape [28, 27]"),
        ({"instances": [IMAGE, [[0] * 27] * 28]}, inf.BadRequest, "instances[1]: shape [28, 27]"),
        ({"instances": [[[0] * 28] * 27 + [[0] * 3]]}, inf.BadRequest, "equal length"),
        ({"instances": [IMAGE, [["a"] * 28] * 28]}, inf.BadRequest, "instances[1]: pixel values"),
        ({"instances": [[["7"] * 28] * 28]}, inf.BadRequest, "must be numbers"),
        ({"instances": [[[float("nan")] * 28] * 28]}, inf.BadRequest, "finite"),
        ({"instances": [IMAGE, [[1e300] * 28] * 28]}, inf.BadRequest, "instances[1]: pixel"),
        ({"instances": [[[-1] * 28] * 28]}, inf.BadRequest, "[0, 255]"),
        ({"instances": [[[10**400] * 28] * 28]}, inf.BadRequest, "pixel values"),
        ({"instances": [[[True] * 28] * 28]}, inf.BadRequest, "booleans"),
        ({"instances": [[[1] * 27 + [True]] * 28]}, inf.BadRequest, "booleans"),  # among numbers
        ({"instances": [IMAGE, [[0.5] * 27 + [False]] * 28]}, inf.BadRequest, "instances[1]"),
        ({"instances": [None]}, inf.BadRequest, "got NoneType"),
        ({"instances": [{"b64": "%%%"}]}, inf.BadRequest, "not valid base64"),
        (
            {"instances": [{"b64": base64.b64encode(b"not an image").decode()}]},
            inf.BadRequest,
            "does not decode",
        ),
        ({"instances": [{"png": "x"}]}, inf.BadRequest, '{"b64": "<base64 PNG>"}'),
        ({"instances": [IMAGE, {"b64": "%%%"}]}, inf.BadRequest, "instances[1]: b64"),
    ],
)
def test_bad_payloads_say_what_is_wrong(payload, error, needle):
    with pytest.raises(error) as caught:
        inf.parse_instances(payload, max_instances=256)
    assert needle in str(caught.value)


def test_png_of_the_wrong_size_is_rejected():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (32, 32)).save(buffer, "PNG")
    with pytest.raises(inf.BadRequest, match="32x32, expected 28x28"):
        inf.parse_instances({"instances": [{"b64": base64.b64encode(buffer.getvalue()).decode()}]})


def test_v2_tensors():
    batch = inf.parse_tensor(np.full((3, 784), 255, np.uint8))
    assert batch.shape == (3, 28, 28) and batch.dtype == np.float32 and batch.max() == 255
    with pytest.raises(inf.BadRequest, match="not \\[N, 28, 28\\]"):
        inf.parse_tensor(np.zeros((3, 10)))
    with pytest.raises(inf.TooLarge):
        inf.parse_tensor(np.zeros((300, 28, 28)))
    with pytest.raises(inf.BadRequest, match="\\[0, 255\\]"):
        inf.parse_tensor(np.full((1, 28, 28), 300.0))
    with pytest.raises(inf.BadRequest, match="numeric"):
        inf.parse_tensor(np.zeros((1, 28, 28), bool))


def test_v2_binary_body_reads_back_as_the_same_images():
    from chapters.ch04_model_serving.serving import binary_request

    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    body, headers = inf.v2_binary_body(images)
    request = binary_request(body, headers[inf.V2_HEADER], "fashion-mnist")
    np.testing.assert_array_equal(request.inputs[0].as_numpy(), images)
    assert len(body) == int(headers[inf.V2_HEADER]) + images.nbytes  # JSON header + raw bytes


def test_binary_answer_reads_back_json_and_binary_outputs():
    ids, probabilities = np.array([3, 1], np.int64), np.full((2, 10), 0.1, np.float32)
    header = {
        "model_name": "fashion-mnist",
        "outputs": [
            {"name": "class_id", "shape": [2], "datatype": "INT64", "data": ids.tolist()},
            {
                "name": "probabilities",
                "shape": [2, 10],
                "datatype": "FP32",
                "parameters": {"binary_data_size": probabilities.nbytes},
            },
        ],
    }
    text = json.dumps(header).encode()
    out = inf.read_v2_binary_answer(text + probabilities.tobytes(), {inf.V2_HEADER: len(text)})
    np.testing.assert_array_equal(out["class_id"], ids)
    np.testing.assert_array_equal(out["probabilities"], probabilities)
    plain = b'{"model_name": "fashion-mnist", "outputs": []}'
    assert inf.read_v2_binary_answer(plain, {}) == {}  # no header: plain JSON


def test_answers_name_the_class_and_keep_probabilities():
    outputs = {
        "class_id": np.array([9, 0]),
        "probabilities": np.array([[0.0] * 9 + [1.0], [0.7] + [0.3 / 9] * 9], np.float32),
    }
    out = inf.answers(outputs)
    assert [a["class_id"] for a in out] == [9, 0]
    assert out[0]["class_name"] == "Ankle boot" and out[1]["class_name"] == "T-shirt/top"
    assert all(abs(sum(a["probabilities"]) - 1) < 1e-4 for a in out)


def test_to_instances_keeps_fractional_pixels_and_shortens_whole_ones():
    assert inf.to_instances(np.full((1, 28, 28), 3.0))[0][0][0] == 3
    assert isinstance(inf.to_instances(np.full((1, 28, 28), 3.0))[0][0][0], int)
    assert inf.to_instances(np.full((1, 28, 28), 2.5))[0][0][0] == 2.5
