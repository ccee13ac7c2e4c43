"""The dev container (GitHub Codespaces, VS Code): ``.devcontainer/devcontainer.json`` parses and
its keys are valid against the dev container spec's schema (vendored in
``manifests/schemas/devcontainer``), and it gives `make kind-up deploy smoke` what it needs: Python
3.12, Docker inside the container, the 4-core machine, and the post-create step. The post-create
step itself runs dry in tests/test_scripts.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".devcontainer" / "devcontainer.json"
SCHEMA = ROOT / "manifests" / "schemas" / "devcontainer" / "devContainer.base.schema.json"


@pytest.fixture(scope="module")
def config() -> dict:
    return json.loads(CONFIG.read_text())  # plain JSON: no comments, no trailing commas


@pytest.fixture(scope="module")
def validator() -> Draft201909Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema)


def errors(validator, doc) -> list[str]:
    return [error.message for error in validator.iter_errors(doc)]


def test_devcontainer_json_is_valid_against_the_spec_schema(config, validator):
    assert errors(validator, config) == []


@pytest.mark.parametrize(
    "change",
    [
        {"hostRequirement": {"cpus": 4}},  # a misspelt key
        {"hostRequirements": {"cpus": 4, "memory": "16 GB"}},  # not the spec's unit format
        {"postCreateComand": "true"},
    ],
)
def test_the_schema_rejects_what_a_codespace_would_ignore(config, validator, change):
    assert errors(validator, {**config, **change})


def test_vendored_schema_is_the_recorded_upstream_file():
    readme = (SCHEMA.parent / "README.md").read_text()
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert f"SHA-256 `{digest}`" in readme
    assert re.search(r"Commit: `[0-9a-f]{40}`", readme) and "devcontainers/spec" in readme


def test_python_312_with_docker_in_docker_on_the_4_core_machine(config):
    assert re.fullmatch(
        r"mcr\.microsoft\.com/devcontainers/python:(\d+-)?3\.12(-\w+)?", config["image"]
    )
    assert [f for f in config["features"] if "/docker-in-docker:" in f] == [
        "ghcr.io/devcontainers/features/docker-in-docker:4"
    ]
    # Codespaces' 4-core machine: 4 cores, 16 GB of memory, 32 GB of storage. The kind path's
    # budget (README, "Capacity budget") is sized for the same 4 CPUs and 16 GB.
    assert config["hostRequirements"] == {"cpus": 4, "memory": "16gb", "storage": "32gb"}


def test_post_create_runs_the_script_and_the_editor_waits_for_it(config):
    assert config["postCreateCommand"] == "bash .devcontainer/post-create.sh"
    script = ROOT / ".devcontainer" / "post-create.sh"
    assert script.is_file() and os.access(script, os.X_OK)
    text = script.read_text()
    assert "set -euo pipefail" in text and "make install" in text
    # the reader's terminal opens once the tools and the venv are there
    assert config["waitFor"] == "postCreateCommand"
    assert config["remoteEnv"]["PATH"].startswith("${containerWorkspaceFolder}/.venv/bin:")
