"""Go ``time.Duration`` text, as Kubernetes ``metav1.Duration`` fields carry it.

``parse_go_duration`` accepts exactly the grammar of Go's ``time.ParseDuration``
(``[+-]?(<digits>[.<digits>]<unit>)+`` or the bare ``0``; units ``ns us µs μs ms s m h``)
and raises :class:`ValueError` with Go's own error text (``time: invalid duration "x"``,
``time: missing unit in duration "1"``, ``time: unknown unit "d" in duration "1d"``).
One rule is ours: negative durations are rejected (ESO would accept them and requeue at once).

``format_go_duration`` renders like Go's ``Duration.String()`` (``1h0m0s``, ``1m30s``,
``10s``, ``1.5ms``, ``0s``). ``timedelta`` only has microsecond resolution, so nanosecond
components are truncated on parsing.
"""

from __future__ import annotations

import datetime

__all__ = ["format_go_duration", "go_quote", "parse_go_duration"]

_NANOS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # U+00B5 MICRO SIGN
    "\u03bcs": 1_000,  # U+03BC GREEK SMALL LETTER MU
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_MAX_NANOS = (1 << 63) - 1
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_GO_ESCAPES.update({"\v": "\\v", "\\": "\\\\", '"': '\\"'})


def go_quote(s: str) -> str:
    """Quote ``s`` like Go's ``strconv.Quote`` / ``%q`` (close enough for messages)."""
    out = ['"']
    for ch in s:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _invalid(orig: str) -> ValueError:
    return ValueError("time: invalid duration " + go_quote(orig))


def _parse_nanos(orig: str) -> int:
    """Parse Go duration text into signed nanoseconds (Go's algorithm, Go's errors)."""
    s = orig
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise _invalid(orig)
    total = 0
    while s:
        if not (s[0] == "." or (s[0].isascii() and s[0].isdigit())):
            raise _invalid(orig)
        i = 0
        while i < len(s) and s[i].isascii() and s[i].isdigit():
            i += 1
        int_part, s = s[:i], s[i:]
        frac_part = ""
        if s.startswith("."):
            s = s[1:]
            i = 0
            while i < len(s) and s[i].isascii() and s[i].isdigit():
                i += 1
            frac_part, s = s[:i], s[i:]
        if not int_part and not frac_part:
            raise _invalid(orig)  # no digits, e.g. "." or ".s"
        i = 0
        while i < len(s) and s[i] != "." and not (s[i].isascii() and s[i].isdigit()):
            i += 1
        if i == 0:
            raise ValueError("time: missing unit in duration " + go_quote(orig))
        unit, s = s[:i], s[i:]
        if unit not in _NANOS_PER_UNIT:
            raise ValueError(
                "time: unknown unit " + go_quote(unit) + " in duration " + go_quote(orig)
            )
        scale = _NANOS_PER_UNIT[unit]
        value = int(int_part or "0") * scale
        if frac_part:
            # Go truncates the fractional part to nanosecond precision.
            value += int(frac_part) * scale // (10 ** len(frac_part))
        total += value
        if total > _MAX_NANOS:
            raise _invalid(orig)
    return -total if neg else total


def parse_go_duration(s: str) -> datetime.timedelta:
    """Parse a Go duration string (``"1h0m0s"``, ``"10s"``, ``"1.5h"``, ``"0"``).

    Raises :class:`ValueError` for text Go rejects (with Go's message) and for negative
    durations, which a refresh interval cannot sensibly be.
    """
    nanos = _parse_nanos(s)
    if nanos < 0:
        raise ValueError("negative duration " + go_quote(s) + " is not allowed")
    return datetime.timedelta(microseconds=nanos // 1000)


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fractional digits of v/10**prec without trailing zeros."""
    digits: list[str] = []
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        v //= 10
    frac = "." + "".join(reversed(digits)) if printed else ""
    return frac, v


def format_go_duration(td: datetime.timedelta) -> str:
    """Render ``td`` exactly like Go's ``time.Duration.String()``."""
    micros = (td.days * 86_400 + td.seconds) * 1_000_000 + td.microseconds
    u = abs(micros) * 1000
    sign = "-" if micros < 0 else ""
    if u == 0:
        return "0s"
    if u < 1_000_000_000:
        if u < 1_000:
            prec, unit = 0, "ns"
        elif u < 1_000_000:
            prec, unit = 3, "\u00b5s"
        else:
            prec, unit = 6, "ms"
        frac, whole = _fmt_frac(u, prec)
        return f"{sign}{whole}{frac}{unit}"
    frac, secs = _fmt_frac(u, 9)
    out = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins > 0:
        out = f"{mins % 60}m{out}"
        hours = mins // 60
        if hours > 0:
            out = f"{hours}h{out}"
    return sign + out
