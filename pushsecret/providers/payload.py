"""Payload encodings shared by providers, byte-compatible with ESO's Go code.

Three things live here:

* :func:`whole_secret_json` is ESO's ``esutils.JSONMarshal`` of a ``map[string]string`` (the
  payload of a push without ``secretKey``). GCP decides whether to write a new version by
  comparing bytes, so a single differing byte makes every migrated secret grow a version on
  the first reconcile, or on every reconcile if the encoding is unstable.
* :func:`json_set_property` is ``sjson.SetBytes(doc, property, value)`` for the simple paths
  ESO uses: the value is stored as a JSON *string*, dots create nested objects, all-digit
  segments index arrays, and every other byte of the document is kept as it was.
* :func:`json_get_property` is ESO's GCP ``getDataByProperty`` followed by gjson's
  ``Result.String()``: the literal dotted key first, then the nested path.

Nothing here logs or raises with a value in the message: errors name paths only.

Differences from the Go libraries, all on inputs ESO itself handles badly:

* Property paths are limited to dot-separated segments with ``\\`` escapes. gjson/sjson
  syntax (``| # @ * ?``, a leading ``:``) and empty segments are rejected with
  :class:`ValueError` instead of being interpreted.
* A document that is not strictly valid JSON is treated as absent (sjson replaces anything that
  is not an object or array with ``{}``; for valid-looking but truncated input its output is
  unspecified, ours is ``{}`` plus the property).
* Nesting deeper than :data:`MAX_DEPTH` raises :class:`ValueError` rather than being rewritten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

__all__ = [
    "MAX_DEPTH",
    "go_json_string",
    "json_get_property",
    "json_set_property",
    "parse_property_path",
    "property_value_text",
    "whole_secret_json",
]

MAX_DEPTH = 400
"""Deepest JSON nesting the property helpers accept (Python recursion stays well in bounds)."""

_HEX = "0123456789abcdef"
_SHORT_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
# Characters Go's encoding/json rewrites. \udc80-\udcff are the stand-ins `surrogateescape`
# decoding produces for bytes that are not valid UTF-8; Go writes one \ufffd per such byte.
_ESCAPE_RE = re.compile('[\x00-\x1f"\\\\\u2028\u2029\udc80-\udcff]')
_ESCAPE_HTML_RE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\udc80-\udcff]')


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    short = _SHORT_ESCAPES.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:
        return "\\ufffd"
    # Control characters without a short form, and <, >, & when escaping HTML.
    return "\\u00" + _HEX[code >> 4] + _HEX[code & 0xF]


def _go_text(value: bytes) -> str:
    """Decode like Go's ``string(b)`` seen through ``utf8.DecodeRune``.

    Valid UTF-8 decodes normally; each byte of an invalid sequence becomes one surrogate escape
    (Python's strict decoder and Go's agree on which bytes are invalid, and surrogateescape maps
    every invalid byte to its own code point, exactly as Go yields one RuneError per byte).
    """
    return value.decode("utf-8", "surrogateescape")


def go_json_string(value: bytes | str, *, escape_html: bool = False) -> str:
    """Encode ``value`` as a JSON string literal exactly as Go's ``encoding/json`` does.

    ``escape_html=False`` is ESO's ``esutils.JSONMarshal`` (``SetEscapeHTML(false)``);
    ``True`` is plain ``json.Marshal`` (``<``, ``>``, ``&`` become ``\\u003c`` etc.), which
    sjson uses for values it must escape. A ``str`` is taken as its UTF-8 bytes, lone
    surrogates included (they are invalid UTF-8 to Go as well).
    """
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    text = _go_text(raw)
    pattern = _ESCAPE_HTML_RE if escape_html else _ESCAPE_RE
    return '"' + pattern.sub(_escape_char, text) + '"'


def whole_secret_json(data: dict[str, bytes]) -> bytes:
    """The payload of a whole-secret push: ESO's ``esutils.JSONMarshal(map[string]string)``.

    Keys sorted by their UTF-8 bytes, compact separators, no HTML escaping, U+2028/U+2029 and
    control characters escaped the Go way, non-ASCII text raw, and every byte that is not valid
    UTF-8 written as ``\\ufffd`` (so binary values are lossy, exactly as in ESO). Pure function.
    """
    items = sorted(data.items(), key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
    body = ",".join(go_json_string(k) + ":" + go_json_string(v) for k, v in items)
    return ("{" + body + "}").encode("utf-8")


# --------------------------------------------------------------------------------------------
# Property paths
# --------------------------------------------------------------------------------------------

_COMPLEX_CHARS = frozenset("|#@*?")


def parse_property_path(path: str) -> list[str]:
    """Split a property path into key segments the way sjson's ``parsePath`` does.

    ``.`` separates segments and ``\\`` makes the next character literal (``a\\.b`` is the key
    ``a.b``). Raises :class:`ValueError` (message names the path, never a value) for an empty
    path, an empty segment, a segment starting with ``:`` or any of the gjson/sjson operators
    ``| # @ * ?``, which ESO would interpret as queries rather than keys.
    """
    if path == "":
        raise ValueError("property path is empty")
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(path):
        ch = path[i]
        if ch == "\\":
            i += 1
            if i < len(path):
                current.append(path[i])
        elif ch == ".":
            parts.append("".join(current))
            current = []
        elif ch in _COMPLEX_CHARS:
            raise ValueError(
                f"property path {path!r} uses {ch!r}: only dot-separated keys are supported"
            )
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    for part in parts:
        if part == "":
            raise ValueError(f"property path {path!r} has an empty segment")
    for segment in path.split("."):
        if segment.startswith(":"):
            raise ValueError(f"property path {path!r} has a segment starting with ':'")
    return parts


def _index(part: str) -> int | None:
    """sjson's ``atoui``: the array index an all-digit segment names, else None."""
    if part == "" or not all("0" <= c <= "9" for c in part):
        return None
    return int(part)


