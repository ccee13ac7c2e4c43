"""The local memoization cache: one JSON file per cache name (introduced in chapter 5, 5.4).

On Argo, ``memoize.cache.configMap.name`` names a ConfigMap in the controller's namespace; each
key holds ``{"nodeID", "outputs", "creationTimestamp", "lastHitTimestamp"}`` as JSON. Here the
ConfigMap is ``<cache_dir>/<name>.json`` with the same entries, so the cache survives a new process
exactly as the ConfigMap survives a new workflow. Keys follow Argo's rule: letters, digits and
dashes, starting with a letter or digit.

A cached output artifact is kept as Argo keeps it, in a store of its own: Argo's entry names the
artifact's key in the artifact repository, which no later run changes; here the entry names a copy
under ``<cache_dir>/<name>.artifacts/<key>/``, not the step's folder of the run that made it
(removed after the run, or overwritten when a work dir is reused).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from dmlp.argo.artifacts import copy_artifact
from dmlp.example.errors import UsageError

KEY = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")  # Argo v4.1's cacheKeyRegex
# a ConfigMap's name: a DNS-1123 subdomain (k8s.io/apimachinery IsDNS1123Subdomain), 253 at most
CONFIGMAP_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


class MemoCache:
    """``load(name, key, max_age)`` -> outputs or ``None``; ``save(name, key, node, outputs)``."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        if not CONFIGMAP_NAME.match(name):
            raise UsageError(f"cache name {name!r} is not a valid ConfigMap name")
        return self.directory / f"{name}.json"

    def _read(self, name: str) -> dict:
        path = self.path(name)
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise UsageError(f"memoization cache {path} is unreadable: {err}") from None
        return {k: json.loads(v) if isinstance(v, str) else v for k, v in data.items()}

    def _write(self, name: str, entries: dict) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Values are JSON strings, as in the ConfigMap's data.
        data = {k: json.dumps(v, sort_keys=True) for k, v in entries.items()}
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path(name))

    @staticmethod
    def check_key(key: str) -> None:
        if not KEY.match(key):
            raise UsageError(
                f"invalid cache key {key!r}: Argo accepts letters, digits and '-' only"
            )

    def load(self, name: str, key: str, max_age: float | None = None) -> dict | None:
        """The cached outputs for ``key``, or ``None`` when missing or older than ``max_age`` s."""
        self.check_key(key)
        with self._lock:
            entries = self._read(name)
            entry = entries.get(key)
            if not entry or not entry.get("nodeID"):
                return None
            age = (_now() - _parse(entry["creationTimestamp"])).total_seconds()
            if max_age is not None and age > max_age:
                return None
            outputs = entry.get("outputs") or {}
            if not all(Path(p).exists() for p in (outputs.get("artifacts") or {}).values()):
                return None  # its stored artifacts were deleted: run the step again
            entry["lastHitTimestamp"] = _stamp(_now())
            self._write(name, entries)
            return outputs

    def save(self, name: str, key: str, node_id: str, outputs: dict) -> None:
        self.check_key(key)
        with self._lock:
            outputs = self._store_artifacts(name, key, outputs)
            entries = self._read(name)
            now = _stamp(_now())
            entries[key] = {
                "nodeID": node_id,
                "outputs": outputs,
                "creationTimestamp": now,
                "lastHitTimestamp": now,
            }
            self._write(name, entries)

    def _store_artifacts(self, name: str, key: str, outputs: dict) -> dict:
        """``outputs`` with each artifact copied to the cache's own store (replacing the key's)."""
        found = outputs.get("artifacts") or {}
        if not found:
            return outputs
        store = self.path(name).with_suffix(".artifacts") / key
        self.directory.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=self.directory, prefix=f".{name}-{key}-"))
        for artifact, path in found.items():
            copy_artifact(path, str(fresh / artifact))
        shutil.rmtree(store, ignore_errors=True)
        store.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh, store)
        stored = {artifact: str(store / artifact) for artifact in found}
        return {**outputs, "artifacts": stored}

    def entries(self, name: str) -> dict:
        with self._lock:
            return self._read(name)
