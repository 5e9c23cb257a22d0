"""Sprig's list, dict, string-list and number functions (see :mod:`.funcs_sprig`).

Numbers follow ``spf13/cast`` as sprig uses it: ``int``/``add``/... accept strings
(``"0x1f"``, ``"010"`` octal, ``"3.0"``) and yield 0 for what they cannot read; integer
results wrap at 64 bits like Go's ``int64``. Lists accept any Go slice. Go iterates maps in
random order, so ``keys``/``values`` (and ``pick``/``omit`` results) are sorted here to keep
renders reproducible.
"""

from __future__ import annotations

import copy
import decimal
import math
import random
import re
from typing import Any

from pushsecret.templating._errors import FuncError
from pushsecret.templating._registry import Registry
from pushsecret.templating._values import (
    T_ANY,
    T_FLOAT,
    T_INT,
    T_MAP,
    T_STRING,
    IntList,
    StrList,
    check_size,
    deep_equal,
    is_int,
    is_true,
    kind_name,
    sorted_keys,
    sprint_value,
    to_bytes,
)
from pushsecret.templating.literals import parse_go_int

S, N, A, M = T_STRING, T_INT, T_ANY, T_MAP

F = Registry()


def strval(v: Any) -> str:
    """Sprig's ``strval``: strings as they are, anything else as ``%v``."""
    return v if isinstance(v, str) else sprint_value(v)


def strslice(v: Any) -> list[str]:
    """Sprig's ``strslice``: a ``[]string`` from a list (nils dropped) or a single value."""
    if isinstance(v, list):
        return StrList(strval(x) for x in v if x is not None)
    return StrList() if v is None else StrList([strval(v)])


def _wrap(x: int) -> int:
    return (x + 2**63) % 2**64 - 2**63


def _trim_zero_decimal(s: str) -> str:
    """cast's ``trimZeroDecimal``: ``"3.00"`` -> ``"3"``, anything else unchanged."""
    found_zero = False
    for i in range(len(s), 0, -1):
        c = s[i - 1]
        if c == ".":
            return s[: i - 1] if found_zero else s
        if c != "0":
            return s
        found_zero = True
    return s


def to_int64(v: Any) -> int:
    """``cast.ToInt64``."""
    if isinstance(v, bool):
        return int(v)
    if is_int(v):
        return _wrap(int(v))
    if isinstance(v, float):
        return _wrap(int(v)) if math.isfinite(v) else 0
    if isinstance(v, str):
        parsed = parse_go_int(_trim_zero_decimal(v))
        return parsed if parsed is not None and -(2**63) <= parsed < 2**63 else 0
    return 0


