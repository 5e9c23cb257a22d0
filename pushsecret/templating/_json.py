"""JSON as Go's ``encoding/json`` writes and reads it, for ``toJson``/``fromJson``.

Go differs from Python's ``json`` in ways a template's output shows: object keys are sorted,
floats print without a trailing ``.0`` (``1``, ``1e+21``, ``1e-7``), ``<``, ``>`` and ``&``
are escaped as ``\\u003c`` unless HTML escaping is off (``toRawJson``), and decoding yields
``float64`` for every number (so ``eq (fromJson ...).n 1`` is a type error, as in Go).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from pushsecret.templating import _gotime
from pushsecret.templating._errors import FuncError
from pushsecret.templating._values import format_float, is_int, sorted_keys

_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b"}
_SHORT["\f"] = "\\f"
_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}


def _string(s: str, escape_html: bool) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif escape_html and ch in _HTML:
            out.append(_HTML[ch])
        elif o < 0x20 or o in (0x2028, 0x2029):
            out.append(f"\\u{o:04x}")
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\ufffd")  # invalid UTF-8 is coerced to U+FFFD, as Go does
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _float(f: float) -> str:
    if math.isnan(f) or math.isinf(f):
        raise FuncError(f"json: unsupported value: {format_float(f)}")
    a = abs(f)
    text = format_float(f, "e" if a != 0 and (a < 1e-6 or a >= 1e21) else "f")
    # Go trims the exponent's leading zero: 1e-07 becomes 1e-7.
    if len(text) >= 4 and text[-4] == "e" and text[-3] == "-" and text[-2] == "0":
        text = text[:-2] + text[-1]
    return text


def encode(v: Any, *, escape_html: bool = True, indent: str | None = None) -> str:
    """``json.Marshal`` (or ``MarshalIndent(v, "", indent)``) of a template value."""
    return _encode(v, escape_html, indent, "")


def _encode(v: Any, html: bool, indent: str | None, prefix: str) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if is_int(v):
        return str(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, str):
        return _string(v, html)
    if isinstance(v, dt.datetime):
        text = _gotime.format_time(v, "2006-01-02T15:04:05.999999999Z07:00")
        return _string(text, html)
    if isinstance(v, list):
        if not v:
            return "[]"
        items = [_encode(x, html, indent, prefix + (indent or "")) for x in v]
        return _join("[", items, "]", indent, prefix)
    if isinstance(v, dict):
        if not v:
            return "{}"
        sep = ": " if indent is not None else ":"
        inner = prefix + (indent or "")
        items = [
            _string(str(k), html) + sep + _encode(v[k], html, indent, inner) for k in sorted_keys(v)
        ]
        return _join("{", items, "}", indent, prefix)
    raise FuncError(f"json: unsupported type: {type(v).__name__}")


def _join(open_: str, items: list[str], close: str, indent: str | None, prefix: str) -> str:
    if indent is None:
        return open_ + ",".join(items) + close
    inner = "\n" + prefix + indent
    return open_ + inner + ("," + inner).join(items) + "\n" + prefix + close


def decode(text: str) -> Any:
    """``json.Unmarshal`` into ``interface{}``; numbers become floats.

    Raises :class:`FuncError` with a reason and offset, never the text around it.
    """
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise FuncError("unexpected end of JSON input") from None
        # Python's messages name no data, but Go's name the offending character; neither is
        # repeated here.
        raise FuncError(f"invalid JSON at offset {e.pos}: {e.msg}") from None
    except ValueError:
        raise FuncError("invalid JSON") from None


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN/Infinity are not JSON")
