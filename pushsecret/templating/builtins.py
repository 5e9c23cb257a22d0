"""Go's template builtins (``text/template/funcs.go``) and the function signature type.

``and``/``or`` are listed for their signatures only: the executor evaluates them itself,
because they stop at the first argument that decides the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from pushsecret.templating import _fmt
from pushsecret.templating._errors import FuncError
from pushsecret.templating._values import (
    T_ANY,
    T_STRING,
    StringMap,
    is_int,
    is_true,
    to_bytes,
    type_name,
)


@dataclass(frozen=True)
class GoFunc:
    """A template function with its Go signature.

    ``params`` are the Go types of the fixed parameters, ``variadic`` the element type of a
    trailing ``...`` parameter. ``fn`` gets the checked arguments and returns one value; it
    signals failure by raising :class:`FuncError`.
    """

    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None


class _Invalid:
    """Go's invalid ``reflect.Value``: a missing map entry, distinct from a stored nil."""

    def __repr__(self) -> str:
        return "<no value>"


INVALID: Any = _Invalid()


def _arg(v: Any) -> Any:
    return None if v is INVALID else v


def _index(item: Any, *indices: Any) -> Any:
    v = _arg(item)
    for raw in indices:
        i = _arg(raw)
        if v is None:
            raise FuncError("index of untyped nil")
        if isinstance(v, list | str):
            if not is_int(i):
                raise FuncError(f"cannot index slice/array with type {type_name(i)}")
            seq = to_bytes(v) if isinstance(v, str) else v
            if i < 0 or i >= len(seq):
                raise FuncError(f"index out of range: {i}")
            v = seq[i]
        elif isinstance(v, dict):
            if not isinstance(i, str):
                raise FuncError(f"{type_name(i)} is not index type for {type_name(v)}")
            v = v.get(i, "" if isinstance(v, StringMap) else None)
        else:
            raise FuncError(f"can't index item of type {type_name(v)}")
    return v


def _len(item: Any) -> int:
    v = _arg(item)
    if v is None:
        raise FuncError("len of nil pointer")
    if isinstance(v, str):
        return len(to_bytes(v))
    if isinstance(v, list | dict):
        return len(v)
    raise FuncError(f"len of type {type_name(v)}")


_BASIC = {bool: "bool", int: "int", float: "float", str: "string"}


def _basic_kind(v: Any) -> str | None:
    return None if v is None or v is INVALID else _BASIC.get(type(v))


def _eq(a: Any, *bs: Any) -> bool:
    a = _arg(a)
    if not bs:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(a)
    for raw in bs:
        b = _arg(raw)
        k2 = _basic_kind(b)
        if k1 != k2 or (k1 is None and type(a) is not type(b)):
            if a is not None and b is not None:
                raise FuncError("incompatible types for comparison")
            truth = False
        elif k1 is not None or a is None:
            truth = a == b
        elif isinstance(a, list | dict):
            raise FuncError(f"non-comparable type {type_name(a)}")
        else:
            truth = a == b
        if truth:
            return True
    return False


def _lt(a: Any, b: Any) -> bool:
    a, b = _arg(a), _arg(b)
    k1, k2 = _basic_kind(a), _basic_kind(b)
    if k1 is None or k2 is None:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 == "bool":
        raise FuncError("invalid type for comparison")
    return bool(to_bytes(a) < to_bytes(b)) if k1 == "string" else bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return _lt(a, b) or _eq(a, b)


def _gt(a: Any, b: Any) -> bool:
    return not _le(a, b)


def _ge(a: Any, b: Any) -> bool:
    return not _lt(a, b)


def _not(a: Any) -> bool:
    return not is_true(_arg(a))


def _passthrough(a: Any, *args: Any) -> Any:  # and/or are evaluated by eval_call itself
    raise AssertionError("and/or are special-cased")


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _fmt.sprint([_arg(a) for a in args])


def _html(*args: Any) -> str:
    s = _eval_args(args)
    for c, esc in (("&", "&amp;"), ("'", "&#39;"), ('"', "&#34;"), ("<", "&lt;"), (">", "&gt;")):
        s = s.replace(c, esc)
    return s


def _js(*args: Any) -> str:
    out = []
    for ch in _eval_args(args):
        esc = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E"}
        esc.update({"&": "\\u0026", "=": "\\u003D"})
        if ch in esc:
            out.append(esc[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _urlquery(*args: Any) -> str:
    return quote_plus(to_bytes(_eval_args(args)), safe="-_.~")


def _call(fn: Any, *args: Any) -> Any:
    raise FuncError(f"non-function of type {type_name(_arg(fn))}")


BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc(_passthrough, (T_ANY,), T_ANY),
    "or": GoFunc(_passthrough, (T_ANY,), T_ANY),
    "not": GoFunc(_not, (T_ANY,)),
    "len": GoFunc(_len, (T_ANY,)),
    "index": GoFunc(_index, (T_ANY,), T_ANY),
    "print": GoFunc(lambda *a: _fmt.sprint([_arg(x) for x in a]), (), T_ANY),
    "printf": GoFunc(lambda f, *a: _fmt.sprintf(f, [_arg(x) for x in a]), (T_STRING,), T_ANY),
    "println": GoFunc(lambda *a: _fmt.sprintln([_arg(x) for x in a]), (), T_ANY),
    "eq": GoFunc(_eq, (T_ANY,), T_ANY),
    "ne": GoFunc(lambda a, b: not _eq(a, b), (T_ANY, T_ANY)),
    "lt": GoFunc(_lt, (T_ANY, T_ANY)),
    "le": GoFunc(_le, (T_ANY, T_ANY)),
    "gt": GoFunc(_gt, (T_ANY, T_ANY)),
    "ge": GoFunc(_ge, (T_ANY, T_ANY)),
    "html": GoFunc(_html, (), T_ANY),
    "js": GoFunc(_js, (), T_ANY),
    "urlquery": GoFunc(_urlquery, (), T_ANY),
    "call": GoFunc(_call, (T_ANY,), T_ANY),
}
