"""dmlp.kube.tfjob and dmlp.kube.compact: the one TFJob builder writes objects the cluster
accepts (CRD schema and webhook), and compact YAML reads back as the same object."""

from __future__ import annotations

import pytest
import yaml

from dmlp.kube import compact, validate
from dmlp.kube.tfjob import CONTAINER, NON_ROOT, RESOURCES, Replica, build

COMMAND = ["python", "-m", "chapters.ch03_distributed_training.parameter_server"]


def check(doc: dict) -> list[tuple[str, str]]:
    return validate.check_object(doc, validate.KUBERNETES_VERSION, validate.load_schemas())


def parameter_server(**options) -> dict:
    """Chapter 3's shape: a chief, two parameter servers, two workers; one data volume."""
    return build(
        "parameter-server",
        {
            "Chief": Replica(COMMAND, ["--out=/data/ps"]),
            "PS": Replica(COMMAND, ["--out=/tmp/out"], 2),
            "Worker": Replica(COMMAND, ["--out=/tmp/out"], 2, restart_policy="ExitCode"),
        },
        namespace="dmlp",
        image="dmlp:dev",
        **options,
    )


def test_every_replica_type_runs_the_tensorflow_container_and_the_job_is_valid():
    job = parameter_server(
        labels={"dmlp/chapter": "ch03"},
        run_policy={"cleanPodPolicy": "Running", "backoffLimit": 2},
        volumes={"data": ("dmlp-data", "/data")},
    )
    assert check(job) == []
    specs = job["spec"]["tfReplicaSpecs"]
    assert list(specs) == ["Chief", "PS", "Worker"]
    assert [s["replicas"] for s in specs.values()] == [1, 2, 2]
    assert specs["Worker"]["restartPolicy"] == "ExitCode"
    for spec in specs.values():
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        assert container["name"] == CONTAINER and container["command"] == COMMAND
        assert container["resources"] == RESOURCES and container["securityContext"] == NON_ROOT
        assert container["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]
        assert pod["volumes"] == [
            {"name": "data", "persistentVolumeClaim": {"claimName": "dmlp-data"}}
        ]


def test_optional_parts_are_left_out_not_written_empty():
    job = parameter_server()
    assert check(job) == []
    assert "labels" not in job["metadata"] and "runPolicy" not in job["spec"]
    pod = job["spec"]["tfReplicaSpecs"]["Chief"]["template"]["spec"]
    assert "volumes" not in pod and "volumeMounts" not in pod["containers"][0]


def test_the_defaults_are_copies_a_caller_cannot_change_by_accident():
    job = parameter_server()
    job["spec"]["tfReplicaSpecs"]["PS"]["template"]["spec"]["containers"][0]["resources"][
        "requests"
    ]["cpu"] = "4"
    assert RESOURCES["requests"]["cpu"] == "100m"
    assert parameter_server() != job


def test_a_bad_replica_type_is_what_the_validator_reports():
    job = build("job", {"Workers": Replica(["python"])}, namespace="dmlp", image="dmlp:dev")
    assert [path for path, _ in check(job)] == ["spec.tfReplicaSpecs.Workers"]


# ----------------------------------------------------------------------------- compact YAML


def test_compact_yaml_reads_back_as_the_same_object():
    job = parameter_server(
        labels={"app.kubernetes.io/part-of": "dmlp", "dmlp/chapter": "ch03"},
        run_policy={"cleanPodPolicy": "None", "backoffLimit": 1},
        security_context={**NON_ROOT, "allowPrivilegeEscalation": False},
        volumes={"data": ("dmlp-data", "/data")},
    )
    text = compact.dump(job)
    assert yaml.safe_load(text) == job
    assert all(len(line) <= compact.WIDTH for line in text.splitlines())
    assert "  labels: {app.kubernetes.io/part-of: dmlp, dmlp/chapter: ch03}\n" in text
    assert '        limits: {cpu: "1", memory: 2Gi}\n' in text  # "1" stays a string


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("None", "None"),  # YAML 1.1 reads it as a string: no quotes needed
        ("1", '"1"'),
        ("true", '"true"'),
        ("", '""'),
        ("dmlp:dev", "dmlp:dev"),
        ("{{workflow.name}}-x", '"{{workflow.name}}-x"'),
        ("--out={{workflow.parameters.out}}", "--out={{workflow.parameters.out}}"),
        ("a: b", '"a: b"'),
        (compact.Bare("{{workflow.parameters.n}}"), "{{workflow.parameters.n}}"),
        (2, "2"),
        (False, "false"),
    ],
)
def test_a_scalar_is_plain_when_yaml_reads_it_back_else_quoted(value, written):
    assert compact.dump({"key": value}) == f"key: {written}\n"


def test_a_bare_placeholder_becomes_a_number_once_argo_fills_it_in():
    job = build(
        "job",
        {"Worker": Replica(["python"], count=compact.Bare("{{workflow.parameters.n}}"))},
        namespace="dmlp",
        image="dmlp:dev",
    )
    filled = yaml.safe_load(compact.dump(job).replace("{{workflow.parameters.n}}", "3"))
    assert filled["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] == 3
    assert check(filled) == []


def test_a_flow_line_too_long_moves_to_the_next_line_then_to_block_style():
    short = {"k": {"a": "x" * 10}}
    assert compact.dump(short) == "k: {a: xxxxxxxxxx}\n"
    width = compact.WIDTH
    next_line = {"key": {"a": "x" * (width - 8)}}  # 102 columns inline, 99 alone
    assert compact.dump(next_line).splitlines()[0] == "key:"
    assert compact.dump(next_line).splitlines()[1].startswith("  {a: ")
    block = {"key": {"a": "x" * width}}
    assert compact.dump(block) == f"key:\n  a: {'x' * width}\n"
    assert compact.dump({"l": ["a" * width]}) == f"l:\n  - {'a' * width}\n"
