"""YAML as ESO's ``sigs.k8s.io/yaml`` (go-yaml v2 underneath) reads and writes it.

``toYaml`` is ``json.Marshal`` followed by go-yaml v2's emitter: keys in go-yaml's
"natural" order (``a9`` before ``a10``, non-letters before letters), sequences not indented
under their key, multi-line strings as literal blocks (``|-``), strings that would read as
another type double-quoted (``"true"``, ``"1.5"``, ``"2024-01-01"``), strings that cannot be
plain single-quoted, and plain scalars folded at spaces past column 80.

Reading goes YAML -> JSON -> Go value: numbers become ``float64`` for ``fromYaml``, and for
a ``map[string]string`` target (``templateAs: KeysAndValues``) scalars become their text
(``1`` -> ``"1"``, ``yes`` -> ``"true"``) while maps and lists are errors.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any

import yaml

from pushsecret.templating import _gotime
from pushsecret.templating._errors import FuncError
from pushsecret.templating._values import format_float, is_int

# --- resolving plain scalars as go-yaml v2 does ---------------------------------------------

_BOOLS = {
    **dict.fromkeys(
        ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"], True
    ),
    **dict.fromkeys(
        ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"], False
    ),
}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_FLOAT_SPECIAL = {
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?")


def _resolve(s: str) -> Any:
    """What go-yaml v2 reads an untagged plain scalar as; ``s`` itself if a string."""
    if s in _BOOLS:
        return _BOOLS[s]
    if s in _NULLS:
        return None
    if s in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[s]
    if s[:1] in "+-0123456789.":
        plain = s.replace("_", "")
        if _INT.fullmatch(plain):
            sign, body = (-1, plain[1:]) if plain[0] == "-" else (1, plain.lstrip("+"))
            if body[:2] in ("0o", "0O"):
                value = int(body[2:], 8)
            elif len(body) > 1 and body[0] == "0" and body[1].isdigit():
                value = int(body, 8)
            else:
                value = int(body, 0)
            if -(2**63) <= sign * value < 2**64:
                return sign * value
        if _FLOAT.fullmatch(plain):
            return float(plain)
        stamp = _timestamp(s)
        if stamp is not None:
            return stamp
    return s


_STAMP_LAYOUTS = (
    "2006-1-2T15:4:5.999999999Z07:00",
    "2006-1-2t15:4:5.999999999Z07:00",
    "2006-1-2 15:4:5.999999999",
    "2006-1-2",
)


def _timestamp(s: str) -> dt.datetime | None:
    """go-yaml v2's ``parseTimestamp``: an untagged ``YYYY-...`` scalar can be a time."""
    if not _TIMESTAMP.fullmatch(s):
        return None
    for layout in _STAMP_LAYOUTS:
        try:
            return _gotime.parse_time(layout, s)
        except FuncError:
            continue
    return None


class _Loader(yaml.SafeLoader):
    """PyYAML with go-yaml v2's plain-scalar resolution (``y``/``on`` are booleans, no
    sexagesimal integers, timestamps stay strings)."""


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver("tag:yaml.org,2002:gov2", re.compile(r"(?s).*"), None)


def _construct_plain(loader: _Loader, node: yaml.ScalarNode) -> Any:
    return _resolve(node.value)


_Loader.add_constructor("tag:yaml.org,2002:gov2", _construct_plain)


def _safe_problem(e: yaml.YAMLError) -> str:
    """``yaml: line N: <problem>`` from a PyYAML error, without the quoted source snippet."""
    if isinstance(e, yaml.MarkedYAMLError):
        mark = e.problem_mark or e.context_mark
        problem = re.sub(r"'[^']*'", "character", e.problem or e.context or "syntax error")
        line = f"line {mark.line + 1}: " if mark is not None else ""
        return f"yaml: {line}{problem}"
    return "yaml: syntax error"


def _load(text: str) -> Any:
    try:
        for doc in yaml.load_all(text, Loader=_Loader):
            return doc
        return None
    except yaml.YAMLError as e:
        raise FuncError("error converting YAML to JSON: " + _safe_problem(e)) from None


def _json_kind(v: Any) -> str:
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list):
        return "array"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return "string"


def _key(k: Any) -> str:
    # sigs.k8s.io/yaml turns non-string keys into their YAML text before making JSON.
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, float):
        return format_float(k)
    return "null" if k is None else str(k)


