"""Argo's small languages, as far as the local runner needs them (introduced in chapter 5).

* ``{{...}}`` variables: :func:`substitute` replaces them from a flat scope
  (``inputs.parameters.x``, ``steps.prepare.outputs.result``, ``item``, ``workflow.name``, ...).
* ``when`` conditions: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` between plain or quoted words
  and numbers, joined by ``&&``, ``||``, ``!`` and parentheses (:func:`evaluate_when`).
* ``depends`` of a DAG task: ``A``, ``A.Succeeded``, ``A.Failed``, ``A.Skipped``, ``A.Errored``,
  ``A.Omitted``, ``A.AnySucceeded``, ``A.AllFailed`` with the same operators
  (:func:`evaluate_depends`).
* Go durations (``"30s"``, ``"1m30s"``, ``"500ms"``) for ``maxAge`` and ``backoff``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_TOKEN = re.compile(r"\s*(&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|'[^']*'|\"[^\"]*\"|[^\s()!<>=&|]+)")
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
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
    """An expression the local runner cannot read; the message names the expression."""


class MissingVariable(KeyError):
    """A ``{{variable}}`` with no value in scope."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"no value for {{{{{self.name}}}}}"


def substitute(text: str, scope: Mapping[str, str], strict: bool = True) -> str:
    """Replace every ``{{name}}`` in ``text`` by ``scope[name]``.

    Expression tags (``{{=...}}``) are not supported. With ``strict`` a name missing from the
    scope raises :class:`MissingVariable`; otherwise it is left as it was.
    """

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("="):
            raise ExpressionError(f"expression tags are not supported locally: {match.group(0)}")
        if name in scope:
            return str(scope[name])
        if strict:
            raise MissingVariable(name)
        return match.group(0)

    return VARIABLE.sub(replace, text)


# ---------------------------------------------------------------------------- boolean expressions


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or not match.group(1):
            raise ExpressionError(f"cannot read {text!r} at {text[pos:]!r}")
        tokens.append(match.group(1))
        pos = match.end()
    if not tokens:
        raise ExpressionError("empty expression")
    return tokens


class _Parser:
    """Recursive descent: or -> and -> not -> comparison -> atom."""

    def __init__(self, text: str, atom: Callable[[str], object], compare: bool):
        self.text, self.tokens, self.pos = text, _tokens(text), 0
        self.atom, self.compare = atom, compare

    def parse(self) -> bool:
        value = self.or_()
        if self.pos != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.pos]!r} in {self.text!r}")
        return bool(value)

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"{self.text!r} ends too early")
        self.pos += 1
        return token

    def or_(self):
        return self.chain("||", self.and_, any)

    def and_(self):
        return self.chain("&&", self.not_, all)

    def chain(self, op: str, operand, combine):
        value = operand()
        while self.peek() == op:
            self.take()
            right = operand()  # evaluated even when the left side decides: no side effects
            value = combine((_truth(value), _truth(right)))
        return value

    def not_(self):
        if self.peek() == "!":
            self.take()
            return not _truth(self.not_())
        return self.comparison()

    def comparison(self):
        left = self.primary()
        if self.peek() in _COMPARE:
            if not self.compare:
                raise ExpressionError(f"comparisons are not allowed in {self.text!r}")
            op = self.take()
            return _compare(left, op, self.primary())
        return left

    def primary(self):
        token = self.take()
        if token == "(":
            value = self.or_()
            if self.take() != ")":
                raise ExpressionError(f"missing ')' in {self.text!r}")
            return value
        if token in ("&&", "||", ")", *_COMPARE):
            raise ExpressionError(f"unexpected {token!r} in {self.text!r}")
        return self.atom(token)


def _truth(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _compare(left, op: str, right) -> bool:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        a, b = str(left), str(right)
        if op not in ("==", "!="):
            raise ExpressionError(f"cannot order {left!r} and {right!r} (not numbers)")
    return {
        "==": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


def _word(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token


def evaluate_when(text: str) -> bool:
    """A ``when`` condition after substitution, e.g. ``heads == heads`` or ``0.8 > 0.5``."""
    return _Parser(text, _word, compare=True).parse()


def check_when(text: str) -> None:
    """Raise :class:`ExpressionError` if ``when`` cannot be read (variables stand in as words)."""
    evaluate_when(VARIABLE.sub("x", text))


def depends_names(text: str) -> list[str]:
    """The task names a ``depends`` expression refers to, in order of appearance."""
    names: list[str] = []
    for token in _tokens(text):
        if token in ("&&", "||", "!", "(", ")"):
            continue
        name = token.split(".", 1)[0]
        if name not in names:
            names.append(name)
    return names


def evaluate_depends(text: str, state: Callable[[str, str], bool]) -> bool:
    """Evaluate ``depends``; ``state(task, "Succeeded")`` answers one ``task.State`` atom.

    A bare ``task`` means ``task.Succeeded || task.Skipped || task.Daemoned`` (Argo's rule).
    """

    def atom(token: str) -> bool:
        name, _, result = token.partition(".")
        if not result:
            return state(name, "Succeeded") or state(name, "Skipped")
        if result not in DEPENDS_STATES:
            raise ExpressionError(
                f"unknown result {result!r} in depends {text!r}; known: {', '.join(DEPENDS_STATES)}"
            )
        return state(name, result)

    return _Parser(text, atom, compare=False).parse()


def check_depends(text: str) -> None:
    """Check ``depends`` reads (raise :class:`ExpressionError` if not)."""
    evaluate_depends(text, lambda name, result: True)


# ---------------------------------------------------------------------------- durations

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(value: str | int | float, what: str = "duration") -> float:
    """Seconds in a Go duration (``"1m30s"``) or a plain number of seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if _number(text) is not None:
        return float(text)
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ExpressionError(f"{what} {value!r} is not a duration like 30s, 1m30s or 500ms")
    return total
