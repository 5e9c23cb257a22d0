"""Go's ``time`` layouts and durations, enough for sprig's date functions.

Go formats times with a reference-time layout (``2006-01-02 15:04:05.999999999 -0700 MST``)
instead of ``strftime`` codes; this module tokenizes such layouts the way ``time.nextStdChunk``
does and formats or parses with them. Durations (``1h2m3.5s``) follow ``time.ParseDuration``
and ``Duration.String``.

Deliberate differences: times carry microseconds (Python) rather than nanoseconds; Go's
``Local`` zone is UTC here (an operator pod's zone); parse errors never quote the value parsed.
"""

from __future__ import annotations

import datetime as dt
import re

from pushsecret.templating._errors import FuncError

UTC = dt.UTC

_LONG_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_LONG_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Layout tokens, longest first within each leading character, as in time.nextStdChunk.
_TOKENS = (
    "January", "Jan", "Monday", "Mon", "MST",
    "2006", "002", "01", "02", "03", "04", "05", "06", "15", "__2", "_2",
    "-07:00:00", "-070000", "-07:00", "-0700", "-07",
    "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07",
    "PM", "pm", "1", "2", "3", "4", "5",
)  # fmt: skip
_FRACTION = re.compile(r"[.,](0+|9+)(?![0-9])")


def tokenize(layout: str) -> list[tuple[bool, str]]:
    """Split a Go layout into ``(is_token, text)`` chunks."""
    out: list[tuple[bool, str]] = []
    lit = ""
    i = 0
    while i < len(layout):
        frac = _FRACTION.match(layout, i)
        if frac:  # ".000"/".999" (or with ","): fractional seconds, like Go's stdFracSecond.
            if lit:
                out.append((False, lit))
                lit = ""
            out.append((True, frac.group(0)))
            i = frac.end()
            continue
        for tok in _TOKENS:
            if layout.startswith(tok, i):
                # "_2006" is a literal underscore followed by the year.
                if tok == "_2" and layout.startswith("_2006", i):
                    continue
                # "Jan"/"Mon" followed by a lower-case letter are plain words ("Monkey").
                if tok in ("Jan", "Mon") and layout[i + 3 : i + 4].islower():
                    continue
                if lit:
                    out.append((False, lit))
                    lit = ""
                out.append((True, tok))
                i += len(tok)
                break
        else:
            lit += layout[i]
            i += 1
    if lit:
        out.append((False, lit))
    return out


def _offset_text(t: dt.datetime, tok: str) -> str:
    off = t.utcoffset() or dt.timedelta(0)
    if tok.startswith("Z") and off == dt.timedelta(0):
        return "Z"
    secs = int(off.total_seconds())
    sign = "-" if secs < 0 else "+"
    secs = abs(secs)
    hh, mm, ss = secs // 3600, secs // 60 % 60, secs % 60
    body = tok[1:]
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if body == "070000":
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def zone_abbr(t: dt.datetime) -> str:
    """Go's ``MST`` field: the zone's name, or ``-0700`` for unnamed fixed offsets."""
    name = t.tzname() or ""
    if not name or (name.startswith("UTC") and name != "UTC"):
        return _offset_text(t, "-0700")
    return name


def format_time(t: dt.datetime, layout: str) -> str:
    """``t.Format(layout)``."""
    parts: list[str] = []
    for is_tok, text in tokenize(layout):
        if not is_tok:
            parts.append(text)
            continue
        parts.append(_format_token(t, text))
    return "".join(parts)


def _format_token(t: dt.datetime, tok: str) -> str:
    hour12 = t.hour % 12 or 12
    simple = {
        "January": _LONG_MONTHS[t.month - 1],
        "Jan": _LONG_MONTHS[t.month - 1][:3],
        "Monday": _LONG_DAYS[t.weekday()],
        "Mon": _LONG_DAYS[t.weekday()][:3],
        "MST": zone_abbr(t),
        "2006": f"{t.year:04d}",
        "06": f"{t.year % 100:02d}",
        "01": f"{t.month:02d}",
        "1": str(t.month),
        "02": f"{t.day:02d}",
        "2": str(t.day),
        "_2": f"{t.day:2d}",
        "002": f"{t.timetuple().tm_yday:03d}",
        "__2": f"{t.timetuple().tm_yday:3d}",
        "15": f"{t.hour:02d}",
        "03": f"{hour12:02d}",
        "3": str(hour12),
        "04": f"{t.minute:02d}",
        "4": str(t.minute),
        "05": f"{t.second:02d}",
        "5": str(t.second),
        "PM": "PM" if t.hour >= 12 else "AM",
        "pm": "pm" if t.hour >= 12 else "am",
    }
    if tok in simple:
        return simple[tok]
    if tok[0] in "-Z":
        return _offset_text(t, tok)
    # Fractional seconds: ".000" keeps zeros, ".999" trims them (and the dot if nothing is left).
    digits = len(tok) - 1
    frac = f"{t.microsecond:06d}000"[:digits]
    if tok[1] == "9":
        frac = frac.rstrip("0")
        return tok[0] + frac if frac else ""
    return tok[0] + frac


