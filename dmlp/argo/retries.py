"""A template's ``retryStrategy``: whether a failed attempt is tried again, and after how long.

As Argo v4.1.2 decides it after each attempt (``processNodeRetries`` in
``workflow/controller/operator.go``; ``docs/retries.md``):

* ``retryPolicy`` (``RetryPolicyActual``): ``OnFailure`` by default, which retries Failed
  attempts (the program exited non-zero) and not Error ones (anything else went wrong);
  ``OnError`` retries Error only; ``Always`` both; ``OnTransientError`` retries either when its
  message is a transient error (``util/errors/errors.go``: a few network and etcd messages, or
  the ``TRANSIENT_ERROR_PATTERN`` regular expression from the environment);
* ``limit``: at most that many retries; no ``limit`` means no cap;
* ``backoff``: wait ``duration * factor ** (attempts - 1)``, at most ``cap``; Argo waits only when
  a ``limit`` is set; past ``maxDuration`` after the first attempt started, no more attempts.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dmlp.argo import expr

POLICIES = ("Always", "OnFailure", "OnError", "OnTransientError")
FIELDS = {"limit", "retryPolicy", "backoff", "affinity"}  # affinity: which node, cluster only
BACKOFF_FIELDS = {"duration", "factor", "cap", "maxDuration"}
# The messages isTransientErr recognises in a plain error string (errors.go).
TRANSIENT = (
    "etcdserver: leader changed",
    "etcdserver: request timed out",
    "etcdserver: too many requests",
    "unexpected error when reading response body",
    "stream error when reading response body",
    "Connection closed by foreign host",
    "net/http: TLS handshake timeout",
    "i/o timeout",
    "connection timed out",
    "connection reset by peer",
    "http2: client connection lost",
    "http2: server sent GOAWAY and closed the connection",
    "request did not complete within requested timeout",
    "connect: connection refused",
    "invalid connection",
    "client rate limiter Wait returned an error",
    "upper: no more rows in",
)
_EXIT = re.compile(r"^exit code (-?\d+)")


def problem(retry: dict) -> str | None:
    """What in a ``retryStrategy`` Argo refuses or the runner cannot do, or ``None``."""
    if not isinstance(retry, dict):
        return "must be a mapping"
    backoff = retry.get("backoff")
    for found, known in ((retry, FIELDS), (backoff or {}, BACKOFF_FIELDS)):
        for key in found:
            if key not in known:
                return f"{key!r} is not supported by the local runner"
    if retry.get("limit") is not None and not str(retry["limit"]).isdigit():
        return "limit must be a whole number"
    if backoff is None:
        return None
    if not backoff.get("duration"):  # processNodeRetries errs at the first retry
        return "backoff needs a duration"
    if "factor" in backoff and not str(backoff["factor"]).lstrip("-").isdigit():
        return "backoff.factor must be a whole number (Argo reads it as an int)"
    for key in ("duration", "cap", "maxDuration"):
        if key in backoff:
            try:
                expr.duration(backoff[key], f"backoff.{key}")
            except expr.ExpressionError as err:
                return str(err)
    return None


def transient(message: str) -> bool:
    """Whether Argo counts a node's ``message`` as a transient error.

    A step that exited non-zero has Argo's message ``main: Error (exit code N)`` there, whatever
    it printed; that is the text checked for it.
    """
    exited = _EXIT.match(message)
    text = f"main: Error (exit code {exited.group(1)})" if exited else message
    pattern = os.environ.get("TRANSIENT_ERROR_PATTERN", "")
    return any(s in text for s in TRANSIENT) or bool(pattern and re.search(pattern, text))


@dataclass(frozen=True)
class Retries:
    """One template's retry strategy (none: a single attempt)."""

    limit: int | None = 0  # retries after the first attempt; None: no cap
    policy: str = "OnFailure"
    duration: float = 0.0
    factor: int = 1
    cap: float | None = None
    max_duration: float | None = None
    has_backoff: bool = False

    @classmethod
    def of(cls, t: dict) -> Retries:
        retry = t.get("retryStrategy")
        if retry is None:
            return cls()
        backoff = retry.get("backoff")
        b = backoff or {}
        return cls(
            limit=int(retry["limit"]) if retry.get("limit") is not None else None,
            policy=retry.get("retryPolicy") or "OnFailure",
            duration=expr.duration(b.get("duration", 0)),
            factor=int(b.get("factor") or 1),
            cap=expr.duration(b["cap"]) if b.get("cap") else None,
            max_duration=expr.duration(b["maxDuration"]) if b.get("maxDuration") else None,
            has_backoff=backoff is not None,
        )

    def retries(self, phase: str, message: str) -> bool:
        """Whether the policy retries an attempt that ended ``phase`` with ``message``."""
        if self.policy == "Always":
            return True
        if self.policy == "OnTransientError":
            return transient(message)
        return phase == ("Error" if self.policy == "OnError" else "Failed")

    def next_wait(self, attempts: int, elapsed: float) -> tuple[float | None, str]:
        """``(seconds to wait, "")`` before another attempt, or ``(None, why not)``.

        ``attempts`` have been made, the first started ``elapsed`` seconds ago.
        """
        if self.limit is not None and attempts > self.limit:
            return None, "No more retries left"
        if not self.has_backoff:
            return 0.0, ""
        if self.max_duration is not None and elapsed > self.max_duration:
            return None, "Max duration limit exceeded"
        wait = self.duration * self.factor ** (attempts - 1) if self.factor > 0 else self.duration
        if self.cap is not None:
            wait = min(wait, self.cap)
        if self.max_duration is not None and elapsed + wait > self.max_duration:
            return None, "Backoff would exceed max duration limit"
        return (wait if self.limit is not None else 0.0), ""

    def attempt_seconds(self, elapsed: float) -> float | None:
        """How long a retry may run: until ``maxDuration`` after the first attempt started."""
        if self.max_duration is None:
            return None
        return max(self.max_duration - elapsed, 0.0)