# --------------------------------------------------------------------------------------------
# A strict JSON scanner that remembers where every value sits in the text
# --------------------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WS = " \t\n\r"


@dataclass
class _Node:
    kind: Literal["object", "array", "string", "number", "true", "false", "null"]
    start: int
    end: int
    members: list[tuple[str, _Node]] = field(default_factory=list)  # objects
    items: list[_Node] = field(default_factory=list)  # arrays
    text: str = ""  # decoded value of a string


class _Invalid(ValueError):
    pass


class _TooDeep(ValueError):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.decoder = json.JSONDecoder()

    def skip_ws(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in _WS:
            pos += 1
        return pos

    def value(self, pos: int, depth: int) -> _Node:
        if depth > MAX_DEPTH:
            raise _TooDeep("JSON document nested too deeply")
        text = self.text
        if pos >= len(text):
            raise _Invalid("unexpected end")
        ch = text[pos]
        if ch == "{":
            return self.object(pos, depth)
        if ch == "[":
            return self.array(pos, depth)
        if ch == '"':
            value, end = self.string(pos)
            return _Node("string", pos, end, text=value)
        if text.startswith("true", pos):
            return _Node("true", pos, pos + 4)
        if text.startswith("false", pos):
            return _Node("false", pos, pos + 5)
        if text.startswith("null", pos):
            return _Node("null", pos, pos + 4)
        match = _NUMBER_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise _Invalid("unexpected character")
        return _Node("number", pos, match.end())

    def string(self, pos: int) -> tuple[str, int]:
        try:
            # The stdlib decoder (strict mode) enforces RFC 8259 strings: no raw control
            # characters, only valid escapes. At a '"' it decodes exactly one string.
            value, end = self.decoder.raw_decode(self.text, pos)
        except json.JSONDecodeError as exc:
            raise _Invalid("bad string") from exc
        if not isinstance(value, str):  # pragma: no cover - raw_decode at '"' is a string
            raise _Invalid("bad string")
        return value, end

    def object(self, pos: int, depth: int) -> _Node:
        node = _Node("object", pos, pos)
        pos = self.skip_ws(pos + 1)
        if pos < len(self.text) and self.text[pos] == "}":
            node.end = pos + 1
            return node
        while True:
            if pos >= len(self.text) or self.text[pos] != '"':
                raise _Invalid("expected key")
            key, pos = self.string(pos)
            pos = self.skip_ws(pos)
            if pos >= len(self.text) or self.text[pos] != ":":
                raise _Invalid("expected colon")
            child = self.value(self.skip_ws(pos + 1), depth + 1)
            node.members.append((key, child))
            pos = self.skip_ws(child.end)
            if pos < len(self.text) and self.text[pos] == ",":
                pos = self.skip_ws(pos + 1)
                continue
            if pos < len(self.text) and self.text[pos] == "}":
                node.end = pos + 1
                return node
            raise _Invalid("expected , or }")

    def array(self, pos: int, depth: int) -> _Node:
        node = _Node("array", pos, pos)
        pos = self.skip_ws(pos + 1)
        if pos < len(self.text) and self.text[pos] == "]":
            node.end = pos + 1
            return node
        while True:
            child = self.value(pos, depth + 1)
            node.items.append(child)
            pos = self.skip_ws(child.end)
            if pos < len(self.text) and self.text[pos] == ",":
                pos = self.skip_ws(pos + 1)
                continue
            if pos < len(self.text) and self.text[pos] == "]":
                node.end = pos + 1
                return node
            raise _Invalid("expected , or ]")


def _parse(text: str) -> _Node | None:
    """The root node of ``text`` when it is one strictly valid JSON value, else None.

    Raises :class:`_TooDeep` (a ValueError) for documents nested beyond :data:`MAX_DEPTH`.
    """
    scanner = _Scanner(text)
    try:
        root = scanner.value(scanner.skip_ws(0), 0)
    except _TooDeep:
        raise
    except _Invalid:
        return None
    if scanner.skip_ws(root.end) != len(text):
        return None
    return root


def _child(node: _Node, part: str) -> _Node | None:
    """gjson's single-segment lookup: first member with that key, or the indexed element."""
    if node.kind == "object":
        for key, child in node.members:
            if key == part:
                return child
        return None
    if node.kind == "array":
        index = _index(part)
        if index is not None and index < len(node.items):
            return node.items[index]
    return None


def _lookup(root: _Node, parts: list[str]) -> _Node | None:
    node: _Node | None = root
    for part in parts:
        if node is None:
            return None
        node = _child(node, part)
    return node


# --------------------------------------------------------------------------------------------
# gjson-like get
# --------------------------------------------------------------------------------------------


def _replace_invalid(text: str) -> str:
    """Map surrogates (invalid bytes, lone \\uD8xx escapes) to U+FFFD, as Go strings show them."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def _go_format_float(raw: str) -> str:
    """``strconv.FormatFloat(f, 'f', -1, 64)`` of the float ``raw`` denotes."""
    number = float(raw)
    if number == float("inf"):
        return "+Inf"
    if number == float("-inf"):
        return "-Inf"
    text = format(Decimal(repr(number)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _result_string(text: str, node: _Node) -> str:
    """gjson ``Result.String()``: strings unescaped, integers raw, other numbers re-formatted,
    ``true``/``false``, ``""`` for null, and the raw text of objects and arrays."""
    if node.kind == "string":
        return _replace_invalid(node.text)
    if node.kind == "number":
        raw = text[node.start : node.end]
        digits = raw[1:] if raw.startswith("-") else raw
        if digits.isdigit():
            return raw
        return _go_format_float(raw)
    if node.kind in ("true", "false"):
        return node.kind
    if node.kind == "null":
        return ""
    return _replace_invalid(text[node.start : node.end])


def json_get_property(document: bytes | None, path: str) -> str | None:
    """The string form of the value at ``path`` in ``document``, or None when there is none.

    ESO's GCP lookup: when ``path`` contains a dot after its first character, the whole path is
    tried first as one literal key (``{"a.b": ...}``), then as a nested path (``{"a": {"b":
    ...}}``). A document that is absent or not valid JSON has no values. The result follows
    gjson's ``String()`` so ``5`` and ``"5"`` both read as ``"5"``; bytes that are not valid
    UTF-8 read as U+FFFD. Raises :class:`ValueError` for an unsupported path or a document
    nested deeper than :data:`MAX_DEPTH`.
    """
    parts = parse_property_path(path)
    if document is None:
        return None
    text = _go_text(document)
    root = _parse(text)
    if root is None:
        return None
    if path.find(".") > 0:
        literal = _lookup(root, parse_property_path(path.replace(".", "\\.")))
        if literal is not None:
            return _result_string(text, literal)
    found = _lookup(root, parts)
    return None if found is None else _result_string(text, found)


def property_value_text(value: bytes) -> str:
    """``value`` as :func:`json_get_property` will read it back once stored by
    :func:`json_set_property` (invalid UTF-8 bytes become U+FFFD). Compare the two to decide
    whether a property push would change anything."""
    return _replace_invalid(_go_text(value))


# --------------------------------------------------------------------------------------------
# sjson-like set
# --------------------------------------------------------------------------------------------


def _stringify(value: str) -> str:
    """sjson ``appendStringify``: raw quotes for plain ASCII, ``json.Marshal`` otherwise."""
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone high surrogate from a \\ud8xx escape in a path
        raw = value.encode("utf-8", "surrogatepass")
    if any(b < 0x20 or b > 0x7F or b in (0x22, 0x5C) for b in raw):
        return go_json_string(raw, escape_html=True)
    return '"' + value + '"'


def _build(array: bool, parts: list[str], value_json: str) -> str:
    """sjson ``appendBuild``: the member (or element) that creates ``parts`` from scratch."""
    out = "" if array else _stringify(parts[0]) + ":"
    if len(parts) > 1:
        index = _index(parts[1])
        if index is not None or parts[1] == "-1":
            out += "[" + "null," * (index or 0) + _build(True, parts[1:], value_json) + "]"
        else:
            out += "{" + _build(False, parts[1:], value_json) + "}"
    else:
        out += value_json
    return out


def _set(text: str, root: _Node | None, parts: list[str], value_json: str) -> str:
    """sjson ``appendRawPaths`` on ``text`` (one JSON value; ``root`` its parse or None)."""
    found = None if root is None else _child(root, parts[0])
    if root is not None and found is not None:
        inner = text[found.start : found.end]
        if len(parts) > 1:
            # Re-base the child's spans on its own text by re-parsing it (cheap, and keeps the
            # recursion free of offset bookkeeping).
            replaced = _set(inner, _parse(inner), parts[1:], value_json)
        else:
            replaced = value_json
        return text[: found.start] + replaced + text[found.end :]

    index = _index(parts[0])
    if root is None or root.kind not in ("object", "array"):
        # Missing, empty, a scalar or not JSON at all: sjson starts over from an empty container.
        text = "[]" if index is not None else "{}"
        root = _Node("array" if index is not None else "object", 0, 2)
    body = text[root.start : root.end]
    if root.kind == "object":
        end = body.rindex("}")
        comma = "," if root.members else ""
        return body[:end] + comma + _build(False, parts, value_json) + "}"
    # An array.
    if index is None:
        if parts[0] != "-1":
            raise ValueError(f"cannot set array element for non-numeric key {parts[0]!r}")
        head = body.rstrip(_WS)[:-1]
        comma = "," if root.items else ""
        return head + comma + _build(True, parts, value_json) + "]"
    elements = [body[item.start - root.start : item.end - root.start] for item in root.items]
    out = "[" + ",".join(elements)
    if elements:
        out += ",null" * (index - len(elements)) + ","
    else:
        out += "null," * index
    return out + _build(True, parts, value_json) + "]"


def json_set_property(document: bytes | None, path: str, value: bytes) -> bytes:
    """``sjson.SetBytes(document, path, value)``: store ``value`` as a JSON string at ``path``.

    Other keys and the formatting of untouched parts are preserved byte for byte, missing
    objects along the path are created (``a.b`` gives ``{"a":{"b":"v"}}``), an existing
    non-container value on the path is replaced by a new object, and an absent, empty or
    non-JSON document starts from ``{}``. Pure function; raises :class:`ValueError` for an
    unsupported path, a non-numeric key into an array, or excessive nesting.
    """
    parts = parse_property_path(path)
    text = "" if document is None else _go_text(document)
    root = _parse(text) if text.strip(_WS) else None
    value_json = _stringify(_go_text(value))
    result = _set(text, root, parts, value_json)
    return result.encode("utf-8", "surrogateescape")