def go_string(t: dt.datetime) -> str:
    """``Time.String()``: ``2006-01-02 15:04:05.999999999 -0700 MST``."""
    return format_time(t, "2006-01-02 15:04:05.999999999 -0700 MST")


def parse_time(layout: str, value: str) -> dt.datetime:
    """``time.ParseInLocation(layout, value, time.Local)`` with Local = UTC.

    Raises :class:`FuncError` naming the layout element that did not match, never the value.
    """
    fields: dict[str, int] = {}
    micro = 0
    tz: dt.tzinfo | None = None
    pm: bool | None = None
    pos = 0
    chunks = tokenize(layout)
    for n, (is_tok, text) in enumerate(chunks):
        if not is_tok:
            if not value.startswith(text, pos):
                raise _parse_error(layout, text)
            pos += len(text)
            continue
        if text[0] in ".," and text[1] == "9" and not re.match(r"[.,][0-9]", value[pos:]):
            continue  # a ".999" fraction may be omitted from the value
        m = _match_token(text, value, pos)
        if m is None:
            raise _parse_error(layout, text)
        got, pos = m
        if text in ("January", "Jan"):
            fields["month"] = [n[: len(got)] for n in _LONG_MONTHS].index(got.title()) + 1
        elif text in ("Monday", "Mon"):
            pass  # Go checks the weekday's spelling only.
        elif text in ("PM", "pm"):
            pm = got.upper() == "PM"
        elif text[0] in "-Z" or text == "MST":
            tz = _zone(got)
        elif text[0] in ".,":
            micro = int((got[1:] + "000000")[:6])
        else:
            fields[_FIELD[text]] = int(got.strip())
        # Go accepts a fraction after the seconds when the layout has none there.
        nxt = chunks[n + 1] if n + 1 < len(chunks) else (False, "")
        layout_frac = nxt[0] and nxt[1][0] in ".,"
        if text in ("05", "5") and not layout_frac:
            frac = re.match(r"[.,][0-9]+", value[pos:])
            if frac:
                micro = int((frac.group(0)[1:] + "000000")[:6])
                pos += frac.end()
    if pos != len(value):
        raise FuncError(f"parsing time as {_quote(layout)}: extra text")
    year = fields.get("year", 0)
    if "year2" in fields:
        year = fields["year2"] + (1900 if fields["year2"] >= 69 else 2000)
    hour = fields.get("hour", 0)
    if pm is not None:
        hour = hour % 12 + (12 if pm else 0)
    try:
        base = dt.datetime(max(year, 1), fields.get("month", 1), fields.get("day", 1))
        if "yday" in fields:
            base = dt.datetime(max(year, 1), 1, 1) + dt.timedelta(days=fields["yday"] - 1)
        return base.replace(
            hour=hour,
            minute=fields.get("minute", 0),
            second=fields.get("second", 0),
            microsecond=micro,
            tzinfo=tz or UTC,
        )
    except ValueError:
        raise FuncError(f"parsing time as {_quote(layout)}: day out of range") from None


_FIELD = {
    "2006": "year", "06": "year2", "01": "month", "1": "month", "02": "day", "2": "day",
    "_2": "day", "002": "yday", "__2": "yday", "15": "hour", "03": "hour", "3": "hour",
    "04": "minute", "4": "minute", "05": "second", "5": "second",
}  # fmt: skip

