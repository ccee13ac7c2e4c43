"""scripts/install-argo.sh, dry-run against the kubectl shim of tests/test_scripts.py."""

from tests import test_scripts
from tests.test_scripts import V, assert_every_wait_is_bounded, find, flag

shims = test_scripts.shims  # the fixture: PATH with shims of kubectl, kind, docker, helm


def test_installs_the_pinned_release_server_side_in_namespace_argo(shims):
    run, calls = shims
    proc = run("install-argo.sh")
    assert proc.returncode == 0, proc.stderr
    assert V["ARGO_WORKFLOWS_URL"] == (
        "https://github.com/argoproj/argo-workflows/releases/download/"
        f"{V['ARGO_WORKFLOWS_VERSION']}/install.yaml"
    )
    namespace = find(calls(), "kubectl", "create", "namespace", "argo")
    apply = calls()[find(calls(), "kubectl", "apply", "--server-side", V["ARGO_WORKFLOWS_URL"])]
    assert flag(apply, "-n") == "argo" and calls().index(apply) > namespace
    crds = find(calls(), "kubectl", "wait", "crd/workflows.argoproj.io")
    controller = find(calls(), "kubectl", "rollout", "status", "deployment/workflow-controller")
    assert calls().index(apply) < crds < controller
    assert find(calls(), "kubectl", "scale", "deployment/argo-server", "--replicas=0") > controller
    assert assert_every_wait_is_bounded(calls()) == 2


def test_the_server_can_be_kept(shims):
    run, calls = shims
    assert run("install-argo.sh", ARGO_SERVER="1").returncode == 0
    find(calls(), "kubectl", "rollout", "status", "deployment/argo-server")
    assert not any("scale" in call for call in calls())


def test_no_cluster_stops_at_once_with_one_line(shims):
    run, calls = shims
    proc = run("install-argo.sh", SHIM_CONTEXT="kind-other")
    assert proc.returncode == 2 and "run 'make kind-up' first" in proc.stderr
    assert not any("apply" in call for call in calls())
