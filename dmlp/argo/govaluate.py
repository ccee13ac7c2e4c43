"""Argo's ``when`` language: govaluate as Argo's controller runs it (introduced in chapter 5).

Argo v4.1.2 (``workflow/controller/steps.go``, ``shouldExecute``) substitutes ``{{...}}`` first,
then hands the text to github.com/Knetic/govaluate (pinned at 7625b7f8c03d, its last commit) with
one change: every bare word, a govaluate variable, becomes a string, so ``heads == heads`` compares
two strings. An empty ``when`` runs the step; a result that is not a boolean is an error.

This module takes govaluate's own steps, so its answers, odd ones included, are govaluate's: the
lexer (``parsing.go``), the token-order check (``lexerState.go``), the planner that builds each
chain of equal operators right to left and then mirrors it (``stagePlanner.go``), and the
evaluation with its type checks and short cuts (``evaluationStage.go``, ``EvaluableExpression.go``).
What it does not reproduce is refused with a :class:`GovaluateError` that names it: a quoted
string govaluate would read as a date or time, a regular expression (``=~``, ``!~``) outside the
part of RE2 that Python reads alike, a fractional power, and a bitwise operator on a value Go's
float-to-integer conversion leaves undefined (:mod:`dmlp.argo.golang`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dmlp.argo import golang
from dmlp.argo.govaluate_lexer import (
    ACCESSOR,
    BOOLEAN,
    CLAUSE,
    CLAUSE_CLOSE,
    COMPARATOR,
    COMPARATORS,
    LOGICALOP,
    MODIFIER,
    NUMERIC,
    PATTERN,
    PREFIX,
    PREFIXES,
    SEPARATOR,
    STRING,
    TERNARIES,
    TERNARY,
    GovaluateError,
    Token,
    regexp,
    shown,
    tokens,
)

# The planner's levels, loosest first: (token kind, its symbols, govaluate's precedence number).
# The numbers do not order the levels; they only tell which neighbours _reorder mirrors together.
_LEVELS = [
    (SEPARATOR, {",": ","}, 13),
    (TERNARY, TERNARIES, 10),
    (LOGICALOP, {"||": "||"}, 12),
    (LOGICALOP, {"&&": "&&"}, 11),
    (COMPARATOR, COMPARATORS, 9),
    (MODIFIER, {s: s for s in ("&", "|", "^")}, 6),
    (MODIFIER, {">>": ">>", "<<": "<<"}, 7),
    (MODIFIER, {"+": "+", "-": "-"}, 5),
    (MODIFIER, {"*": "*", "/": "/", "%": "%"}, 8),
    (MODIFIER, {"**": "**"}, 4),
]
_PRECEDENCE = {"noop": 0, "literal": 1, "access": 2, "negate": 3, "!": 3, "~": 3}
_PRECEDENCE.update({sym: rank for _, symbols, rank in _LEVELS for sym in symbols.values()})
_ORDERING = ("<", "<=", ">", ">=")
_FLOAT_OPS = {
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": golang.divide,
    "%": golang.modulo,
    "**": golang.power,
    "&": lambda a, b: float(golang.to_int64(a) & golang.to_int64(b)),
    "|": lambda a, b: float(golang.to_int64(a) | golang.to_int64(b)),
    "^": lambda a, b: float(golang.to_int64(a) ^ golang.to_int64(b)),
    "<<": lambda a, b: golang.shift(a, b, left=True),
    ">>": lambda a, b: golang.shift(a, b, left=False),
}
_LOGICAL_MSG = "Value '{}' cannot be used with the logical operator '{}', it is not a bool"
_MODIFIER_MSG = "Value '{}' cannot be used with the modifier '{}', it is not a number"
_COMPARATOR_MSG = "Value '{}' cannot be used with the comparator '{}', it is not a number"
_PREFIX_MSG = "Value '{}' cannot be used with the prefix '{}'"
# findTypeChecks: symbol -> (type of the left value, of the right value, message); None: any.
_CHECKS = {
    "&&": (bool, bool, _LOGICAL_MSG),
    "||": (bool, bool, _LOGICAL_MSG),
    "=~": (str, (str, golang.GoRegexp), _COMPARATOR_MSG),
    "!~": (str, (str, golang.GoRegexp), _COMPARATOR_MSG),
    "in": (None, list, _COMPARATOR_MSG),
    "negate": (None, float, _PREFIX_MSG),
    "~": (None, float, _PREFIX_MSG),
    "!": (None, bool, _PREFIX_MSG),
    "?": (bool, None, "Value '{}' cannot be used with the ternary operator '{}', it is not a bool"),
    **{op: (float, float, _MODIFIER_MSG) for op in _FLOAT_OPS},
}
# `**` followed by a written integer (or 0.5): the powers golang.power reproduces bit for bit
_WHOLE_POWER = re.compile(r"\*\*\s*-?\s*(?:\d+(?:\.0*)?|0?\.50*)(?![\w.{\[(])")
_SKIPPED = object()  # the right side a ternary did not evaluate


@dataclass
class Stage:
    """One evaluationStage: an operator (or literal, or parenthesis) and its two sides."""

    symbol: str
    left: Stage | None = None
    right: Stage | None = None
    value: object = None


def evaluate(text: str) -> bool:
    """Evaluate a ``when`` after substitution, as ``shouldExecute`` does."""
    if text == "":
        return True
    plan = compile_when(text)
    try:
        result = _evaluate(plan)
    except GovaluateError as err:
        raise GovaluateError(f"Failed to evaluate 'when' expression '{text}': {err}") from None
    if not isinstance(result, bool):
        got = golang.format_value(result)
        raise GovaluateError(f"Expected boolean evaluation for '{text}'. Got {got}")
    return result


def compile_when(text: str) -> Stage:
    """Read ``text`` into govaluate's plan, or raise :class:`GovaluateError` as Argo would."""
    try:
        return _plan(tokens(text))
    except GovaluateError as err:
        raise GovaluateError(f"Invalid 'when' expression '{text}': {err}") from None
    except RecursionError:  # Go's stacks grow; Python's do not
        raise GovaluateError(f"'when' expression '{text}' nests too deeply") from None


