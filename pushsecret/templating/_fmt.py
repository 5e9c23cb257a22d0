"""Go's ``fmt.Sprint``, ``Sprintln`` and ``Sprintf`` over the engine's value model.

Supported verbs: ``%v %s %d %q %x %X %t %f %F %e %E %g %G %c %o %O %b %U %T %%`` with the
flags ``+ - # 0 space``, width and precision (``*`` too). Go's complaint forms are
reproduced in the output, as Go does: ``%!d(string=x)``, ``%!s(MISSING)``,
``%!(EXTRA int=1)``, ``%!(NOVERB)``. Not supported: argument indexes (``%[1]d``), ``%p``,
the hexadecimal float forms, and ``%#v`` Go-syntax output beyond strings and numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pushsecret.templating._values import (
    format_float,
    go_quote,
    is_int,
    sorted_keys,
    sprint_value,
    to_bytes,
    type_name,
)


def sprint(args: list[Any]) -> str:
    """``fmt.Sprint``: spaces between operands when neither side is a string."""
    out: list[str] = []
    prev_str = False
    for i, a in enumerate(args):
        is_str = isinstance(a, str)
        if i > 0 and not is_str and not prev_str:
            out.append(" ")
        out.append(sprint_value(a))
        prev_str = is_str
    return "".join(out)


def sprintln(args: list[Any]) -> str:
    """``fmt.Sprintln``: operands always separated by spaces, newline appended."""
    return " ".join(sprint_value(a) for a in args) + "\n"


@dataclass
class _Spec:
    plus: bool = False
    minus: bool = False
    sharp: bool = False
    zero: bool = False
    space: bool = False
    width: int | None = None
    prec: int | None = None


def sprintf(fmt: str, args: list[Any]) -> str:
    """``fmt.Sprintf`` for the verbs listed in the module docstring."""
    out: list[str] = []
    argi = 0
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        spec = _Spec()
        while i < n and fmt[i] in "+-# 0":
            flag = fmt[i]
            spec.plus |= flag == "+"
            spec.minus |= flag == "-"
            spec.sharp |= flag == "#"
            spec.zero |= flag == "0"
            spec.space |= flag == " "
            i += 1
        spec.width, i, argi = _number(fmt, i, args, argi)
        if spec.width is not None and spec.width < 0:
            spec.minus, spec.width = True, -spec.width
        if i < n and fmt[i] == ".":
            spec.prec, i, argi = _number(fmt, i + 1, args, argi)
            if spec.prec is None or spec.prec < 0:
                spec.prec = 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_arg(args[argi], verb, spec))
        argi += 1
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{type_name(a)}={sprint_value(a)}" for a in args[argi:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _number(fmt: str, i: int, args: list[Any], argi: int) -> tuple[int | None, int, int]:
    if i < len(fmt) and fmt[i] == "*":
        if argi < len(args) and is_int(args[argi]):
            return int(args[argi]), i + 1, argi + 1
        return None, i + 1, argi + 1
    j = i
    while j < len(fmt) and fmt[j].isdigit():
        j += 1
    return (int(fmt[i:j]) if j > i else None), j, argi


def _pad(s: str, spec: _Spec, numeric: bool = False) -> str:
    if spec.width is None or len(s) >= spec.width:
        return s
    fill = spec.width - len(s)
    if spec.minus:
        return s + " " * fill
    if spec.zero and numeric:
        sign = s[0] if s[:1] in "+- " else ""
        return sign + "0" * fill + s[len(sign) :]
    return " " * fill + s  # Go ignores the 0 flag for strings


def _bad(verb: str, v: Any) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_name(v)}={sprint_value(v)})"


def _format_arg(v: Any, verb: str, spec: _Spec) -> str:
    if verb == "T":
        return _pad(type_name(v), spec)
    if v is None:
        return _pad("<nil>", spec) if verb == "v" else _bad(verb, v)
    if isinstance(v, bool):
        return _pad("true" if v else "false", spec) if verb in "vt" else _bad(verb, v)
    if isinstance(v, int):
        return _format_int(v, verb, spec)
    if isinstance(v, float):
        return _format_float(v, verb, spec)
    if isinstance(v, str):
        return _format_str(v, verb, spec)
    if isinstance(v, list):
        return "[" + " ".join(_format_arg(x, verb, _Spec()) for x in v) + "]"
    if isinstance(v, dict):
        parts = (
            f"{_format_arg(k, verb, _Spec())}:{_format_arg(v[k], verb, _Spec())}"
            for k in sorted_keys(v)
        )
        return "map[" + " ".join(parts) + "]"
    if isinstance(v, dt.datetime) and verb in "vs":
        return _pad(sprint_value(v), spec)
    return _bad(verb, v)


def _format_int(v: int, verb: str, spec: _Spec) -> str:
    if verb == "c":
        return _pad(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", spec)
    if verb == "q":
        return _pad(go_quote(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", "'"), spec)
    if verb == "U":
        return _pad(f"U+{v:04X}", spec)
    bases = {"d": 10, "v": 10, "x": 16, "X": 16, "o": 8, "O": 8, "b": 2}
    if verb not in bases:
        return _bad(verb, v)
    digits = {"x": f"{abs(v):x}", "X": f"{abs(v):X}", "o": f"{abs(v):o}", "O": f"{abs(v):o}"}
    digits["b"] = f"{abs(v):b}"
    body = digits.get(verb, str(abs(v)))
    if spec.prec is not None:
        body = body.rjust(spec.prec, "0") if spec.prec or v else ""
    if spec.sharp or verb == "O":
        body = {"x": "0x", "X": "0X", "o": "0", "O": "0o", "b": "0b"}.get(verb, "") + body
    sign = "-" if v < 0 else "+" if spec.plus else " " if spec.space else ""
    # Go ignores the 0 flag when a precision is given.
    return _pad(sign + body, spec, numeric=spec.prec is None)


def _format_float(v: float, verb: str, spec: _Spec) -> str:
    if verb not in "vgGeEfF":
        return _bad(verb, v)
    if math.isinf(v) or math.isnan(v):
        text = format_float(v)
        if text == "+Inf" and not spec.plus:
            text = " Inf" if spec.space else "Inf"
        return _pad(text, spec)
    if verb in "vgG" and spec.prec is None:
        text = format_float(v, "g")
        text = text.upper() if verb == "G" else text
    else:
        prec = 6 if spec.prec is None else spec.prec
        text = f"{v:.{prec}{verb.lower()}}"
        if verb in "GEF":
            text = text.upper()
    if spec.plus and not text.startswith("-"):
        text = "+" + text
    elif spec.space and not text.startswith("-"):
        text = " " + text
    return _pad(text, spec, numeric=True)


def _format_str(v: str, verb: str, spec: _Spec) -> str:
    if verb in "vs":
        return _pad(v if spec.prec is None else v[: spec.prec], spec)
    if verb == "q":
        return _pad(go_quote(v if spec.prec is None else v[: spec.prec]), spec)
    if verb in "xX":
        data = to_bytes(v)
        if spec.prec is not None:
            data = data[: spec.prec]
        sep = " " if spec.space else ""
        text = sep.join(f"{b:02x}" for b in data)
        if spec.sharp:
            text = "0x" + text if not sep else " ".join("0x" + h for h in text.split(" "))
        return _pad(text.upper() if verb == "X" else text, spec)
    return _bad(verb, v)
