"""What Go does differently from Python, for Argo's ``when`` language (introduced in chapter 5).

govaluate (:mod:`dmlp.argo.govaluate`) computes with Go's ``float64``, prints values as ``fmt``'s
``%v``, converts floats to integers for bitwise operators, matches regular expressions with RE2
and reads some quoted strings as times. The functions here give Go's answer; where Go's answer is
undefined or not reproduced here, they raise :class:`ValueError` with one line saying why.
"""

from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal

_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ].*)?"  # RFC 3339 and the ISO 8601 layouts, date or date and time
    r"|(?i:(?:mon|tue|wed|thu|fri|sat|sun) +(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) .*)"
    r"|\d{1,2}:\d{2}(?:AM|PM)",  # time.Kitchen
    re.DOTALL,
)
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_RE2_SPACE = r"\t\n\f\r "  # RE2's \s; Python's also has \v


def looks_like_time(text: str) -> bool:
    """True for the shapes govaluate's ``tryParseTime`` (parsing.go) may read as a time."""
    return _TIME.fullmatch(text) is not None


# ---------------------------------------------------------------------------- printing (%v)


def format_float(x: float, low: int = -4, high: int = 6) -> str:
    """``strconv.FormatFloat(x, 'g', -1, 64)``, which is what ``%v`` prints for a float64.

    The shortest digits, in ``%e`` form when the decimal exponent is below ``low`` or at least
    ``high``, else in ``%f`` form (``encoding/json`` uses -6 and 21).
    """
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if x == 0:
        return sign + "0"
    _, digits, exponent = Decimal(repr(abs(x))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # the decimal point sits after this many digits
    if point - 1 < low or point - 1 >= high:  # Go switches to %e at exponent 6 for shortest output
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        power = point - 1
        return f"{sign}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{text}"
    if point >= len(text):
        return sign + text + "0" * (point - len(text))
    return f"{sign}{text[:point]}.{text[point:]}"


def format_value(value) -> str:
    """``fmt.Sprintf("%v", value)`` for the values a govaluate expression can hold."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    return str(value)


# ---------------------------------------------------------------------------- float64 arithmetic


def divide(a: float, b: float) -> float:
    """Go's float division: ``x / 0`` is an infinity (or NaN), not an exception."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def modulo(a: float, b: float) -> float:
    """``math.Mod``: the sign of ``a``; NaN for an infinite ``a`` or a zero ``b``."""
    try:
        return math.fmod(a, b)
    except ValueError:
        return math.nan


def power(x: float, y: float) -> float:
    """``math.Pow``, step by step (math/pow.go): Go's result can differ from C's in the last bit.

    A fractional exponent other than 0.5 goes through Go's ``Exp`` and ``Log``, which are
    assembly on amd64 and are not reproduced here: that is a :class:`ValueError`.
    """
    if y == 0 or x == 1:
        return 1.0
    if y == 1:
        return x
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0:
        if y < 0:
            return math.copysign(math.inf, x) if _odd(y) else math.inf
        return x if _odd(y) else 0.0
    if math.isinf(y):
        return 1.0 if x == -1 else 0.0 if (abs(x) < 1) == (y > 0) else math.inf
    if math.isinf(x):
        if x < 0:
            return power(1 / x, -y)
        return 0.0 if y < 0 else math.inf
    if y in (0.5, -0.5):
        root = math.sqrt(x) if x >= 0 else math.nan
        return root if y > 0 else 1 / root
    fraction, whole = math.modf(abs(y))
    if fraction != 0 and x < 0:
        return math.nan
    if whole >= 2**63:
        return 1.0 if x == -1 else 0.0 if (abs(x) < 1) == (y > 0) else math.inf
    if fraction != 0:
        raise ValueError(
            f"{format_float(x)} ** {format_float(y)}: a fractional power is not "
            "reproduced locally (Go computes it with its own Exp and Log)"
        )
    mantissa, exponent = 1.0, 0
    x1, xe = math.frexp(x)
    i = int(whole)
    while i != 0:  # square and multiply, carrying the powers of two apart
        if xe < -(1 << 12) or (1 << 12) < xe:
            exponent += xe
            break
        if i & 1:
            mantissa *= x1
            exponent += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    if y < 0:
        mantissa, exponent = 1 / mantissa, -exponent
    try:
        return math.ldexp(mantissa, exponent)
    except OverflowError:
        return math.copysign(math.inf, mantissa)


def _odd(y: float) -> bool:  # isOddInt in math/pow.go
    if abs(y) >= 2**53:
        return False
    fraction, whole = math.modf(y)
    return fraction == 0 and int(whole) & 1 == 1


def to_int64(x: float) -> int:
    """``int64(x)``: truncation; Go leaves NaN, infinities and out-of-range values undefined."""
    if not math.isfinite(x) or not -(2**63) <= x < 2**63:
        raise ValueError(f"{format_float(x)} does not fit an int64 (Go leaves that undefined)")
    return int(x)


def to_uint64(x: float) -> int:
    """``uint64(x)``, as for :func:`to_int64`."""
    if not math.isfinite(x) or not -1 < x < 2**64:
        raise ValueError(f"{format_float(x)} does not fit a uint64 (Go leaves that undefined)")
    return int(x)


def shift(a: float, b: float, left: bool) -> float:
    """``float64(uint64(a) << uint64(b))`` (or ``>>``): bits past 64 are lost."""
    value, by = to_uint64(a), to_uint64(b)
    if not left:
        return float(value >> by)
    return float((value << by) & (2**64 - 1)) if by < 64 else 0.0


# ---------------------------------------------------------------------------- RE2


class GoRegexp:
    """A regular expression read the way Go's ``regexp`` (RE2) reads it; ``str()`` is its source.

    Only the part of RE2 that Python's ``re`` reads the same way is accepted: literals, classes,
    ``. * + ? {m,n} | ( ) (?:...) ^ $`` and the escapes ``\\d \\w \\s \\b`` (ASCII, as in RE2).
    Anything else (flags, named groups, ``\\p``, POSIX classes, ``\\z``, possessive repeats...)
    is a :class:`ValueError`.
    """

    def __init__(self, source: str):
        self.source = source
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                self._compiled = re.compile(_python_pattern(source), re.ASCII)
        except re.error as err:
            raise ValueError(f"Unable to compile regexp pattern '{source}': {err}") from None

    def search(self, text: str) -> bool:
        """``Regexp.Match``: does the pattern match anywhere in ``text``?"""
        return self._compiled.search(text) is not None

    def __str__(self) -> str:
        return self.source


def _python_pattern(source: str) -> str:
    out, i, in_class, class_start = [], 0, False, 0

    def refuse(what: str):
        raise ValueError(f"{what} in the regular expression {source!r} is not supported locally")

    while i < len(source):
        c, after = source[i], source[i + 1 : i + 2]
        if c == "\\":
            if not after:
                raise ValueError(f"Unable to compile regexp pattern '{source}': trailing backslash")
            i += 2
            if after == "s":
                out.append(_RE2_SPACE if in_class else f"[{_RE2_SPACE}]")
            elif after == "S" and not in_class:
                out.append(f"[^{_RE2_SPACE}]")
            elif after in "dDwWafnrtv" or (after in "bB" and not in_class):
                out.append("\\" + after)
            elif after.isascii() and not after.isalnum():
                out.append("\\" + after)
            else:
                refuse(f"the escape \\{after}")
            continue
        if in_class:
            if c == "[":
                refuse("'[' inside a character class")
            in_class = not (c == "]" and i > class_start)
        elif c == "[":
            in_class, class_start = True, i + (2 if after == "^" else 1)
        elif c == "(" and after == "?" and source[i + 2 : i + 3] != ":":
            refuse("a group flag '(?'")
        elif c == "$":
            out.append(r"\Z")  # RE2's $ is the end of the text, Python's also matches before a \n
            i += 1
            continue
        elif c == "{" and (after == "," or _large_repeat(source[i:])):
            refuse("the repeat " + source[i : source.find("}", i) + 1])
        elif c in "*+?}" and after == "+":
            refuse(f"the repeat {c}+")
        out.append(c)
        i += 1
    return "".join(out)


def _large_repeat(text: str) -> bool:
    match = _REPEAT.match(text)
    return bool(match) and any(int(n) > 1000 for n in match.groups() if n)