def check_powers(text: str) -> None:
    """Refuse, before the run, a ``**`` whose exponent is not written as an integer (or 0.5).

    Such an exponent may turn out fractional, and Go computes fractional powers with its own
    ``Exp`` and ``Log`` (math/pow.go), which :func:`dmlp.argo.golang.power` does not reproduce.
    """
    for match in re.finditer(r"\*\*", text):
        if not _WHOLE_POWER.match(text, match.start()):
            raise GovaluateError(
                f"'when' expression '{text}': a power (**) whose exponent is not a written "
                "integer is not reproduced locally (Go's fractional powers use its own Exp and Log)"
            )


# ---------------------------------------------------------------------------- planner


class _Planner:
    """The precedents of stagePlanner.go over one token stream, rewinds and all."""

    def __init__(self, tokens: list[Token]):
        self.tokens, self.at = tokens, 0

    def more(self) -> bool:
        return self.at < len(self.tokens)

    def next(self) -> Token:
        if not self.more():  # an index out of range in Go
            raise GovaluateError("govaluate cannot plan this expression")
        self.at += 1
        return self.tokens[self.at - 1]

    def tokens_(self) -> Stage | None:
        return self.level(0) if self.more() else None

    def level(self, n: int) -> Stage | None:
        """planPrecedenceLevel: ``left OP (same level again)``; chains are mirrored later."""
        if n == len(_LEVELS):
            return self.function()
        kind, symbols, _ = _LEVELS[n]
        left = self.level(n + 1)
        while self.more():
            token = self.next()
            if token.kind != kind or token.value not in symbols:
                break
            return Stage(symbols[token.value], left, self.level(n))
        self.at -= 1  # as in Go, even when nothing was read
        return left

    def prefix(self) -> Stage | None:
        while self.more():
            token = self.next()
            if token.kind != PREFIX or token.value not in PREFIXES:
                break
            return Stage(PREFIXES[token.value], None, self.function())
        self.at -= 1
        return None

    def function(self) -> Stage | None:
        self.next()  # govaluate looks for a function name here; there are none
        self.at -= 1
        if not self.more():
            return None
        token = self.next()
        if token.kind != ACCESSOR:
            self.at -= 1
            return self.value()
        right = None
        if self.more():
            if self.next().kind == CLAUSE:
                self.at -= 1
                right = self.tokens_()
            else:
                self.at -= 1
        return Stage("access", None, right, token.value)

    def value(self) -> Stage | None:
        if not self.more():
            return None
        token = self.next()
        if token.kind == CLAUSE:
            inner = self.tokens_()
            self.next()  # the closing parenthesis, trusted to be there
            return Stage("noop", None, inner)
        if token.kind == CLAUSE_CLOSE:
            self.at -= 1
            return None
        if token.kind in (NUMERIC, STRING, PATTERN, BOOLEAN):
            return Stage("literal", value=token.value)
        if token.kind == PREFIX:
            self.at -= 1
            return self.prefix()
        raise GovaluateError(f"Unable to plan token kind: '{token.kind}', value: '{shown(token)}'")


def _plan(tokens: list[Token]) -> Stage:
    stage = _Planner(tokens).tokens_()
    if stage is None:  # govaluate dereferences the empty plan (a panic in Go)
        raise GovaluateError("nothing to evaluate")
    _reorder(stage)
    return stage


