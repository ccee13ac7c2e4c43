"""What a leaf template may run on this machine: the project image's Python and its modules.

A step's pod runs an image; here every step runs on this machine's Python, which stands in for
one image only, the project's (``dmlp:<tag>``, built from the repository's Dockerfile). So a
script step must be Python, a container step must run ``python -m chapters....``, and a TFJob's
replicas must all run one such module; any other image is refused before the run. Each function
gives ``(argo_refuses, message)`` for what it finds, or ``None``; :mod:`dmlp.argo.spec` raises it.
"""

from __future__ import annotations

import yaml

from dmlp.argo import expr

PYTHONS = ("python", "python3")
PROJECT_IMAGE = "dmlp"  # the image built from the repository's Dockerfile (any tag, any registry)
LOCAL_MODULES = ("chapters.",)  # what a container may run locally: the project image's modules
TFJOB_REPLICAS = ("Worker", "Chief", "PS")
Problem = tuple[bool, str] | None


def is_project_image(image: str) -> bool:
    """Whether ``image`` is the project's (``dmlp:<tag>``, from any registry)."""
    name = str(image).partition("@")[0]
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return repository.rsplit("/", 1)[-1] == PROJECT_IMAGE


def project_module(command_line: list[str]) -> str | None:
    """``chapters.x.y`` for ``["python", "-m", "chapters.x.y", ...]``, else ``None``."""
    if len(command_line) >= 3 and command_line[0] in PYTHONS and command_line[1] == "-m":
        if command_line[2].startswith(LOCAL_MODULES):
            return command_line[2]
    return None


def image_problem(image) -> Problem:
    if not image:  # validateLeaf: "container.image may not be empty" (no templateDefaults here)
        return True, "the image may not be empty"
    if not is_project_image(image):
        return False, (
            f"image {image!r} cannot run locally: steps run on this machine's Python, which "
            f"stands in for the project image ({PROJECT_IMAGE}:<tag>) only"
        )
    return None


def command_problem(c: dict, kind: str) -> Problem:
    """A script must be Python; a container must run a project module."""
    command = list(c.get("command") or [])
    if kind == "script":
        if not command or command[0] not in PYTHONS:
            return False, f"only Python scripts run locally (command {command or '(none)'})"
        return None
    line = command + list(c.get("args") or [])
    if not project_module(line):
        return False, (
            f"container command {' '.join(line)!r} cannot run locally: only "
            "'python -m chapters....' (the project image) is supported"
        )
    return None


def resource_problem(r: dict) -> Problem:
    """A resource step runs locally only as ``create`` of a TFJob whose replicas run one module."""
    text = r.get("manifest") or ""
    try:
        manifest = yaml.safe_load(expr.VARIABLE.sub("x", text))
    except yaml.YAMLError:
        manifest = None
        if r.get("action") not in ("delete", "get"):  # validateLeaf
            return True, "the resource manifest is not valid YAML"
    if r.get("action") not in ("delete", "get"):  # validateLeaf: a manifest, given once
        if not text and r.get("manifestFrom") is None:
            return True, "either resource.manifest or resource.manifestFrom must be specified"
        if text and r.get("manifestFrom") is not None:
            return True, "shouldn't have both manifest and manifestFrom"
    if r.get("action") != "create":
        return False, f"resource action {r.get('action')!r} (only create)"
    if not isinstance(manifest, dict) or manifest.get("kind") != "TFJob":
        kind = manifest.get("kind") if isinstance(manifest, dict) else None
        return False, f"resource kind {kind!r} (only TFJob runs locally)"
    replicas = (manifest.get("spec") or {}).get("tfReplicaSpecs") or {}
    if "Worker" not in replicas:
        return False, "the TFJob has no Worker replicas"
    commands = set()
    for kind, replica in replicas.items():
        if kind not in TFJOB_REPLICAS:
            return False, f"TFJob replica type {kind!r} is not supported"
        containers = (((replica.get("template") or {}).get("spec") or {}).get("containers")) or []
        if len(containers) != 1:
            return False, "each TFJob replica needs exactly one container"
        found = image_problem(containers[0].get("image"))
        if found:
            return found[0], f"TFJob {kind}: {found[1]}"
        line = list(containers[0].get("command") or []) + list(containers[0].get("args") or [])
        if not project_module(line):
            return False, (
                f"TFJob {kind} command {' '.join(line)!r} cannot run locally: only "
                "'python -m chapters....' is supported"
            )
        commands.add(tuple(line))
    if len(commands) > 1:
        return False, "TFJob replicas must all run the same command locally"
    if not r.get("successCondition"):  # executor/resource.go WaitResource, matchConditions
        return False, (
            "a TFJob step without successCondition succeeds on Argo as soon as the job is "
            "created, while the local run waits for its workers: add a successCondition"
        )
    if not r.get("failureCondition"):  # the same: only a condition that holds ends the wait
        return False, (
            "a TFJob step without failureCondition waits on Argo for ever once a worker fails, "
            "while the local run fails: add a failureCondition"
        )
    return None
