"""Argo's small languages, as far as the local runner needs them (introduced in chapter 5).

Each follows Argo v4.1.2, or raises :class:`ExpressionError` naming what the runner does not do.

* ``{{...}}`` variables: :func:`substitute` replaces them from a flat scope
  (``inputs.parameters.x``, ``steps.prepare.outputs.result``, ``item``, ``workflow.name``, ...).
* ``when`` conditions: govaluate after substitution, as ``shouldExecute`` in
  ``workflow/controller/steps.go`` runs it (:func:`evaluate_when`, :mod:`dmlp.argo.govaluate`):
  bare words are strings, ``false`` skips, a result that is not a boolean is an error.
* ``depends`` of a DAG task: ``A``, ``A.Succeeded``, ``A.Failed``, ``A.Errored``, ``A.Skipped``,
  ``A.Omitted``, ``A.Daemoned``, ``A.AnySucceeded``, ``A.AllFailed`` joined by ``&&``, ``||``,
  ``!`` and parentheses, spaces optional (:func:`evaluate_depends`), as ``GetTaskDependencies``
  in ``workflow/common/ancestry.go`` reads it.
* Go durations (``"30s"``, ``"1m30s"``, ``"500ms"``) for ``maxAge`` and ``backoff``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import contextmanager

from dmlp.argo import govaluate

VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
# A depends token: an operator, or a task name (ancestry.go's taskNameRegex) with its result.
_DEPENDS_TOKEN = re.compile(r"\s*(?:(&&|\|\||!|\(|\))|([a-zA-Z0-9][-a-zA-Z0-9]*)(?:\.(\w+))?)")
_PLACEHOLDERS = ("0", "x")  # stand-ins for {{...}} when a when is checked before the run
_DEPENDS_OPERATORS = ("&&", "||", "!", "(", ")")
DEPENDS_STATES = (
    "Succeeded",
    "Failed",
    "Skipped",
    "Errored",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
)


class ExpressionError(ValueError):
    """An expression Argo rejects or the local runner cannot run; the message names it."""


class MissingVariable(KeyError):
    """A ``{{variable}}`` with no value in scope."""

    def __init__(self, name: str, why: str = ""):
        super().__init__(name)
        self.name, self.why = name, why

    def __str__(self) -> str:
        return f"no value for {{{{{self.name}}}}}" + (f": {self.why}" if self.why else "")


class _Absent(str):
    """The value of an output whose node was skipped or omitted and that declares no default."""


ABSENT = _Absent("")
_ABSENT_WHY = "its node was skipped or omitted and the output declares no default"


# The tags Argo resolves or refuses (workflow/common/common.go,
# GlobalVarValidWorkflowVariablePrefix); any other tag ({{item}} outside a loop) stays as written.
ARGO_PREFIXES = ("item.", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")


def substitute(text: str, scope: Mapping[str, str], strict: bool = True) -> str:
    """Replace every ``{{name}}`` in ``text`` by ``scope[name]``.

    Expression tags (``{{=...}}``) are not supported. A name missing from the scope is left as
    it was, unless ``strict`` and it starts with one of :data:`ARGO_PREFIXES`: then it raises
    :class:`MissingVariable`.
    """

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("="):
            raise ExpressionError(f"expression tags are not supported locally: {match.group(0)}")
        if name in scope:
            if scope[name] is ABSENT:
                raise MissingVariable(name, _ABSENT_WHY)
            return str(scope[name])
        if strict and name.startswith(ARGO_PREFIXES):
            raise MissingVariable(name)
        return match.group(0)

    return VARIABLE.sub(replace, text)


def names_absent(text: str, scope: Mapping[str, str]) -> bool:
    """True if ``text`` is one ``{{...}}`` naming an absent output (see :data:`ABSENT`)."""
    match = VARIABLE.fullmatch(text)
    return bool(match) and scope.get(match.group(1)) is ABSENT


# ---------------------------------------------------------------------------- when


@contextmanager
def _as_expression_error():
    try:
        yield
    except govaluate.GovaluateError as err:
        raise ExpressionError(str(err)) from None


def evaluate_when(text: str) -> bool:
    """A ``when`` after substitution: ``heads == heads``, ``0.9 > 0.85``, ``false``, ``a < b``."""
    with _as_expression_error():
        return govaluate.evaluate(text)


def check_when(text: str) -> None:
    """Raise :class:`ExpressionError` if ``when`` cannot be read whatever its variables hold.

    Only the text is checked: each ``{{...}}`` stands for a number or a word, and the values are
    compared at run time, so ``{{x}} > 0.8`` passes here.
    """
    substitute(text, {}, strict=False)  # refuses expression tags
    with _as_expression_error():
        govaluate.check_powers(text)
    for placeholder in _PLACEHOLDERS:
        try:
            govaluate.compile_when(VARIABLE.sub(placeholder, text))
            return
        except govaluate.GovaluateError as err:
            error = str(err).replace(VARIABLE.sub(placeholder, text), text)
    raise ExpressionError(error)


# ---------------------------------------------------------------------------- depends


def _depends_tokens(text: str) -> list[tuple[str, str | None]]:
    """``(operator, None)`` or ``(task, result or None)`` pairs; spaces are optional."""
    tokens, pos = [], 0
    while text[pos:].strip():
        match = _DEPENDS_TOKEN.match(text, pos)
        if not match:
            raise ExpressionError(
                f"cannot read depends {text!r} at {text[pos:].strip()!r}: it takes task names, "
                "TASK.Result, &&, ||, ! and parentheses"
            )
        operator, name, result = match.groups()
        if operator:
            tokens.append((operator, None))
        elif name[0].isdigit():
            raise ExpressionError(f"task name {name!r} in depends {text!r} begins with a digit")
        elif result is not None and result not in DEPENDS_STATES:
            raise ExpressionError(
                f"unknown result {result!r} in depends {text!r}; known: {', '.join(DEPENDS_STATES)}"
            )
        else:
            tokens.append((name, result))
        pos = match.end()
    if not tokens and text:
        raise ExpressionError(f"empty depends {text!r}")
    return tokens


def depends_names(text: str) -> list[str]:
    """The task names a ``depends`` expression refers to, in order of appearance."""
    return list(dict.fromkeys(name for name, result in depends_atoms(text)))


def depends_atoms(text: str) -> list[tuple[str, str | None]]:
    """Each ``(task, result)`` a ``depends`` names, in order; ``result`` is None for a bare name."""
    return [token for token in _depends_tokens(text) if token[0] not in _DEPENDS_OPERATORS]


def evaluate_depends(text: str, state: Callable[[str, str], bool]) -> bool:
    """Evaluate ``depends``; ``state(task, "Succeeded")`` answers one ``task.Result`` atom.

    A bare ``task`` means ``(task.Succeeded || task.Skipped || task.Daemoned)``, as
    ``expandDependency`` in ``workflow/common/ancestry.go`` writes it (Argo refuses ``continueOn``
    next to ``depends``, so nothing else joins it). ``!`` binds tightest, then ``&&``, then ``||``.
    """
    tokens, pos = _depends_tokens(text), 0
    if not tokens:  # `depends: ""` is no depends (ancestry.go, getTaskDependsLogic)
        return True

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take() -> tuple[str, str | None]:
        nonlocal pos
        if pos == len(tokens):
            raise ExpressionError(f"depends {text!r} ends too early")
        pos += 1
        return tokens[pos - 1]

    def either() -> bool:
        value = both()
        while peek() == "||":
            take()
            value = both() or value  # every operand is read, so a bad one is always reported
        return value

    def both() -> bool:
        value = negation()
        while peek() == "&&":
            take()
            value = negation() and value
        return value

    def negation() -> bool:
        if peek() == "!":
            take()
            return not negation()
        name, result = take()
        if name == "(":
            value = either()
            if take()[0] != ")":
                raise ExpressionError(f"missing ')' in depends {text!r}")
            return value
        if name in _DEPENDS_OPERATORS:
            raise ExpressionError(f"unexpected {name!r} in depends {text!r}")
        if result is None:
            return any(state(name, r) for r in ("Succeeded", "Skipped", "Daemoned"))
        return state(name, result)

    value = either()
    if pos != len(tokens):
        raise ExpressionError(f"unexpected {tokens[pos][0]!r} in depends {text!r}")
    return value


def check_depends(text: str) -> None:
    """Check ``depends`` reads (raise :class:`ExpressionError` if not)."""
    evaluate_depends(text, lambda name, result: True)


# ---------------------------------------------------------------------------- durations

_DURATION = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def duration(value: str | int, what: str = "duration") -> float:
    """Seconds in ``ParseStringToDuration(value)`` (``pkg/apis/workflow/v1alpha1/utils.go``), how
    Argo reads a retry backoff: a whole number of seconds (``"30"``), else a Go duration
    (``"1m30s"``, ``"500ms"``); ``"1.5"`` is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    text = str(value)
    if re.fullmatch(r"[+-]?[0-9]+", text):  # strconv.Atoi
        return float(int(text))
    return go_duration(text, what)


def go_duration(text: str, what: str = "duration") -> float:
    """Seconds in ``time.ParseDuration(text)``: ``"1m30s"``, ``"500ms"``, ``"-2h"``, ``"0"``;
    a number without a unit is an error (``memoize.maxAge`` is read this way)."""
    body = text[1:] if text[:1] in "+-" else text
    sign = -1.0 if text[:1] == "-" else 1.0
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        raise ExpressionError(f"{what} {text!r} is not a duration like 30s, 1m30s or 500ms")
    return sign * total
