"""Label selectors, field selectors and the JSONPath subset used by CRD printer columns."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from emulators.kube_types import ApiError, JsonObj, bad_request

Selector = Callable[[JsonObj], bool]

_TOKEN = re.compile(r"\s*(==|!=|=|\(|\)|,|!|<|>|[^\s=!(),<>]+)")
_OPERATORS = ("==", "!=", "=", "(", ")", ",", "!", "<", ">")


def _tokens(text: str) -> list[str]:
    pos, out = 0, []
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing whitespace is left
            break
        out.append(match.group(1))
        pos = match.end()
    return out


def parse_label_selector(text: str) -> Selector:
    """Parse ``a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3``; a bad selector is a 400 BadRequest."""
    tokens = [*_tokens(text), ","]  # a trailing comma spares end-of-input checks
    reqs: list[tuple[str, str, tuple[str, ...]]] = []
    pos = 0

    def fail(found: str, expected: str) -> ApiError:
        return bad_request(f"unable to parse requirement: found '{found}', expected: {expected}")

    while pos < len(tokens) - 1:
        negated = tokens[pos] == "!"
        pos += negated
        key = tokens[pos]
        if key in _OPERATORS:
            raise fail(key, "identifier")
        op = tokens[pos + 1]
        pos += 2
        if negated or op == ",":
            if op != ",":
                raise fail(op, "',' or 'end of string'")
            reqs.append((key, "!" if negated else "exists", ()))
            continue
        if op in ("=", "==", "!=", "<", ">"):
            value = tokens[pos]
            if value in _OPERATORS:
                value = ""
            else:
                pos += 1
            if op in ("<", ">") and not re.fullmatch(r"-?\d+", value):
                raise fail(value, "an integer")
            reqs.append((key, "=" if op == "==" else op, (value,)))
        elif op in ("in", "notin"):
            if tokens[pos] != "(":
                raise fail(tokens[pos], "'('")
            end = tokens.index(")", pos) if ")" in tokens[pos:] else -1
            if end < 0:
                raise fail("", "')'")
            reqs.append((key, op, tuple(t for t in tokens[pos + 1 : end] if t != ",")))
            pos = end + 1
        else:
            raise fail(op, "in, notin, =, ==, !=, gt, lt")
        if tokens[pos] != ",":
            raise fail(tokens[pos], "',' or 'end of string'")
        pos += 1

    def matches(obj: JsonObj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        for key, op, vals in reqs:
            has, value = key in labels, labels.get(key)
            if op == "exists" and not has:
                return False
            if op == "!" and has:
                return False
            if op in ("=", "in") and (not has or value not in vals):
                return False
            if op in ("!=", "notin") and has and value in vals:
                return False
            if op in ("<", ">"):
                try:
                    number = int(str(value))
                except ValueError:
                    return False
                if not has or not (number > int(vals[0]) if op == ">" else number < int(vals[0])):
                    return False
        return True

    return matches


def field_value(obj: JsonObj, path: str) -> str:
    """The string a field selector compares: missing fields are the empty string."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def parse_field_selector(text: str, supported: tuple[str, ...]) -> Selector:
    """Parse ``metadata.name=x,type!=y``; unsupported fields are a 400, like the real server."""
    terms: list[tuple[str, bool, str]] = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        match = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", term)
        if match is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        path, op, value = match.groups()
        if path not in supported:
            raise bad_request(f"field label not supported: {path}")
        terms.append((path, op == "!=", value))

    def matches(obj: JsonObj) -> bool:
        return all((field_value(obj, path) == value) != negated for path, negated, value in terms)

    return matches


_JSONPATH = re.compile(
    r"""\.(?P<name>[^.\[\]]+)|\[(?P<index>-?\d+|\*)\]|\['(?P<quoted>[^']*)'\]"""
    r"""|\[\?\(@\.(?P<fpath>[\w.-]+)\s*(?P<fop>==|!=)\s*(?:"(?P<fdq>[^"]*)"|'(?P<fsq>[^']*)')\)\]"""
)


def jsonpath_get(obj: Any, path: str) -> Any:
    """The first value ``path`` selects (``.a.b``, ``[0]``, ``[*]``, ``[?(@.k=="v")]``) or None."""
    path = path.strip()
    path = path[1:-1] if path.startswith("{") and path.endswith("}") else path
    path = path if path.startswith((".", "[")) else "." + path
    values: list[Any] = [obj]
    pos = 0
    while pos < len(path):
        match = _JSONPATH.match(path, pos)
        if match is None:
            return None
        pos = match.end()
        step: list[Any] = []
        for value in values:
            if match["name"] is not None or match["quoted"] is not None:
                key = match["name"] if match["name"] is not None else match["quoted"]
                if isinstance(value, dict) and key in value:
                    step.append(value[key])
            elif match["index"] is not None and isinstance(value, list):
                if match["index"] == "*":
                    step.extend(value)
                elif -len(value) <= int(match["index"]) < len(value):
                    step.append(value[int(match["index"])])
            elif match["fpath"] is not None and isinstance(value, list):
                want = match["fdq"] if match["fdq"] is not None else match["fsq"]
                for item in value:
                    equal = (
                        field_value(item, match["fpath"]) == want
                        if isinstance(item, dict)
                        else False
                    )
                    if equal != (match["fop"] == "!="):
                        step.append(item)
        values = step
    return values[0] if values else None