def _jsonish(v: Any) -> Any:
    """A YAML value as it comes back from a JSON round trip into ``interface{}``."""
    if isinstance(v, dict):
        return {_key(k): _jsonish(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonish(x) for x in v]
    if is_int(v):
        return float(v)
    if isinstance(v, dt.datetime):
        # A YAML timestamp reaches JSON as Go's time.Time encoding (RFC 3339).
        return _gotime.format_time(v, "2006-01-02T15:04:05.999999999Z07:00")
    if isinstance(v, bytes):
        return str(v)
    return v


def from_yaml(text: str) -> dict[str, Any]:
    """ESO's ``fromYaml``: a map, with any error text under ``"Error"`` (never raises)."""
    try:
        doc = _jsonish(_load(text))
    except FuncError as e:
        return {"Error": str(e)}
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        return {
            "Error": "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{_json_kind(doc)} into Go value of type map[string]interface {{}}"
        }
    return doc


def to_string_map(text: str) -> dict[str, str]:
    """``yaml.Unmarshal`` into ``map[string]string`` (``templateAs: KeysAndValues``).

    Raises :class:`FuncError` with sigs.k8s.io/yaml's message shape, no values.
    """
    doc = _load(text)
    if doc is None:
        return {}
    prefix = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
    if not isinstance(doc, dict):
        raise FuncError(f"{prefix}{_json_kind(doc)} into Go value of type map[string]string")
    out: dict[str, str] = {}
    for k, v in doc.items():
        # sigs.k8s.io/yaml converts scalars to the target type (string) before JSON.
        if isinstance(v, dict | list):
            raise FuncError(f"{prefix}{_json_kind(v)} into Go value of type string")
        if v is None:
            text = ""
        elif isinstance(v, bool):
            text = "true" if v else "false"
        elif is_int(v):
            text = str(v)
        elif isinstance(v, float):
            text = format_float(v)
        else:
            text = str(_jsonish(v))
        out[_key(k)] = text
    return out


# --- emitting --------------------------------------------------------------------------------

_WIDTH = 80


def _natural_less(a: str, b: str) -> bool:
    """go-yaml v2's ``keyList.Less`` for two string keys."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        al, bl = a[i].isalpha(), b[i].isalpha()
        if al and bl:
            return a[i] < b[i]
        if al or bl:
            return bl
        an = bn = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and a[ai].isdigit():
            an, ai = an * 10 + int(a[ai]), ai + 1
        bi = i
        while bi < len(b) and b[bi].isdigit():
            bn, bi = bn * 10 + int(b[bi]), bi + 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return a[i] < b[i]
    return len(a) < len(b)


def _natural_cmp(a: str, b: str) -> int:
    return -1 if _natural_less(a, b) else (1 if _natural_less(b, a) else 0)


_natural_key = functools.cmp_to_key(_natural_cmp)


def _printable(ch: str) -> bool:
    o = ord(ch)
    return (
        o == 0x0A
        or 0x20 <= o <= 0x7E
        or o == 0x85
        or 0xA0 <= o <= 0xD7FF
        or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)
        or o >= 0x10000
    )


_BREAKS = "\r\n\x85\u2028\u2029"


def _analyze(s: str) -> tuple[bool, bool, bool]:
    """go-yaml's ``analyze_scalar``: (block plain allowed, single quoted allowed, block
    literal allowed)."""
    if not s:
        return True, True, False
    block_ind = s.startswith(("---", "..."))
    lead_space = lead_break = trail_space = trail_break = False
    break_space = space_break = special = line_breaks = False
    prev_space = prev_break = False
    preceded_ws = True
    n = len(s)
    for i, c in enumerate(s):
        followed_ws = i + 1 >= n or s[i + 1] in " \t" + _BREAKS
        if i == 0:
            if c in "#,[]{}&*!|>'\"%@`" or (c in "?:-" and followed_ws):
                block_ind = True
        elif (c == ":" and followed_ws) or (c == "#" and preceded_ws):
            block_ind = True
        if not _printable(c) or c == "\ufeff":
            special = True
        if c == " ":
            lead_space |= i == 0
            trail_space |= i == n - 1
            break_space |= prev_break
            prev_space, prev_break = True, False
        elif c in _BREAKS:
            line_breaks = True
            lead_break |= i == 0
            trail_break |= i == n - 1
            space_break |= prev_space
            prev_space, prev_break = False, True
        else:
            prev_space = prev_break = False
        preceded_ws = c in " \t" + _BREAKS
    plain = single = block = True
    if lead_space or lead_break or trail_space or trail_break:
        plain = False
    if trail_space:
        block = False
    if break_space:
        plain = single = False
    if space_break or special:
        plain = single = block = False
    if line_breaks or block_ind:
        plain = False
    return plain, single, block


def _fold(s: str, col: int, indent: int, quote: str = "") -> list[str]:
    """Write ``s`` from column ``col``, breaking at a single space once past column 80."""
    lines = [quote]
    column = col + len(quote)
    spaces = False
    for i, ch in enumerate(s):
        if ch == " ":
            nxt_space = i + 1 < len(s) and s[i + 1] == " "
            inner = not quote or (0 < i < len(s) - 1)
            if not spaces and column > _WIDTH and not nxt_space and inner:
                lines.append(" " * indent)
                column = indent
            else:
                lines[-1] += ch
                column += 1
            spaces = True
            continue
        lines[-1] += "''" if ch == "'" and quote else ch
        column += 1
        spaces = False
    lines[-1] += quote
    return lines


_DQ_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


def _double_quoted(s: str) -> str:
    out = ['"']
    for ch in s:
        o = ord(ch)
        if not _printable(ch) or ch == "\ufeff" or ch in _BREAKS or ch in '"\\':
            if ch in _DQ_ESCAPES:
                out.append("\\" + _DQ_ESCAPES[ch])
            elif o <= 0xFF:
                out.append(f"\\x{o:02X}")
            elif o <= 0xFFFF:
                out.append(f"\\u{o:04X}")
            else:
                out.append(f"\\U{o:08X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _literal(s: str, indent: int) -> list[str]:
    hint = "2" if s[:1] in " " + _BREAKS else ""
    if not s.endswith("\n"):
        chomp = "-"
    elif len(s) == 1 or s[-2] not in _BREAKS:
        chomp = ""
    else:
        chomp = "+"
    body = s[:-1] if s.endswith("\n") else s
    return ["|" + hint + chomp] + [
        (" " * indent + line) if line else "" for line in body.split("\n")
    ]


def _scalar(v: Any, col: int, indent: int, key: bool = False) -> list[str]:
    """The lines of one scalar starting at column ``col``; continuation lines at ``indent``."""
    if isinstance(v, _Flow):
        return [str(v)]
    if v is None:
        return ["null"]
    if isinstance(v, bool):
        return ["true" if v else "false"]
    if is_int(v):
        # go-yaml reads integers beyond uint64 back as floats.
        return [str(v) if -(2**63) <= v < 2**64 else _yaml_float(float(v))]
    if isinstance(v, float):
        return [_yaml_float(v)]
    s = str(v)
    plain_ok = isinstance(_resolve(s), str) and not _BASE60.fullmatch(s)
    plain, single, block = _analyze(s)
    if "\n" in s and not key and block:
        return _literal(s, indent)
    if "\n" not in s and plain_ok and plain and s:
        return [s] if key else _fold(s, col, indent)
    if "\n" not in s and plain_ok and single:
        return ["'" + s.replace("'", "''") + "'"] if key else _fold(s, col, indent, "'")
    return [_double_quoted(s)]


def _yaml_float(f: float) -> str:
    # The value went through JSON first: integral floats come back as YAML integers.
    if math.isfinite(f) and f == int(f) and abs(f) < 1e21 and -(2**63) <= f < 2**64:
        return str(int(f))
    text = format_float(f, "g")
    return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)


def _is_block(v: Any) -> bool:
    return isinstance(v, dict | list) and len(v) > 0


def _block(v: dict[str, Any] | list[Any], ind: int) -> list[str]:
    lines: list[str] = []
    if isinstance(v, dict):
        for n, k in enumerate(sorted(v, key=lambda x: _natural_key(str(x)))):
            pad = "" if n == 0 else " " * ind
            key = _scalar(str(k), ind, ind + 2, key=True)[0]
            val = v[k]
            if _is_block(val):
                sub = _block(val, ind + 2 if isinstance(val, dict) else ind)
                lines.append(pad + key + ":")
                lines.append(" " * (ind + 2 if isinstance(val, dict) else ind) + sub[0])
                lines.extend(sub[1:])
            else:
                s = _scalar(_empty(val), ind + len(key) + 2, ind + 2)
                lines.append(pad + key + ": " + s[0])
                lines.extend(s[1:])
    else:
        for n, item in enumerate(v):
            pad = "" if n == 0 else " " * ind
            if _is_block(item):
                sub = _block(item, ind + 2)
                lines.append(pad + "- " + sub[0])
                lines.extend(sub[1:])
            else:
                s = _scalar(_empty(item), ind + 2, ind + 2)
                lines.append(pad + "- " + s[0])
                lines.extend(s[1:])
    return lines


class _Flow(str):
    """An empty collection, written in flow style (``{}``/``[]``) and never quoted."""


def _empty(v: Any) -> Any:
    if isinstance(v, dict):
        return _Flow("{}")
    if isinstance(v, list):
        return _Flow("[]")
    return v


def to_yaml(v: Any) -> str:
    """ESO's ``toYaml`` of an already JSON-normalized value (no trailing newline)."""
    if _is_block(v):
        return "\n".join(_block(v, 0))
    v = _empty(v)
    if isinstance(v, _Flow):
        return str(v)
    return "\n".join(_scalar(v, 0, 2))