def _reorder(root: Stage) -> None:
    """reorderStages: mirror each run of equal-precedence stages down the right-hand side."""
    same: list[Stage] = []
    stage, precedence = root, _PRECEDENCE[root.symbol]
    while stage is not None:
        current, stage = stage, stage.right
        if current.left is not None:
            _reorder(current.left)
        if _PRECEDENCE[current.symbol] == precedence:
            same.append(current)
            continue
        if len(same) > 1:
            _mirror(same)
        same, precedence = [current], _PRECEDENCE[current.symbol]
    if len(same) > 1:
        _mirror(same)


def _mirror(stages: list[Stage]) -> None:
    """mirrorStageSubtree, step by step."""
    for s in stages:
        s.left, s.right = s.right, s.left
    root, end, n = stages[0], stages[-1], len(stages)
    end.left, root.right = root.right, end.left
    for i in range((n - 2) // 2 + 1):
        front, inverse = stages[i + 1], stages[n - i - 1]
        front.right, inverse.right = inverse.right, front.right
    for i in range(n // 2):
        front, inverse = stages[i], stages[n - i - 1]
        front.symbol, inverse.symbol = inverse.symbol, front.symbol
        front.value, inverse.value = inverse.value, front.value


# ---------------------------------------------------------------------------- evaluation


def _evaluate(stage: Stage):
    """evaluateStage: left, short cuts, right, type checks, then the operator."""
    symbol = stage.symbol
    left = None if stage.left is None else _evaluate(stage.left)
    if (symbol == "&&" and left is False) or (symbol == "||" and left is True):
        return left
    if symbol == "??" and left is not None:
        return left
    skip = (symbol == "?" and left is False) or (symbol == ":" and left is not None)
    right = _SKIPPED if skip else None if stage.right is None else _evaluate(stage.right)
    _type_check(symbol, left, right)
    try:
        return _apply(stage, left, right)
    except GovaluateError:
        raise
    except ValueError as err:  # what Go leaves undefined (golang.py says which)
        raise GovaluateError(str(err)) from None


def _type_check(symbol: str, left, right) -> None:
    """findTypeChecks: the types each operator accepts, checked before it runs."""
    shown = "-" if symbol == "negate" else symbol
    if symbol in _ORDERING and not (_both(left, right, float) or _both(left, right, str)):
        raise GovaluateError(_COMPARATOR_MSG.format(golang.format_value(left), shown))
    if symbol == "+" and not (_both(left, right, float) or _is(left, str) or _is(right, str)):
        raise GovaluateError(_MODIFIER_MSG.format(golang.format_value(left), shown))
    want_left, want_right, message = _CHECKS.get(symbol, (None, None, ""))
    for value, wanted in ((left, want_left), (right, want_right)):
        if wanted is not None and not _is(value, wanted):
            raise GovaluateError(message.format(golang.format_value(value), shown))


def _is(value, kinds) -> bool:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return any(type(value) is kind for kind in kinds)


def _both(left, right, kind) -> bool:
    return type(left) is kind and type(right) is kind


def _apply(stage: Stage, left, right):
    symbol = stage.symbol
    if symbol == "noop":
        return right
    if symbol == "literal":
        return stage.value
    if symbol == "access":  # Argo gives govaluate no parameters
        raise GovaluateError(f"No parameter '{stage.value[0]}' found.")
    if symbol in ("==", "!="):
        return _deep_equal(left, right) == (symbol == "==")
    if symbol in _ORDERING:
        orders = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}
        return orders[symbol]
    if symbol in ("=~", "!~"):
        pattern = right if isinstance(right, golang.GoRegexp) else regexp(right)
        return pattern.search(left) == (symbol == "=~")
    if symbol == "in":
        return any(_go_equal(left, item) for item in right)
    if symbol in ("&&", "||"):
        return left and right if symbol == "&&" else left or right
    if symbol == "+":
        if _is(left, str) or _is(right, str):
            return golang.format_value(left) + golang.format_value(right)
        return left + right
    if symbol in _FLOAT_OPS:
        return _FLOAT_OPS[symbol](left, right)
    if symbol == "negate":
        return -right
    if symbol == "!":
        return not right
    if symbol == "~":
        return float(~golang.to_int64(right))
    if symbol == "?":
        return right if left else None
    if symbol in (":", "??"):
        return left if left is not None else right
    return left + [right] if isinstance(left, list) else [left, right]  # ","


def _deep_equal(a, b) -> bool:  # reflect.DeepEqual
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_deep_equal, a, b))
    if isinstance(a, golang.GoRegexp):
        return a.source == b.source
    return a == b


def _go_equal(a, b) -> bool:  # Go's == on two interface values
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        raise GovaluateError("runtime error: comparing uncomparable type []interface {}")
    return a is b if isinstance(a, golang.GoRegexp) else a == b
