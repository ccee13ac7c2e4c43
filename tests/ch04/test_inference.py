"""chapters.ch04_model_serving.inference: payload checks and answers, without a server."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from chapters.ch04_model_serving import inference as inf

IMAGE = [[0] * 28 for _ in range(28)]


def test_accepted_instance_forms_give_the_same_pixels():
    image = (np.arange(784) % 256).astype(np.uint8).reshape(28, 28)
    as_list = inf.parse_instances({"instances": [image.tolist()]})
    as_flat = inf.parse_instances({"instances": [image.reshape(784).tolist()]})
    as_png = inf.parse_instances({"instances": [{"b64": inf.encode_png(image)}]})
    assert as_list.shape == (1, 28, 28, 1) and as_list.dtype == np.float32
    np.testing.assert_array_equal(as_list, as_flat)
    np.testing.assert_array_equal(as_list, as_png)
    assert float(as_list.max()) <= 1.0


@pytest.mark.parametrize(
    "payload, error, needle",
    [
        ([1, 2], inf.BadRequest, "must be a JSON object"),
        ({}, inf.BadRequest, 'missing "instances"'),
        ({"instances": "x"}, inf.BadRequest, "must be a list"),
        ({"instances": []}, inf.BadRequest, "is empty"),
        ({"instances": [IMAGE] * 300}, inf.TooLarge, "300 instances is more than"),
        ({"instances": [[[0] * 27] * 28]}, inf.BadRequest, "instances[0]: shape [28, 27]"),
        ({"instances": [[[0] * 28] * 27 + [[0] * 3]]}, inf.BadRequest, "equal length"),
        ({"instances": [IMAGE, [["a"] * 28] * 28]}, inf.BadRequest, "instances[1]: pixel values"),
        ({"instances": [[["7"] * 28] * 28]}, inf.BadRequest, "must be numbers"),
        ({"instances": [[[float("nan")] * 28] * 28]}, inf.BadRequest, "finite"),
        ({"instances": [[[1e300] * 28] * 28]}, inf.BadRequest, "[0, 255]"),
        ({"instances": [[[-1] * 28] * 28]}, inf.BadRequest, "[0, 255]"),
        ({"instances": [[[10**400] * 28] * 28]}, inf.BadRequest, "pixel values"),
        ({"instances": [[[True] * 28] * 28]}, inf.BadRequest, "booleans"),
        ({"instances": [None]}, inf.BadRequest, "got NoneType"),
        ({"instances": [{"b64": "%%%"}]}, inf.BadRequest, "not valid base64"),
        (
            {"instances": [{"b64": base64.b64encode(b"not an image").decode()}]},
            inf.BadRequest,
            "does not decode",
        ),
        ({"instances": [{"png": "x"}]}, inf.BadRequest, '{"b64": "<base64 PNG>"}'),
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
    batch = inf.parse_tensor(np.zeros((3, 784), np.float32))
    assert batch.shape == (3, 28, 28, 1)
    with pytest.raises(inf.BadRequest, match="not \\[N, 28, 28\\]"):
        inf.parse_tensor(np.zeros((3, 10)))
    with pytest.raises(inf.TooLarge):
        inf.parse_tensor(np.zeros((300, 28, 28)))


def test_answers_are_probabilities_with_names():
    logits = np.array([[0.0] * 9 + [5.0], [3.0] + [0.0] * 9])
    out = inf.answers(logits)
    assert [a["class_id"] for a in out] == [9, 0]
    assert out[0]["class_name"] == "Ankle boot" and out[1]["class_name"] == "T-shirt/top"
    assert all(abs(sum(a["probabilities"]) - 1) < 1e-4 for a in out)
