"""Submit an Argo Workflow to the cluster and follow it to the end (introduced in chapter 8).

The cluster-side twin of the local runner (``dmlp/argo/``): the same YAML, run by
the Argo Workflows controller. It talks to the Kubernetes API with the ``kubernetes`` client (no
Argo server or CLI needed): it creates the ``Workflow`` object, polls it, prints each step's phase
as it changes, and ends with a table of the steps. On failure it prints each failed step's message
and the last lines of its pod's log (for a resource step that created a TFJob, the logs of that
TFJob's pods) and exits 1; past ``--timeout`` it exits 1 naming the steps still running.

Run: python -m dmlp.argo.submit --file manifests/ch08/coinflip.yaml
         [--arguments seed=7] [--namespace dmlp] [--timeout 600] [--generate-name]
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dmlp.argo import WorkflowFlags
from dmlp.argo.records import FAILED, WORKFLOW_DONE, WorkflowFailed
from dmlp.example import cli
from dmlp.example.errors import UsageError
from dmlp.example.settings import option
from dmlp.kube.client import clients

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
STEP_TYPES = ("Pod", "Resource", "Skipped", "Suspend", "Container")
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
NODE_ANNOTATION = "workflows.argoproj.io/node-id"
TFJOB_LABEL = "training.kubeflow.org/job-name"
LOG_LINES = 30
REQUEST = {"_request_timeout": 30}  # seconds: no API call may hang the script


class FollowTimeout(RuntimeError):
    """The workflow did not finish within the timeout; the message names the running steps."""


def prepare(data: dict, arguments: dict[str, str], generate_name: bool = False) -> dict:
    """A copy of the workflow with its ``spec.arguments`` overridden (and a fresh name)."""
    body = copy.deepcopy(data)
    declared = (body["spec"].setdefault("arguments", {})).setdefault("parameters", [])
    names = [p["name"] for p in declared]
    for key, value in arguments.items():
        if key not in names:
            raise UsageError(
                f"workflow has no parameter {key!r}; declared: {', '.join(names) or '(none)'}"
            )
        declared[names.index(key)]["value"] = str(value)
    if generate_name:
        meta = body["metadata"]
        meta["generateName"] = f"{meta.pop('name', None) or 'workflow'}-"
    return body


def submit(api, body: dict, namespace: str, replace: bool = False, wait: float = 60.0) -> str:
    """Create the Workflow; returns its name. ``replace`` deletes one of the same name first."""
    from kubernetes.client.exceptions import ApiException

    name = body["metadata"].get("name")
    try:
        return _create(api, body, namespace)
    except ApiException as err:
        if err.status != 409 or not replace:
            why = "already exists: pass --replace (or --generate-name)" if err.status == 409 else ""
            raise UsageError(
                f"cannot create workflow {name!r} in {namespace}: {why or _reason(err)}"
            ) from None
    api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, **REQUEST)
    deadline = time.monotonic() + wait
    while _exists(api, namespace, name):
        if time.monotonic() > deadline:
            raise UsageError(f"workflow {name!r} still exists {wait:.0f}s after delete")
        time.sleep(1)
    return _create(api, body, namespace)


def _create(api, body: dict, namespace: str) -> str:
    created = api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body, **REQUEST
    )
    return created["metadata"]["name"]


def _exists(api, namespace: str, name: str) -> bool:
    from kubernetes.client.exceptions import ApiException

    try:
        api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, **REQUEST)
    except ApiException as err:
        if err.status == 404:
            return False
        raise
    return True


def _reason(err) -> str:
    return f"HTTP {err.status} {err.reason}".strip()


def steps(workflow: dict) -> list[dict]:
    """The workflow's step nodes (pods, resources, skipped steps) in start order."""
    nodes = ((workflow.get("status") or {}).get("nodes") or {}).values()
    found = [n for n in nodes if n.get("type") in STEP_TYPES]
    return sorted(found, key=lambda n: (n.get("startedAt") or "~", n.get("displayName", "")))


@dataclass
class Followed:
    """The end of a run: the workflow object as last read, and what was printed on the way."""

    workflow: dict
    seconds: float
    lines: list[str] = field(default_factory=list)

    @property
    def phase(self) -> str:
        return (self.workflow.get("status") or {}).get("phase", "Unknown")

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"


def follow(
    api,
    namespace: str,
    name: str,
    timeout: float = 600.0,
    poll: float = 2.0,
    log: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Followed:
    """Poll the workflow until it is done, printing a line whenever a step's phase changes."""
    start, seen, lines = clock(), {}, []

    def say(text: str) -> None:
        lines.append(text)
        log(text)

    while True:
        current = api.get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL, name, **REQUEST
        )
        for node in steps(current):
            phase, label = node.get("phase", "Pending"), node.get("displayName", node.get("id"))
            if seen.get(node["id"]) != phase:
                seen[node["id"]] = phase
                note = f"  {node['message']}" if node.get("message") else ""
                say(f"{label:<32} {phase}{note}")
        phase = (current.get("status") or {}).get("phase")
        if phase in WORKFLOW_DONE:
            return Followed(current, clock() - start, lines)
        if clock() - start > timeout:
            running = [
                n.get("displayName", n["id"])
                for n in steps(current)
                if n.get("phase") in (None, "Pending", "Running")
            ]
            raise FollowTimeout(
                f"workflow {name} not done after {timeout:.0f}s (phase {phase or 'Pending'}); "
                f"still running: {', '.join(running) or '(no steps yet)'}"
            )
        sleep(poll)


