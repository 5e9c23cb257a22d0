"""Sprig's date functions (``now``, ``date``, ``toDate``, ``dateModify``, ``ago``, ...).

Layouts are Go's reference-time layouts (``"2006-01-02T15:04:05Z07:00"``), see
:mod:`~pushsecret.templating._gotime`. Go's ``Local`` zone is UTC here. As in sprig, ``date``
given something that is neither a time nor an integer formats the current time, and
``toDate`` of an unparsable value is the zero time (``mustToDate`` fails instead).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from pushsecret.templating import _gotime
from pushsecret.templating._errors import FuncError
from pushsecret.templating._registry import Registry
from pushsecret.templating._values import T_ANY, T_STRING, T_TIME, is_int

S, A, TM = T_STRING, T_ANY, T_TIME
UTC = dt.UTC
ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=UTC)

F = Registry()


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


def _as_time(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v
    if is_int(v):
        return dt.datetime.fromtimestamp(v, UTC)
    return _now()


def _zone(name: str) -> dt.tzinfo:
    if name in ("", "UTC", "Local"):
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC  # sprig falls back to UTC for an unknown zone


def date_in_zone(layout: str, date: Any, zone: str) -> str:
    return _gotime.format_time(_as_time(date).astimezone(_zone(zone)), layout)


def _since_ns(t: dt.datetime) -> int:
    delta = _now() - t
    return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _round_seconds(ns: int) -> int:
    sec, rem = divmod(abs(ns), 10**9)
    sec += rem >= 5 * 10**8  # Duration.Round rounds halves away from zero
    return (sec if ns >= 0 else -sec) * 10**9


def _date_modify(layout: str, date: dt.datetime) -> dt.datetime:
    try:
        return date + dt.timedelta(microseconds=_gotime.parse_duration(layout) // 1000)
    except FuncError:
        return date


def _duration(sec: Any) -> str:
    n = 0
    if isinstance(sec, str):
        n = int(sec) if sec.lstrip("+-").isdigit() else 0
    elif is_int(sec):
        n = sec
    return _gotime.duration_string(n * 10**9)


def _duration_round(v: Any) -> str:
    d = 0
    if isinstance(v, str):
        try:
            d = _gotime.parse_duration(v)
        except FuncError:
            d = 0
    elif is_int(v):
        d = v
    elif isinstance(v, dt.datetime):
        d = _since_ns(v)
    u = abs(d)
    hour = 3600 * 10**9
    for size, unit in (
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60 * 10**9, "m"),
        (10**9, "s"),
    ):
        if u > size:
            return f"{u // size}{unit}"
    return "0s"


def _to_date(layout: str, value: str) -> dt.datetime:
    try:
        return _gotime.parse_time(layout, value)
    except FuncError:
        return ZERO_TIME


def _must_modify(layout: str, date: dt.datetime) -> dt.datetime:
    return date + dt.timedelta(microseconds=_gotime.parse_duration(layout) // 1000)


F.add("now", _now)
F.add("date", lambda layout, d: date_in_zone(layout, d, "Local"), S, A)
F.add("date_in_zone dateInZone", date_in_zone, S, A, S)
F.add("htmlDate", lambda d: date_in_zone("2006-01-02", d, "Local"), A)
F.add("htmlDateInZone", lambda d, zone: date_in_zone("2006-01-02", d, zone), A, S)
F.add("date_modify dateModify", _date_modify, S, TM)
F.add("must_date_modify mustDateModify", _must_modify, S, TM)
F.add("ago", lambda d: _gotime.duration_string(_round_seconds(_since_ns(_as_time(d)))), A)
F.add("duration", _duration, A)
F.add("durationRound", _duration_round, A)
F.add("toDate", _to_date, S, S)
F.add("mustToDate", _gotime.parse_time, S, S)
F.add("unixEpoch", lambda t: str(int(t.timestamp() // 1)), TM)

DATE_FUNCS: dict[str, Any] = dict(F)