def to_float64(v: Any) -> float:
    """``cast.ToFloat64``."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str) and re.fullmatch(
        r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(?i:inf|infinity|nan)", v
    ):
        return float(v)
    return 0.0


def _atoi(s: str) -> int:
    if re.fullmatch(r"[+-]?[0-9]+", s) and -(2**63) <= int(s) < 2**63:
        return int(s)
    return 0


def _div(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(x) // abs(y)
    return _wrap(q if (x < 0) == (y < 0) else -q)  # Go truncates toward zero


def _mod(a: Any, b: Any) -> int:
    x, y = to_int64(a), to_int64(b)
    if y == 0:
        raise FuncError("runtime error: integer divide by zero")
    return x - y * _div(x, y)


def _mul(a: Any, *rest: Any) -> int:
    v = to_int64(a)
    for b in rest:
        v = _wrap(v * to_int64(b))
    return v


F.add("atoi", _atoi, S)
F.add("int64 int", to_int64, A)
F.add("float64", to_float64, A)
F.add("add1", lambda v: _wrap(to_int64(v) + 1), A)
F.add("add", lambda *v: _wrap(sum(to_int64(x) for x in v)), variadic=A)
F.add("sub", lambda a, b: _wrap(to_int64(a) - to_int64(b)), A, A)
F.add("div", _div, A, A)
F.add("mod", _mod, A, A)
F.add("mul", _mul, A, variadic=A)
F.add("biggest max", lambda a, *r: max([to_int64(a), *(to_int64(x) for x in r)]), A, variadic=A)
F.add("min", lambda a, *r: min([to_int64(a), *(to_int64(x) for x in r)]), A, variadic=A)
F.add("maxf", lambda a, *r: max([to_float64(a), *(to_float64(x) for x in r)]), A, variadic=A)
F.add("minf", lambda a, *r: min([to_float64(a), *(to_float64(x) for x in r)]), A, variadic=A)
F.add("ceil", lambda v: float(math.ceil(to_float64(v))), A)
F.add("floor", lambda v: float(math.floor(to_float64(v))), A)


@F.func("toDecimal", A)
def _to_decimal(v: Any) -> int:
    text = sprint_value(v)
    if re.fullmatch(r"[+-]?[0-7]+", text) and -(2**63) <= int(text, 8) < 2**63:
        return int(text, 8)
    return 0


@F.func("randInt", N, N)
def _rand_int(lo: int, hi: int) -> int:
    if hi - lo <= 0:
        raise FuncError("invalid argument to Intn")
    return random.randrange(hi - lo) + lo  # noqa: S311 - sprig uses math/rand here


@F.func("round", A, N, variadic=T_FLOAT)
def _round(v: Any, places: int, *round_on: float) -> float:
    on = round_on[0] if round_on else 0.5
    pow10 = math.pow(10, places)
    digit = pow10 * to_float64(v)
    frac = math.modf(digit)[0]
    return (math.ceil(digit) if frac >= on else math.floor(digit)) / pow10


def _decimal_op(op: str) -> Any:
    def run(a: Any, *rest: Any) -> float:
        ctx = decimal.Context(prec=100)
        acc = decimal.Decimal(repr(to_float64(a)))
        for x in rest:
            d = decimal.Decimal(repr(to_float64(x)))
            if op == "add":
                acc = ctx.add(acc, d)
            elif op == "sub":
                acc = ctx.subtract(acc, d)
            elif op == "mul":
                acc = ctx.multiply(acc, d)
            else:
                if d == 0:
                    raise FuncError("decimal division by 0")
                # shopspring/decimal divides to 16 decimal places.
                acc = ctx.divide(acc, d).quantize(decimal.Decimal("1e-16"), decimal.ROUND_HALF_UP)
        return float(acc)

    return run


F.add("add1f", lambda v: _decimal_op("add")(v, 1), A)
F.add("addf", lambda *v: _decimal_op("add")(0.0, *v), variadic=A)
F.add("subf", _decimal_op("sub"), A, variadic=A)
F.add("mulf", _decimal_op("mul"), A, variadic=A)
F.add("divf", _decimal_op("div"), A, variadic=A)


def until_step(start: int, stop: int, step: int) -> list[int]:
    if step:
        check_size(abs((stop - start) // step))
    if stop < start:
        return IntList(range(start, stop, step)) if step < 0 else IntList()
    return IntList(range(start, stop, step)) if step > 0 else IntList()


F.add("until", lambda n: until_step(0, n, -1 if n < 0 else 1), N)
F.add("untilStep", until_step, N, N, N)


@F.func("seq", variadic=N)
def _seq(*p: int) -> str:
    if len(p) == 1:
        start, end, step = 1, p[0], (-1 if p[0] < 1 else 1)
        return " ".join(map(str, until_step(start, end + step, step)))
    if len(p) == 2:
        step = -1 if p[1] < p[0] else 1
        return " ".join(map(str, until_step(p[0], p[1] + step, step)))
    if len(p) == 3:
        start, step, end = p
        inc = 1
        if end < start:
            inc = -1
            if step > 0:
                return ""
        return " ".join(map(str, until_step(start, end + inc, step)))
    return ""


# --- strings as lists ------------------------------------------------------------------------


def _go_split(s: str, sep: str, n: int = -1) -> list[str]:
    """``strings.SplitN``: an empty separator splits into characters."""
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if 0 < n < len(chars):
            return [*chars[: n - 1], "".join(chars[n - 1 :])]
        return chars
    return s.split(sep, n - 1 if n > 0 else -1)


F.add("split", lambda sep, s: {f"_{i}": p for i, p in enumerate(_go_split(s, sep))}, S, S)
F.add("splitList", lambda sep, s: StrList(_go_split(s, sep)), S, S)
F.add("splitn", lambda sep, n, s: {f"_{i}": p for i, p in enumerate(_go_split(s, sep, n))}, S, N, S)
F.add("toStrings", strslice, A)
F.add("join", lambda sep, v: sep.join(strslice(v)), S, A)


@F.func("sortAlpha", A)
def _sort_alpha(v: Any) -> list[str]:
    if isinstance(v, list):
        return StrList(sorted(strslice(v), key=to_bytes))
    return StrList([strval(v)])


# --- lists -----------------------------------------------------------------------------------


def _list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise FuncError(f"Cannot {what} type {kind_name(v)}")
    return v


def _must(name: str, fn: Any, *params: str, variadic: str | None = None) -> None:
    """Register ``name`` and ``mustName``: in sprig both fail the template on a bad type."""
    F.add(f"{name} must{name[0].upper()}{name[1:]}", fn, *params, variadic=variadic)


_must("push", lambda lst, v: [*_list(lst, "push on"), v], A, A)
F.add("append mustAppend", lambda lst, v: [*_list(lst, "push on"), v], A, A)
_must("prepend", lambda lst, v: [v, *_list(lst, "prepend on")], A, A)
_must("first", lambda lst: (_list(lst, "find first on") or [None])[0], A)
_must("last", lambda lst: (_list(lst, "find last on") or [None])[-1], A)
_must("rest", lambda lst: _list(lst, "find rest on")[1:], A)
_must("initial", lambda lst: _list(lst, "find initial on")[:-1], A)
_must("reverse", lambda lst: _list(lst, "find reverse on")[::-1], A)
_must("compact", lambda lst: [x for x in _list(lst, "compact on") if is_true(x)], A)
F.add("tuple list", lambda *v: list(v), variadic=A)


def _in(needle: Any, haystack: list[Any]) -> bool:
    return any(deep_equal(needle, h) for h in haystack)


@F.func("uniq mustUniq", A)
def _uniq(lst: Any) -> list[Any]:
    out: list[Any] = []
    for x in _list(lst, "find uniq on"):
        if not _in(x, out):
            out.append(x)
    return out


F.add(
    "without mustWithout",
    lambda lst, *o: [x for x in _list(lst, "find without on") if not _in(x, list(o))],
    A,
    variadic=A,
)


@F.func("has mustHas", A, A)
def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    return _in(needle, _list(haystack, "find has on"))


@F.func("slice mustSlice", A, variadic=A)
def _slice(lst: Any, *indices: Any) -> Any:
    if not isinstance(lst, list):
        raise FuncError(f"list should be type of slice or array but {kind_name(lst)}")
    if not lst:
        return None
    start = to_int64(indices[0]) if indices else 0
    end = to_int64(indices[1]) if len(indices) > 1 else len(lst)
    if not 0 <= start <= end <= len(lst):
        raise FuncError("runtime error: slice bounds out of range")
    return type(lst)(lst[start:end]) if isinstance(lst, StrList | IntList) else lst[start:end]


@F.func("concat", variadic=A)
def _concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for lst in lists:
        if not isinstance(lst, list):
            raise FuncError(f"Cannot concat type {kind_name(lst)} as list")
        out.extend(lst)
    return out


@F.func("chunk mustChunk", N, A)
def _chunk(size: int, lst: Any) -> list[list[Any]]:
    items = _list(lst, "chunk")
    if size <= 0:
        raise FuncError("runtime error: integer divide by zero")
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- dicts -----------------------------------------------------------------------------------


@F.func("dict", variadic=A)
def _dict(*kv: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(kv), 2):
        out[strval(kv[i])] = kv[i + 1] if i + 1 < len(kv) else ""
    return out


def _set(d: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    if d is None:
        raise FuncError("assignment to entry in nil map")
    d[key] = value
    return d


F.add("get", lambda d, k: (d or {}).get(k, ""), M, S)
F.add("set", _set, M, S, A)
F.add("unset", lambda d, k: (d.pop(k, None), d)[1] if d is not None else None, M, S)
F.add("hasKey", lambda d, k: d is not None and k in d, M, S)
F.add("pluck", lambda k, *ds: [d[k] for d in ds if d and k in d], S, variadic=M)
F.add("keys", lambda *ds: StrList(k for d in ds if d for k in sorted_keys(d)), variadic=M)
F.add("values", lambda d: [d[k] for k in sorted_keys(d or {})], M)
F.add("pick", lambda d, *ks: {k: d[k] for k in ks if d and k in d}, M, variadic=S)
F.add("omit", lambda d, *ks: {k: v for k, v in (d or {}).items() if k not in ks}, M, variadic=S)


def _merge_into(dst: dict[str, Any], src: dict[str, Any], overwrite: bool) -> None:
    """mergo's ``Merge``/``MergeWithOverwrite`` for maps: nested maps merge recursively;
    otherwise a key is set when missing or empty in ``dst`` (or, overwriting, when the source
    value is not empty)."""
    for k, sv in src.items():
        dv = dst.get(k)
        if isinstance(sv, dict) and isinstance(dv, dict):
            _merge_into(dv, sv, overwrite)
        elif k not in dst or not is_true(dv) or (overwrite and is_true(sv)):
            dst[k] = copy.copy(sv)


def _merger(overwrite: bool) -> Any:
    def merge(dst: dict[str, Any] | None, *srcs: dict[str, Any] | None) -> Any:
        out = {} if dst is None else dst
        for src in srcs:
            _merge_into(out, src or {}, overwrite)
        return out

    return merge


F.add("merge mustMerge", _merger(False), M, variadic=M)
F.add("mergeOverwrite mustMergeOverwrite", _merger(True), M, variadic=M)


@F.func("dig", variadic=A)
def _dig(*ps: Any) -> Any:
    if len(ps) < 3:
        raise FuncError("dig needs at least three arguments")
    d, default, keys = ps[-1], ps[-2], ps[:-2]
    for i, k in enumerate(keys):
        if not isinstance(d, dict):
            raise FuncError("interface conversion: interface {} is not map[string]interface {}")
        if not isinstance(k, str):
            raise FuncError("interface conversion: interface {} is not string")
        if k not in d:
            return default
        d = d[k]
        if i == len(keys) - 1:
            return d
    return default


LIST_FUNCS: dict[str, Any] = dict(F)
