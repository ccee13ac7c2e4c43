"""Stage 3, webhook rules: what an operator's admission webhook refuses although the CRD schema
allows it (the CRD leaves enums as plain strings; names and replica types are checked in Go).

Today one webhook: the TFJob's, from the Training Operator v1.9.4. Another operator's rules go
here as one more function, registered in :data:`RULES` under the kind it admits.
"""

from __future__ import annotations

import difflib
import re

# Training Operator v1.9.4, pkg/webhooks/tensorflow/tfjob_webhook.go and the Go enums of
# pkg/apis/kubeflow.org/v1/{common,tensorflow}_types.go (the CRD leaves these as plain strings).
TFJOB_REPLICA_TYPES = ("Chief", "Master", "PS", "Worker", "Evaluator")
TFJOB_CONTAINER = "tensorflow"
TFJOB_ENUMS = {
    "restartPolicy": ("Always", "OnFailure", "Never", "ExitCode"),
    "cleanPodPolicy": ("", "All", "Running", "None"),
    "successPolicy": ("", "AllWorkers"),
}
DNS1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def operator_rules(doc: dict) -> list[tuple[str, str]]:
    """What an operator's admission webhook rejects although the CRD schema allows it:
    ``(field path, message)`` pairs, none for a kind no webhook admits."""
    rules = RULES.get((doc["apiVersion"], doc["kind"]))
    return rules(doc) if rules else []


def tfjob_rules(doc: dict) -> list[tuple[str, str]]:
    """The TFJob webhook's checks (``validateTFJob``): name, enums, replica types, container."""
    found = []
    if not DNS1035.match(doc["metadata"]["name"]):
        found.append(("metadata.name", "a TFJob name must be a DNS-1035 label (a-z, 0-9, '-')"))
    spec = doc.get("spec") or {}
    policy = (spec.get("runPolicy") or {}).get("cleanPodPolicy")
    if policy is not None and policy not in TFJOB_ENUMS["cleanPodPolicy"]:
        found.append(
            (
                "spec.runPolicy.cleanPodPolicy",
                f"{policy!r} is not one of {TFJOB_ENUMS['cleanPodPolicy']}",
            )
        )
    success = spec.get("successPolicy")
    if success is not None and success not in TFJOB_ENUMS["successPolicy"]:
        found.append(
            ("spec.successPolicy", f"{success!r} is not one of {TFJOB_ENUMS['successPolicy']}")
        )
    replicas = spec.get("tfReplicaSpecs")
    if not isinstance(replicas, dict) or not replicas:
        return [*found, ("spec.tfReplicaSpecs", "required: at least one replica type")]
    chiefs = [t for t in replicas if t in ("Chief", "Master")]
    if len(chiefs) > 1:
        found.append(("spec.tfReplicaSpecs", "at most one Chief or Master"))
    for rtype, rspec in replicas.items():
        base = f"spec.tfReplicaSpecs.{rtype}"
        if rtype not in TFJOB_REPLICA_TYPES:
            close = difflib.get_close_matches(rtype, TFJOB_REPLICA_TYPES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(
                (base, f"unknown replica type {rtype!r}{hint}; valid: {TFJOB_REPLICA_TYPES}")
            )
        rspec = rspec or {}
        restart = rspec.get("restartPolicy")
        if restart is not None and restart not in TFJOB_ENUMS["restartPolicy"]:
            found.append(
                (
                    f"{base}.restartPolicy",
                    f"{restart!r} is not one of {TFJOB_ENUMS['restartPolicy']}",
                )
            )
        containers = ((rspec.get("template") or {}).get("spec") or {}).get("containers") or []
        names = [c.get("name") for c in containers if isinstance(c, dict)]
        if TFJOB_CONTAINER not in names:
            found.append(
                (
                    f"{base}.template.spec.containers",
                    f"needs a container named {TFJOB_CONTAINER!r} (the operator's default "
                    f"container; found {names})",
                )
            )
    return found


# (apiVersion, kind) -> its webhook's checks; a webhook admits the versions it is registered for
# (the TFJob one: groups=kubeflow.org, versions=v1).
RULES = {("kubeflow.org/v1", "TFJob"): tfjob_rules}
