"""Go literal syntax: numbers (``strconv.ParseInt``/``ParseFloat`` with base prefixes and
``_`` separators, and ``parse.newNumber``'s int/uint/float classification) and quoted
strings (``strconv.Unquote``)."""

from __future__ import annotations

import math
import re

from pushsecret.templating._values import from_bytes, go_quote
from pushsecret.templating.lexer import ItemType
from pushsecret.templating.nodes import NumberNode

_INT_SYNTAX = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)")
_DEC_FLOAT = re.compile(r"[+-]?(?=\.?[0-9])[0-9_]*(\.[0-9_]*)?([eE][+-]?[0-9_]+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX][0-9a-fA-F_]*(\.[0-9a-fA-F_]*)?[pP][+-]?[0-9_]+")
_INT64 = (-(2**63), 2**63 - 1)


def parse_go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)`` without the range check; None on a syntax error."""
    if not _INT_SYNTAX.fullmatch(text) or "__" in text or text.endswith("_"):
        return None
    body = text.lstrip("+-")
    neg = text.startswith("-")
    if len(body) > 1 and body[0] == "0" and body[1] not in "xXoObB":
        value = int(body.replace("_", ""), 8) if set(body) <= set("01234567_") else None
    else:
        try:
            value = int(body, 0)
        except ValueError:
            return None
    if value is None:
        return None
    return -value if neg else value


def _parse_go_float(text: str) -> float | None:
    try:
        if _HEX_FLOAT.fullmatch(text):
            f = float.fromhex(text.replace("_", ""))
        elif _DEC_FLOAT.fullmatch(text):
            f = float(text.replace("_", ""))
        else:
            return None
    except ValueError:
        return None
    return None if math.isinf(f) else f


def new_number(pos: int, text: str, typ: ItemType) -> NumberNode:
    """Go's ``newNumber``: which of int, uint and float a numeric literal can be."""
    n = NumberNode(pos, text)
    if typ == ItemType.CHAR_CONSTANT:
        r = _char_value(text)
        n.is_int = n.is_uint = n.is_float = True
        n.int64 = n.uint64 = r
        n.float64 = float(r)
        return n
    if typ == ItemType.COMPLEX or text.endswith("i"):
        raise ValueError(f"complex constants are not supported: {go_quote(text)}")
    i = parse_go_int(text)
    if i is not None and 0 <= i < 2**64 and not text.startswith(("+", "-")):
        n.is_uint, n.uint64 = True, i
    if i is not None and _INT64[0] <= i <= _INT64[1]:
        n.is_int, n.int64 = True, i
        if i == 0:
            n.is_uint, n.uint64 = True, 0
    if n.is_int:
        n.is_float, n.float64 = True, float(n.int64)
    elif n.is_uint:
        n.is_float, n.float64 = True, float(n.uint64)
    else:
        f = _parse_go_float(text)
        if f is not None:
            # Parsed as a float but looks like an integer: too large for an int.
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {go_quote(text)}")
            n.is_float, n.float64 = True, f
            if f == int(f) and _INT64[0] <= int(f) <= _INT64[1]:
                n.is_int, n.int64 = True, int(f)
            if f == int(f) and 0 <= int(f) < 2**64:
                n.is_uint, n.uint64 = True, int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise ValueError(f"illegal number syntax: {go_quote(text)}")
    return n


def _char_value(text: str) -> int:
    """The rune of a character constant such as ``'a'``, ``'\\n'`` or ``'\\xff'``."""
    body = text[1:-1] if len(text) >= 3 and text[0] == text[-1] == "'" else ""
    if len(body) == 1 and body != "\\":
        return ord(body)
    if len(body) >= 2 and body[0] == "\\":
        c, digits = body[1], body[2:]
        if c in _SIMPLE_ESCAPES and not digits:
            return _SIMPLE_ESCAPES[c]
        if c == "'" and not digits:
            return ord("'")
        sizes = {"x": 2, "u": 4, "U": 8}
        if c in sizes and len(digits) == sizes[c]:
            try:
                value = int(digits, 16)
            except ValueError:
                value = -1
            if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
                return value
        octal = len(body) == 4 and all(d in "01234567" for d in body[1:])
        if octal and int(body[1:], 8) <= 255:
            return int(body[1:], 8)
    raise ValueError(f"malformed character constant: {text}")


_SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def unquote(quoted: str) -> str:
    """``strconv.Unquote`` for ``"..."``, `````...````` and ``'c'``; ValueError if malformed.

    Escapes that produce bytes (``\\xff``, ``\\377``) may yield invalid UTF-8, kept as
    surrogate escapes like any other Go string.
    """
    if len(quoted) < 2 or quoted[0] != quoted[-1] or quoted[0] not in "\"'`":
        raise ValueError("invalid syntax")
    q, body = quoted[0], quoted[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")  # Go drops carriage returns from raw strings
    out = bytearray()
    runes = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == q or ch == "\n":
            raise ValueError("invalid syntax")
        runes += 1
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise ValueError("invalid syntax")
        c = body[i]
        i += 1
        if c in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[c])
        elif c in "'\"":
            if c != q:
                raise ValueError("invalid syntax")
            out.append(ord(c))
        elif c in "xuU":
            size = {"x": 2, "u": 4, "U": 8}[c]
            digits = body[i : i + size]
            if len(digits) != size or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError("invalid syntax")
            i += size
            value = int(digits, 16)
            if c == "x":
                out.append(value)
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ValueError("invalid syntax")
            else:
                out += chr(value).encode()
        elif c in "01234567":
            digits = body[i - 1 : i + 2]
            if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
                raise ValueError("invalid syntax")
            i += 2
            out.append(int(digits, 8))
        else:
            raise ValueError("invalid syntax")
    if q == "'" and runes != 1:
        raise ValueError("invalid syntax")
    return from_bytes(bytes(out))
