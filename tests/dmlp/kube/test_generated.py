"""dmlp.kube.generated: a declared file is written as header, note and YAML; a stale one is one
clear error naming the command; ``--write`` rewrites only what differs."""

from __future__ import annotations

import pytest
import yaml
from hera.workflows import Container, Workflow

from dmlp.example.errors import UsageError
from dmlp.kube import generated
from dmlp.kube.generated import File, Generator

JOB = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}

with Workflow(name="w", entrypoint="main") as WORKFLOW:
    Container(name="main", image="dmlp:dev", command=["python", "--version"])


def files() -> dict[str, File]:
    return {
        "job.yaml": File("my.module", JOB, note="# a note\n"),
        "workflow.yaml": File("my.workflows", WORKFLOW),
    }


def test_a_file_is_the_header_the_note_and_the_yaml(tmp_path):
    Generator("my.manifests", tmp_path, files).sync(write=True)
    job = (tmp_path / "job.yaml").read_text()
    assert job == (
        "# Generated from my/module.py by\n"
        "#   python -m my.manifests --write\n"
        "# Do not edit: change the Python definition and regenerate (a test compares the two).\n"
        "# a note\n" + yaml.safe_dump(JOB, sort_keys=False)
    )
    workflow = (tmp_path / "workflow.yaml").read_text()
    assert workflow == generated.header("my.workflows", "my.manifests") + WORKFLOW.to_yaml()
    assert "change the Hera definition" in workflow


def test_check_then_write_then_check(tmp_path, capsys):
    generator = Generator("my.manifests", tmp_path, files)
    with pytest.raises(
        UsageError, match="2 manifest.s. differ .*run: python -m my.manifests --write"
    ):
        generator.sync()
    assert generator.sync(write=True) == ["job.yaml", "workflow.yaml"]
    (tmp_path / "job.yaml").write_text("edited by hand\n")
    assert generator.sync(write=True) == ["job.yaml"]  # only what differs is rewritten
    assert generator.sync() == []
    out = capsys.readouterr().out
    assert f"out of date: {tmp_path.relative_to(tmp_path.parents[1])}/job.yaml" in out
    assert "wrote: " in out and "2 generated manifests checked, 0 stale" in out


def test_the_command_line(tmp_path, capsys):
    generator = Generator("my.manifests", tmp_path, files)
    assert generator.run("My generator.", ["--write"]) == 0
    assert generator.run("My generator.", []) == 0
    (tmp_path / "job.yaml").unlink()
    assert generator.run("My generator.", []) == 2  # a stale file: usage error, exit 2
    assert "run: python -m my.manifests --write" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        generator.run("My generator.", ["--help"])
    assert "My generator." in capsys.readouterr().out
