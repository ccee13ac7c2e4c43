"""Chapter 8, section 8.2 "Kubernetes: The distributed container orchestration system".

Claim: a Pod is the smallest thing Kubernetes runs: from a manifest (a dict here, a YAML file for
``kubectl``) the cluster pulls the image, runs the container and keeps its log; the Python client
does what ``kubectl create / get / logs / delete`` do, and this example watches the Pod go from
Pending to Succeeded and reads "hello world" back from its log. It needs a cluster (``make
kind-up``, then ``make deploy`` for the project image): without one it stops with that reason.

Run: python -m chapters.ch08_basics.kubernetes_basics [--namespace dmlp] [--timeout 300]
"""

import time
from dataclasses import dataclass, field

from dmlp.argo.conventions import IMAGE, NAMESPACE
from dmlp.example import cli, report
from dmlp.example.settings import CommonSettings, option
from dmlp.kube.client import clients


def hello_pod(name: str, message: str) -> dict:
    """The manifest: one container of the project image that prints ``message`` and exits."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "dmlp"}},
        "spec": {
            "restartPolicy": "Never",  # run once: the Pod ends Succeeded (or Failed)
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
            "containers": [
                {
                    "name": "hello",
                    "image": IMAGE,
                    "imagePullPolicy": "IfNotPresent",  # kind has it loaded (make deploy)
                    "command": ["python", "-c", f"print({message!r})"],
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                }
            ],
        },
    }


def run_pod(core, namespace: str, manifest: dict, timeout: float, poll: float = 1.0, log=print):
    """Create the Pod, follow its phase until it ends, read its log, delete it."""
    name = manifest["metadata"]["name"]
    core.create_namespaced_pod(namespace, manifest)  # kubectl create -f pod.yaml
    phases, start = [], time.monotonic()
    try:
        while True:
            phase = core.read_namespaced_pod(name, namespace).status.phase  # kubectl get pod
            if not phases or phases[-1] != phase:
                phases.append(phase)
                log(f"pod/{name}: {phase}")
            if phase in ("Succeeded", "Failed"):
                break
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"pod/{name} still {phase} after {timeout:.0f}s")
            time.sleep(poll)
        text = core.read_namespaced_pod_log(name, namespace)  # kubectl logs
    finally:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)  # kubectl delete
    return phases, text.strip(), time.monotonic() - start


# ---------------------------------------------------------------------------- the example


@dataclass(frozen=True)
class Settings(CommonSettings):
    namespace: str = option(NAMESPACE, "namespace to run the Pod in")
    message: str = option("hello world", "what the container prints")
    timeout: float = option(300.0, "seconds to wait for the Pod to finish", minimum=1)


@dataclass
class Result:
    phases: list[str]
    log: str
    seconds: float
    claim: report.Claim
    manifest: dict = field(default_factory=dict)


def main(settings: Settings, core=None) -> Result:
    if core is None:
        _, core = clients()
    manifest = hello_pod(f"hello-{int(time.time())}", settings.message)
    phases, text, seconds = run_pod(core, settings.namespace, manifest, settings.timeout)
    cli.print_table(
        [(manifest["metadata"]["name"], " -> ".join(phases), text, round(seconds, 1))],
        ["pod", "phases seen", "log", "seconds"],
        "A Pod, start to end",
    )
    held = phases[-1] == "Succeeded" and text == settings.message
    claim = report.finish(
        "8.2",
        f"the Pod went {' -> '.join(phases)} in {seconds:.0f}s and its log reads {text!r}",
        held,
        wrote="nothing (the Pod is deleted at the end)",
        phases=phases,
    )
    return Result(phases, text, seconds, claim, manifest)


if __name__ == "__main__":
    raise SystemExit(cli.run(main, Settings))
