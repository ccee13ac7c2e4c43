"""govaluate's lexer, as Argo's ``when`` uses it (see :mod:`dmlp.argo.govaluate`).

Reads a ``when`` into govaluate's tokens (``parsing.go``, ``readToken``) and checks their order
(``lexerState.go``, ``checkExpressionSyntax``). :func:`tokens` also makes Argo's change
(``workflow/controller/steps.go``, ``shouldExecute``): each variable, a bare word, becomes a string.
Pinned at github.com/Knetic/govaluate 7625b7f8c03d, the version Argo v4.1.2's go.mod names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from dmlp.argo import golang


class GovaluateError(ValueError):
    """What govaluate (or Argo around it) rejects, or what this port does not reproduce."""


# Token kinds, named as govaluate's TokenKind prints them.
PREFIX, NUMERIC, BOOLEAN, STRING, PATTERN, VARIABLE = (
    "PREFIX", "NUMERIC", "BOOLEAN", "STRING", "PATTERN", "VARIABLE"
)  # fmt: skip
COMPARATOR, LOGICALOP, MODIFIER, TERNARY, SEPARATOR = (
    "COMPARATOR", "LOGICALOP", "MODIFIER", "TERNARY", "SEPARATOR"
)  # fmt: skip
CLAUSE, CLAUSE_CLOSE, ACCESSOR, START = "CLAUSE", "CLAUSE_CLOSE", "ACCESSOR", "UNKNOWN"
# checkExpressionSyntax's table: kind -> (may end the text, the kinds that may follow it).
_OPERAND = {NUMERIC, BOOLEAN, VARIABLE, ACCESSOR}
_AFTER_VALUE = (True, {MODIFIER, COMPARATOR, LOGICALOP, CLAUSE_CLOSE, TERNARY, SEPARATOR})
_SYNTAX = {
    START: (False, {PREFIX, STRING, PATTERN, CLAUSE} | _OPERAND),
    CLAUSE: (False, {PREFIX, STRING, PATTERN, CLAUSE, CLAUSE_CLOSE} | _OPERAND),
    CLAUSE_CLOSE: (True, {STRING, PATTERN, CLAUSE} | _AFTER_VALUE[1] | _OPERAND - {ACCESSOR}),
    NUMERIC: _AFTER_VALUE,
    BOOLEAN: _AFTER_VALUE,
    STRING: _AFTER_VALUE,
    VARIABLE: _AFTER_VALUE,
    PATTERN: (True, {MODIFIER, COMPARATOR, LOGICALOP, CLAUSE_CLOSE, SEPARATOR}),
    MODIFIER: (False, {PREFIX, STRING, CLAUSE, CLAUSE_CLOSE} | _OPERAND),
    COMPARATOR: (False, {PREFIX, STRING, CLAUSE, CLAUSE_CLOSE, PATTERN} | _OPERAND),
    LOGICALOP: (False, {PREFIX, STRING, CLAUSE, CLAUSE_CLOSE} | _OPERAND),
    PREFIX: (False, {CLAUSE, CLAUSE_CLOSE} | _OPERAND),
    TERNARY: (False, {PREFIX, STRING, CLAUSE, SEPARATOR} | _OPERAND),
    ACCESSOR: (True, {CLAUSE} | _AFTER_VALUE[1]),
    SEPARATOR: (False, {PREFIX, STRING, CLAUSE} | _OPERAND),
}
PREFIXES = {"-": "negate", "!": "!", "~": "~"}
COMPARATORS = {s: s for s in ("==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in")}
_LOGICAL = {"&&": "&&", "||": "||"}
_MODIFIERS = {s: s for s in ("+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<")}
TERNARIES = {"?": "?", ":": ":", "??": "??"}
_HEX = re.compile(r"[0-9a-fA-F]+")
_FLOAT = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


@dataclass
class Token:
    """One ExpressionToken: its kind and its value (a float, bool, str, list or pattern)."""

    kind: str
    value: object


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` as Argo hands them to govaluate the second time, checked twice."""
    found = _lex(text)
    _check_order(text, found)
    _patterns(found)
    # Argo turns variables into strings and builds the expression again from the tokens.
    found = [Token(STRING, t.value) if t.kind == VARIABLE else t for t in found]
    _check_order(text, found)
    _patterns(found)
    return found


def _space(c: str) -> bool:  # unicode.IsSpace
    return c in "\t\n\v\f\r \x85\xa0" or (c > "\xff" and c.isspace())


class _Chars:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def more(self) -> bool:
        return self.pos < len(self.text)

    def read(self) -> str:
        if not self.more():  # govaluate reads past the end (a panic in Go)
            raise GovaluateError("a backslash at the end of the expression")
        self.pos += 1
        return self.text[self.pos - 1]

    def until(self, keep_space: bool, stop_at_space: bool, wanted) -> tuple[str, bool]:
        """readUntilFalse: a backslash takes the next character as it is."""
        out: list[str] = []
        while self.more():
            c = self.read()
            if c == "\\":
                out.append(self.read())
                continue
            if _space(c):
                if stop_at_space and out:
                    return "".join(out), True
                if not keep_space:
                    continue
            if not wanted(c):
                self.pos -= 1
                return "".join(out), True
            out.append(c)
        return "".join(out), False

    def run(self, wanted) -> str:
        """readTokenUntilFalse: the run that starts with the character just read."""
        self.pos -= 1
        return self.until(False, True, wanted)[0]


