"""dmlp.example.tf_setup: Keras 2, a quiet TensorFlow start-up, oneDNN left on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dmlp.example import tf_setup
from tests.conftest import ROOT

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795659795.656172    7420 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "E0000 00:00:1795659798.495094    7420 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1795659901.202086   11723 port.cc:153] oneDNN custom operations are on.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with "
    "the appropriate compiler flags.",
]
KEPT = [
    "WARNING: real Fashion-MNIST unavailable (...); using the synthetic stand-in",
    "E0000 00:00:1795659798.495094    7420 op_kernel.cc:52] a real error stays visible",
    "Traceback (most recent call last):",
]


@pytest.mark.parametrize("line", NOISE)
def test_start_up_chatter_is_noise(line):
    assert tf_setup.is_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line):
    assert not tf_setup.is_noise(line)


def test_filtered_stderr_drops_noise_and_keeps_the_rest(capfd):
    with tf_setup.filtered_stderr():
        os.write(2, ("\n".join(NOISE + KEPT) + "\n").encode())
    assert capfd.readouterr().err.splitlines() == KEPT


def python(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("DMLP_VERBOSE",)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**environ, **env})  # fmt: skip


def test_importing_tensorflow_after_chapters_common_is_silent():
    code = (
        "import os, chapters.common, tensorflow as tf, tf_keras; "
        "assert tf.keras.Model is tf_keras.Model; "
        "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), tf.reduce_sum(tf.ones(3)).numpy())"
    )
    proc = python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.split() == ["None", "3.0"]  # oneDNN is not switched off for speed's sake


@pytest.mark.skipif(sys.platform != "linux", reason="the CUDA build's start-up lines")
def test_verbose_lets_tensorflow_speak():
    proc = python("import chapters.common, tensorflow", DMLP_VERBOSE="1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip(), "expected TensorFlow's own start-up lines with DMLP_VERBOSE=1"


def test_without_the_packages_an_example_says_how_to_install():
    proc = subprocess.run(
        [sys.executable, "-S", "-m", "chapters.ch02_data_ingestion.sharding", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line, no traceback
    assert "run `make install` and activate .venv" in proc.stderr
