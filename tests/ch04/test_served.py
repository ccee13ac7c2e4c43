"""ch04 served: the SavedModel to serve and the flags that choose it, without KServe."""

from __future__ import annotations

import subprocess
import sys

import pytest

from chapters.ch04_model_serving import served
from dmlp.example.errors import UsageError


def test_served_model_names_the_version_folder(tmp_path):
    (tmp_path / "saved_model" / "3").mkdir(parents=True)
    (tmp_path / "saved_model" / "3" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(UsageError, match="pass a version folder, e.g. .*saved_model/3"):
        served.served_model(str(tmp_path / "saved_model"), str(tmp_path))
    with pytest.raises(UsageError, match="no SavedModel there"):
        served.served_model(str(tmp_path / "nothing"), str(tmp_path))
    assert served.served_model(str(tmp_path / "saved_model" / "3"), "unused").name == "3"


def test_settings_declare_the_model_flags_once():
    settings = served.ModelSettings.from_argv(["--model-dir", "m/1", "--train-steps", "5"])
    assert settings.model_dir == "m/1" and settings.train_steps == 5
    with pytest.raises(SystemExit):
        served.ModelSettings.from_argv(["--num-examples", "3"])  # serving has no such flag


def test_examples_that_start_servers_as_processes_do_not_import_kserve():
    code = (
        "import sys, chapters.ch04_model_serving.replicated_services, "
        "chapters.ch04_model_serving.sharded_services, chapters.ch04_model_serving.event_driven; "
        "print('kserve' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip() == "False", proc.stderr[-2000:]