def failure_logs(core, custom, namespace: str, workflow: dict, lines: int = LOG_LINES) -> list[str]:
    """For each failed step: its message and the last ``lines`` of its pod's (or TFJob's) logs."""
    name = workflow["metadata"]["name"]
    failed = [n for n in steps(workflow) if n.get("phase") in FAILED]
    if not failed:
        return []
    pods = core.list_namespaced_pod(
        namespace, label_selector=f"{WORKFLOW_LABEL}={name}", **REQUEST
    ).items
    by_node = {(p.metadata.annotations or {}).get(NODE_ANNOTATION): p.metadata.name for p in pods}
    out = []
    for node in failed:
        out.append(f"== {node.get('displayName')} {node['phase']}: {node.get('message', '')}")
        if node["id"] in by_node:
            out += _log(core, namespace, by_node[node["id"]], "main", lines)
        if node.get("type") == "Resource":
            for job in _owned_tfjobs(custom, namespace, workflow):
                selector = f"{TFJOB_LABEL}={job}"
                for pod in core.list_namespaced_pod(
                    namespace, label_selector=selector, **REQUEST
                ).items:
                    out += _log(core, namespace, pod.metadata.name, "tensorflow", lines)
    return out


def _owned_tfjobs(custom, namespace: str, workflow: dict) -> list[str]:
    from kubernetes.client.exceptions import ApiException

    uid = workflow["metadata"].get("uid")
    try:
        jobs = custom.list_namespaced_custom_object(
            "kubeflow.org", "v1", namespace, "tfjobs", **REQUEST
        )
    except ApiException:
        return []  # no TFJob CRD on this cluster
    return [
        j["metadata"]["name"]
        for j in jobs.get("items", [])
        if any(o.get("uid") == uid for o in j["metadata"].get("ownerReferences") or [])
    ]


def _log(core, namespace: str, pod: str, container: str, lines: int) -> list[str]:
    from kubernetes.client.exceptions import ApiException

    try:
        text = core.read_namespaced_pod_log(pod, namespace, container=container, tail_lines=lines)
    except ApiException as err:
        return [f"-- {pod}: no logs ({_reason(err)})"]
    return [f"-- {pod} (last {lines} lines):"] + [f"   {line}" for line in text.splitlines()]


# ---------------------------------------------------------------------------- command line


@dataclass(frozen=True)
class Flags(WorkflowFlags):
    file: str = option("", "the Workflow YAML file to submit")
    arguments: tuple[str, ...] | None = option(
        None, "workflow arguments as name=value, comma-separated (e.g. seed=7)"
    )
    namespace: str = option("", "namespace (default: the file's metadata.namespace, else dmlp)")
    timeout: float = option(600.0, "seconds to wait for the workflow to finish", minimum=1)
    poll: float = option(2.0, "seconds between status reads", minimum=0.1)
    generate_name: bool = option(False, "submit under a fresh name (NAME-xxxxx)")
    replace: bool = option(False, "delete a workflow of the same name first")
    verbose: bool = option(False, "the full traceback on unexpected errors")


def main(flags: Flags, custom=None, core=None) -> Followed:
    import urllib3

    from dmlp.argo import load

    data = load(flags.file)
    namespace = flags.namespace or data["metadata"].get("namespace") or "dmlp"
    body = prepare(data, flags.parameters, flags.generate_name)
    if custom is None or core is None:
        custom, core = clients()
    try:
        name = submit(custom, body, namespace, flags.replace)
    except (OSError, urllib3.exceptions.HTTPError) as err:
        raise UsageError(f"cannot reach the Kubernetes API: {str(err)[:200]}") from None
    print(f"submitted workflow {namespace}/{name}; following it (up to {flags.timeout:.0f}s)")
    done = follow(custom, namespace, name, flags.timeout, flags.poll)
    rows = [
        (n.get("displayName"), n.get("type"), n.get("phase"), n.get("message", "")[:60])
        for n in steps(done.workflow)
    ]
    cli.print_table(rows, ["step", "type", "phase", "message"], f"Workflow {name}: {done.phase}")
    if not done.succeeded:
        for line in failure_logs(core, custom, namespace, done.workflow):
            print(line)
        message = (done.workflow.get("status") or {}).get("message", "")
        raise WorkflowFailed(f"workflow {name} {done.phase}: {message}")
    print(f"workflow {name} Succeeded in {done.seconds:.0f}s")
    return done


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Flags))