_TOKEN_RE = {
    "2006": r"[0-9]{4}", "06": r"[0-9]{2}", "01": r"[0-9]{2}", "1": r"[0-9]{1,2}",
    "02": r"[0-9]{2}", "2": r"[0-9]{1,2}", "_2": r" ?[0-9]{1,2}", "002": r"[0-9]{3}",
    "__2": r" {0,2}[0-9]{1,3}", "15": r"[0-9]{1,2}", "03": r"[0-9]{2}", "3": r"[0-9]{1,2}",
    "04": r"[0-9]{2}", "4": r"[0-9]{1,2}", "05": r"[0-9]{2}", "5": r"[0-9]{1,2}",
    "PM": r"AM|PM", "pm": r"am|pm", "MST": r"[A-Z]{3,5}|[+-][0-9]{4}",
    "January": "|".join(_LONG_MONTHS), "Jan": "|".join(m[:3] for m in _LONG_MONTHS),
    "Monday": "|".join(_LONG_DAYS), "Mon": "|".join(d[:3] for d in _LONG_DAYS),
    "-07": r"[+-][0-9]{2}", "-0700": r"[+-][0-9]{4}", "-07:00": r"[+-][0-9]{2}:[0-9]{2}",
    "-070000": r"[+-][0-9]{6}", "-07:00:00": r"[+-][0-9]{2}:[0-9]{2}:[0-9]{2}",
}  # fmt: skip


def _match_token(tok: str, value: str, pos: int) -> tuple[str, int] | None:
    if tok[0] in ".,":
        m = re.compile(r"[.,][0-9]+" if tok[1] == "9" else rf"[.,][0-9]{{{len(tok) - 1}}}").match(
            value, pos
        )
    elif tok[0] == "Z":
        m = re.compile("Z|" + _TOKEN_RE["-" + tok[1:]]).match(value, pos)
    else:
        m = re.compile(_TOKEN_RE[tok], re.IGNORECASE if tok[0] in "JM" else 0).match(value, pos)
    return (m.group(0), m.end()) if m else None


def _zone(text: str) -> dt.tzinfo:
    if text in ("Z", "UTC", "GMT"):
        return UTC
    if text[0] not in "+-":
        return dt.timezone(dt.timedelta(0), text)  # an unknown abbreviation: offset 0, as Go.
    digits = text[1:].replace(":", "")
    secs = int(digits[0:2]) * 3600 + int(digits[2:4] or 0) * 60 + int(digits[4:6] or 0)
    off = dt.timedelta(seconds=-secs if text[0] == "-" else secs)
    return dt.timezone(off) if off else UTC


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_error(layout: str, elem: str) -> FuncError:
    # Go's message quotes the value being parsed; ours names only the layout element.
    return FuncError(f"parsing time as {_quote(layout)}: cannot parse value as {_quote(elem)}")


# --- durations -----------------------------------------------------------------------------

_UNITS = {
    "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
    "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
}  # fmt: skip
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([a-zµμ]*)")


def parse_duration(text: str) -> int:
    """``time.ParseDuration`` in nanoseconds; raises :class:`FuncError` (without the value)."""
    s = text
    neg = s[:1] == "-"
    if s[:1] in "+-":
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise FuncError("time: invalid duration")
    total = 0
    while s:
        m = _DURATION_PART.match(s)
        if not m or (not m.group(1) and not m.group(2)) or m.end() == 0:
            raise FuncError("time: invalid duration")
        unit = m.group(3)
        if not unit:
            raise FuncError("time: missing unit in duration")
        if unit not in _UNITS:
            raise FuncError("time: unknown unit in duration")
        whole = int(m.group(1) or "0") * _UNITS[unit]
        frac = m.group(2) or ""
        if frac:
            whole += int(frac) * _UNITS[unit] // 10 ** len(frac)
        total += whole
        s = s[m.end() :]
    if total > 2**63 - 1:
        raise FuncError("time: invalid duration")
    return -total if neg else total


def duration_string(ns: int) -> str:
    """``Duration.String()`` for a duration in nanoseconds (``1h2m3.5s``, ``1.5ms``, ``0s``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        for unit, size in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
            if u < size * 1000:
                return sign + _frac(u, size) + unit
    out = ""
    hours, rem = divmod(u, 3_600_000_000_000)
    minutes, rem = divmod(rem, 60_000_000_000)
    if hours:
        out += f"{hours}h"
    if hours or minutes:
        out += f"{minutes}m"
    return sign + out + _frac(rem, 1_000_000_000) + "s"


def _frac(value: int, size: int) -> str:
    whole, rest = divmod(value, size)
    if not rest:
        return str(whole)
    digits = f"{rest:0{len(str(size)) - 1}d}".rstrip("0")
    return f"{whole}.{digits}"