def _lex(text: str) -> list[Token]:
    chars, found, state = _Chars(text), [], START
    while chars.more():
        token = _read_token(chars, state)
        if token is None:
            break
        found.append(token)
        state = token.kind
    if sum({CLAUSE: 1, CLAUSE_CLOSE: -1}.get(t.kind, 0) for t in found) != 0:
        raise GovaluateError("Unbalanced parenthesis")
    return found


def _read_token(chars: _Chars, state: str) -> Token | None:
    while chars.more():
        c = chars.read()
        if _space(c):
            continue
        if _digit(c) or c == ".":
            if c == "0" and chars.more():
                if chars.read() == "x" and chars.more():
                    return Token(NUMERIC, _hex(chars.until(False, True, _hex_digit)[0]))
                chars.pos -= 1
            return Token(NUMERIC, _decimal(chars.run(lambda ch: _digit(ch) or ch == ".")))
        if c == ",":
            return Token(SEPARATOR, ",")
        if c == "[":
            name, closed = chars.until(True, False, lambda ch: ch != "]")
            if not closed:
                raise GovaluateError("Unclosed parameter bracket")
            chars.pos += 1
            return Token(VARIABLE, name)
        if c.isalpha():
            return _word(chars.run(lambda ch: ch.isalpha() or _digit(ch) or ch in "_."))
        if c in "'\"":
            value, closed = chars.until(True, False, lambda ch: ch not in "'\"")
            if not closed:
                raise GovaluateError("Unclosed string literal")
            chars.pos += 1
            if golang.looks_like_time(value):
                raise GovaluateError(
                    f"'{value}' is a date or time to govaluate (compared as Unix seconds in the "
                    "controller's time zone); the local runner does not reproduce that"
                )
            return Token(STRING, value)
        if c in "()":
            return Token(CLAUSE if c == "(" else CLAUSE_CLOSE, c)
        symbol = chars.run(lambda ch: not (ch.isalpha() or _digit(ch) or ch in "()[]'\""))
        if PREFIX in _SYNTAX[state][1] and symbol in PREFIXES:
            return Token(PREFIX, symbol)
        for kind, table in (
            (MODIFIER, _MODIFIERS),
            (LOGICALOP, _LOGICAL),
            (COMPARATOR, COMPARATORS),
            (TERNARY, TERNARIES),
        ):
            if symbol in table:
                return Token(kind, symbol)
        raise GovaluateError(
            f"Invalid token: '{symbol}' (hint: try wrapping the affected expression in quotes)"
        )
    return None


def _digit(c: str) -> bool:  # unicode.IsDigit (Nd); Python's isdigit and isalnum take more
    return c.isdecimal()


def _hex_digit(c: str) -> bool:
    return _digit(c) or c.lower() in "abcdef"


def _hex(text: str) -> float:
    """strconv.ParseUint(text, 16, 64)."""
    if not _HEX.fullmatch(text) or int(text, 16) >= 2**64:
        raise GovaluateError(f"Unable to parse hex value '{text}' to uint64")
    return float(int(text, 16))


def _decimal(text: str) -> float:
    """strconv.ParseFloat(text, 64); escapes (``1\\e5``) can bring in an exponent, as in Go."""
    value = float(text) if _FLOAT.fullmatch(text) else math.inf
    if math.isinf(value):
        raise GovaluateError(f"Unable to parse numeric value '{text}' to float64")
    return value


def _word(text: str) -> Token:
    if "." in text:
        parts = text.split(".")
        if text.endswith("."):
            raise GovaluateError(f"Hanging accessor on token '{text}'")
        for part in parts[1:]:
            if part and part[0].upper() != part[0] and len(part[0].upper()) == 1:
                raise GovaluateError(
                    f"Unable to access unexported field '{part}' in token '{text}'"
                )
        return Token(ACCESSOR, parts)
    if text in ("true", "false"):
        return Token(BOOLEAN, text == "true")
    if text in ("in", "IN"):
        return Token(COMPARATOR, "in")
    return Token(VARIABLE, text)


def _check_order(text: str, found: list[Token]) -> None:
    """checkExpressionSyntax: each token kind may only follow some kinds."""
    state, last = START, None
    for token in found:
        if token.kind not in _SYNTAX[state][1]:
            if last is not None and last.kind == VARIABLE and token.kind == CLAUSE:
                raise GovaluateError(f"Undefined function {last.value}")
            before = f"{state} [{'<nil>' if last is None else shown(last)}]"
            after = f"{token.kind} [{shown(token)}]"
            raise GovaluateError(f"Cannot transition token types from {before} to {after}")
        state, last = token.kind, token
    if not _SYNTAX[state][0]:
        raise GovaluateError(f"{text!r} ends too early (govaluate: unexpected end of expression)")


def shown(token: Token) -> str:
    """A token's value as govaluate's messages print it."""
    value = token.value
    return "[" + " ".join(value) + "]" if isinstance(value, list) else golang.format_value(value)


def _patterns(found: list[Token]) -> None:
    """optimizeTokens: a string right after ``=~``/``!~`` is compiled once, as a pattern."""
    for i, token in enumerate(found[:-1]):
        after = found[i + 1]
        if token.kind == COMPARATOR and token.value in ("=~", "!~") and after.kind == STRING:
            found[i + 1] = Token(PATTERN, regexp(after.value))


def regexp(source: str) -> golang.GoRegexp:
    """Compile ``source`` as Go would, or raise :class:`GovaluateError`."""
    try:
        return golang.GoRegexp(source)
    except ValueError as err:
        raise GovaluateError(str(err)) from None
