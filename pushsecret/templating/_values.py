"""How Go values are represented in Python, printed, typed and tested for truth.

The engine works on plain Python objects standing in for Go values:

=====================  ===========================  ============================================
Go                     Python                       notes
=====================  ===========================  ============================================
``string``             ``str``                      bytes that are not UTF-8 survive as
                                                    ``surrogateescape`` code points
``int``/``int64``      ``int`` (not ``bool``)       one integer type (see package docstring)
``float64``            ``float``
``bool``               ``bool``
``nil`` / no value     ``None``
``[]interface {}``     ``list``                     :class:`StrList`/:class:`IntList` mark
                                                    ``[]string``/``[]int`` for ``typeOf``
``map[string]X``       ``dict``                     :class:`StringMap` marks
                                                    ``map[string]string`` (ESO's template data)
``time.Time``          aware ``datetime``
=====================  ===========================  ============================================

Type names below are Go's (``%T``), because Go's error messages name types and users search
for those messages.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from pushsecret.templating import _gotime
from pushsecret.templating._errors import FuncError

# Go parameter types used by function signatures (their Go spelling, for error messages).
T_STRING = "string"
T_INT = "int"
T_FLOAT = "float64"
T_BOOL = "bool"
T_ANY = "interface {}"
T_MAP = "map[string]interface {}"
T_LIST = "[]interface {}"
T_TIME = "time.Time"

# Go's unicode.IsSpace set (Python's str.isspace also accepts \x1c-\x1f).
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


MAX_VALUE = 8 * 2**20


def check_size(n: int) -> None:
    """Refuse to build a string or list of more than 8 Mi elements (not a Go limit: it keeps
    a template from exhausting the worker's memory; Secrets hold at most 1 MiB)."""
    if n > MAX_VALUE:
        raise FuncError("result too large")


class StringMap(dict[str, Any]):
    """A Go ``map[string]string``: ``index`` of a missing key yields ``""``, not nil."""


class StrList(list[Any]):
    """A Go ``[]string`` (only ``typeOf`` tells it from ``[]interface {}``)."""


class IntList(list[Any]):
    """A Go ``[]int`` (only ``typeOf`` tells it from ``[]interface {}``)."""


def to_bytes(s: str) -> bytes:
    """The Go bytes of a string (inverse of :func:`from_bytes`)."""
    return s.encode("utf-8", "surrogateescape")


def from_bytes(b: bytes) -> str:
    """A Go string from bytes; invalid UTF-8 is kept losslessly as surrogate escapes."""
    return b.decode("utf-8", "surrogateescape")


def is_int(v: object) -> bool:
    """A Go integer (Python's ``bool`` is an ``int`` subclass, Go's is not)."""
    return isinstance(v, int) and not isinstance(v, bool)


def type_name(v: object) -> str:
    """Go's ``%T`` of a value."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, StrList):
        return "[]string"
    if isinstance(v, IntList):
        return "[]int"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, StringMap):
        return "map[string]string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, dt.datetime):
        return "time.Time"
    return type(v).__name__


def kind_name(v: object) -> str:
    """Go's ``reflect.Kind`` name of a value (``kindOf``)."""
    if v is None:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "slice"
    if isinstance(v, dict):
        return "map"
    return "struct"


def is_true(v: object) -> bool:
    """Go's template truth: the value is not the zero value of its type."""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float):
        return v != 0
    if isinstance(v, str | list | dict):
        return len(v) > 0
    return True  # structs (time.Time) are always true


def deep_equal(a: Any, b: Any) -> bool:
    """``reflect.DeepEqual``: equal values of identical Go types, recursively."""
    if type_name(a) != type_name(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def go_len(v: str) -> int:
    """Go's ``len`` of a string: its length in bytes."""
    return len(to_bytes(v))


# --- formatting ------------------------------------------------------------------------------


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``abs(f)`` and the decimal point position.

    ``f == 0.d1d2d3... * 10**dp``; Python's ``repr`` and Go's ``strconv`` both produce the
    shortest digits that round-trip, so the digits agree.
    """
    if f == 0:
        return "0", 1
    _, digits, exp = Decimal(repr(abs(f))).as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    dp = len(text) + exp - (len(text) - len(text.lstrip("0")))
    return text.strip("0") or "0", dp


def format_float(f: float, verb: str = "g") -> str:
    """``strconv.FormatFloat(f, verb, -1, 64)`` for verbs ``e``, ``f`` and ``g``."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    digits, dp = _shortest_digits(f)
    exp = dp - 1
    if verb == "g":
        verb = "e" if exp < -4 or exp >= 6 else "f"  # Go uses precision 6 for the decision
    if verb == "e":
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES["\v"] = "\\v"


def go_quote(s: str, quote: str = '"') -> str:
    """``strconv.Quote`` (or ``QuoteRune`` with ``quote="'"``)."""
    out = [quote]
    for ch in s:
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:  # an invalid UTF-8 byte kept by surrogateescape
            out.append(f"\\x{o - 0xDC00:02x}")
        elif ch == quote or ch == "\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append(quote)
    return "".join(out)


def sprint_value(v: object) -> str:
    """``fmt.Sprint(v)`` (the ``%v`` form) of one value."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + " ".join(sprint_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = (f"{sprint_value(k)}:{sprint_value(v[k])}" for k in sorted_keys(v))
        return "map[" + " ".join(items) + "]"
    if isinstance(v, dt.datetime):
        return _gotime.go_string(v)
    return str(v)


def sorted_keys(d: dict[Any, Any]) -> list[Any]:
    """Map keys in Go's ``fmtsort`` order (strings by bytes, numbers numerically)."""
    try:
        return sorted(d, key=lambda k: to_bytes(k) if isinstance(k, str) else k)
    except TypeError:
        return sorted(d, key=str)
