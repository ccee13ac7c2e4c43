"""dmlp.launch.tfcluster: the cluster spec, TF_CONFIG per task, the chief, the tasks' arguments."""

from __future__ import annotations

import json

import pytest

from dmlp.example.cli import UsageError
from dmlp.launch import tfcluster as cl

FAKE = "tests.dmlp.launch.fake_task"


def test_cluster_spec_uses_distinct_free_ports():
    spec = cl.cluster_spec(num_workers=3, num_ps=2, chief=True)
    addresses = spec["chief"] + spec["worker"] + spec["ps"]
    assert [len(spec[k]) for k in ("chief", "worker", "ps")] == [1, 3, 2]
    assert len(set(addresses)) == 6 and all(a.startswith("localhost:") for a in addresses)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_workers": 0}, "num_workers must be at least 1"),
        ({"num_workers": 1, "num_ps": -1}, "num_ps must be 0 or more"),
        ({"num_workers": 1, "num_ps": 1}, "needs a chief"),
    ],
)
def test_bad_cluster_shapes(kwargs, message):
    with pytest.raises(UsageError, match=message):
        cl.cluster_spec(**kwargs)


def test_tf_config_is_what_tensorflow_reads(monkeypatch):
    import tensorflow as tf

    spec = cl.cluster_spec(num_workers=2, num_ps=1, chief=True)
    monkeypatch.setenv("TF_CONFIG", cl.tf_config(spec, "worker", 1))
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)
    assert resolver.cluster_spec().as_dict() == spec
    assert cl.task_from_env() == ("worker", 1, spec)


def test_bad_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UsageError, match="TF_CONFIG is not valid"):
        cl.task_from_env()


def test_chief_rules():
    assert cl.is_chief("worker", 0, {"worker": ["a", "b"]})
    assert not cl.is_chief("worker", 1, {"worker": ["a", "b"]})
    assert not cl.is_chief("worker", 0, {"chief": ["c"], "worker": ["a"]})
    assert cl.is_chief("chief", 0, {"chief": ["c"], "worker": ["a"]})


def test_every_task_gets_its_own_tf_config_and_the_same_args():
    spec = cl.cluster_spec(num_workers=2, num_ps=1, chief=True)
    with cl.LocalCluster(spec, FAKE, ["--num-epochs", "2"], echo=False) as cluster:
        codes = cluster.wait(timeout=60)
    assert codes == {"ps-0": 0, "chief-0": 0, "worker-0": 0, "worker-1": 0}
    for name in codes:
        config = json.loads(cluster.lines(name)[0].removeprefix("TF_CONFIG "))
        kind, index = name.split("-")
        assert config == {"cluster": spec, "task": {"type": kind, "index": int(index)}}
        assert cluster.lines(name)[1] == "ARGS --num-epochs 2"
