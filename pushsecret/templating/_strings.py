"""String helpers with Go semantics, for the sprig functions.

Go's ``strings``, ``path`` and ``net/url`` plus the two libraries sprig builds on
(``Masterminds/goutils`` and ``huandu/xstrings``). Byte-oriented Go functions (``trunc``,
``substr``) slice the UTF-8 bytes, as Go does; runtime panics become errors without values.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pushsecret.templating._errors import FuncError
from pushsecret.templating._values import GO_SPACE, check_size, from_bytes, to_bytes


def _rune_upper(c: str) -> str:
    u = c.upper()
    return u if len(u) == 1 else c  # Go maps rune by rune ("ß" stays "ß")


def _rune_lower(c: str) -> str:
    u = c.lower()
    return u if len(u) == 1 else c


def upper(s: str) -> str:
    return "".join(map(_rune_upper, s))


def lower(s: str) -> str:
    return "".join(map(_rune_lower, s))


def _is_separator(c: str) -> bool:
    # strings.Title's word boundaries.
    if c < "\x80":
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdigit():
        return False
    return c in GO_SPACE


def title(s: str) -> str:
    """``strings.Title``: upper-case the first letter of each word."""
    out = []
    prev = " "
    for c in s:
        out.append(c.title() if len(c.title()) == 1 and _is_separator(prev) else c)
        prev = c
    return "".join(out)


def untitle(s: str) -> str:
    """goutils ``Uncapitalize``: lower-case the first letter of each space-separated word."""
    out = []
    nxt = True
    for c in s:
        if c in GO_SPACE:
            nxt = True
            out.append(c)
        elif nxt:
            out.append(_rune_lower(c))
            nxt = False
        else:
            out.append(c)
    return "".join(out)


def initials(s: str) -> str:
    out = []
    gap = True
    for c in s:
        if c in GO_SPACE:
            gap = True
        elif gap:
            out.append(c)
            gap = False
    return "".join(out)


def swapcase(s: str) -> str:
    """goutils ``SwapCase``: upper/title -> lower; lower -> title after space, else upper."""
    out = []
    whitespace = True
    for c in s:
        if c.isupper() or unicodedata.category(c) == "Lt":
            out.append(_rune_lower(c))
            whitespace = False
        elif c.islower():
            out.append(c.title() if whitespace and len(c.title()) == 1 else _rune_upper(c))
            whitespace = False
        else:
            out.append(c)
            whitespace = c in GO_SPACE
    return "".join(out)


def repeat(count: int, s: str) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    check_size(count * len(s))
    return s * count


def trunc(c: int, s: str) -> str:
    b = to_bytes(s)
    if c < 0 and len(b) + c > 0:
        return from_bytes(b[len(b) + c :])
    if c >= 0 and len(b) > c:
        return from_bytes(b[:c])
    return s


def substr(start: int, end: int, s: str) -> str:
    b = to_bytes(s)
    if start < 0:
        lo, hi = 0, end
    elif end < 0 or end > len(b):
        lo, hi = start, len(b)
    else:
        lo, hi = start, end
    if not 0 <= lo <= hi <= len(b):
        raise FuncError("runtime error: slice bounds out of range")  # Go quotes the bounds
    return from_bytes(b[lo:hi])


def _abbreviate(s: str, offset: int, width: int) -> str:
    if not s:
        return ""
    if width < 4:
        raise FuncError("width too small")
    if len(s) <= width:
        return s
    offset = min(offset, len(s))
    if len(s) - offset < width - 3:
        offset = len(s) - (width - 3)
    if offset <= 4:
        return s[: width - 3] + "..."
    if width < 7:
        raise FuncError("width too small")
    if offset + width - 3 < len(s):
        return "..." + _abbreviate(s[offset:], 0, width - 3)
    return "..." + s[len(s) - (width - 3) :]


def abbrev(width: int, s: str) -> str:
    if width < 4:
        return s
    return _abbreviate(s, 0, width)


def abbrevboth(left: int, right: int, s: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return s
    return _abbreviate(s, left, right)


def wrap(s: str, width: int, newline: str, wrap_long: bool) -> str:
    """goutils ``WrapCustom``."""
    if not s:
        return ""
    newline = newline or "\n"
    width = max(width, 1)
    out = []
    offset = 0
    n = len(s)
    while n - offset > width:
        if s[offset] == " ":
            offset += 1
            continue
        space = s.rfind(" ", offset, width + offset + 1)
        if space >= offset:
            out.append(s[offset:space] + newline)
            offset = space + 1
        elif wrap_long:
            out.append(s[offset : offset + width] + newline)
            offset += width
        else:
            idx = s.find(" ", width + offset)
            if idx < 0:
                out.append(s[offset:])
                offset = n
            else:
                out.append(s[offset:idx] + newline)
                offset = idx + 1
    out.append(s[offset:])
    return "".join(out)


# --- xstrings case conversion ----------------------------------------------------------------


def _is_connector(c: str) -> bool:
    return c in "-_" or c in GO_SPACE


def _is_punct(c: str) -> bool:
    return unicodedata.category(c).startswith("P")


def _is_number(c: str) -> bool:
    return unicodedata.category(c).startswith("N")


def _next_word(s: str) -> tuple[str, str, str]:
    """xstrings ``nextWord``: (kind, word, remaining)."""
    if not s:
        return "", "", ""
    c = s[0]
    i = 1
    if _is_connector(c):
        kind = "connector"
        while i < len(s) and _is_connector(s[i]):
            i += 1
    elif _is_punct(c):
        kind = "punct"
        while i < len(s) and _is_punct(s[i]):
            i += 1
    elif c.isupper():
        kind = "upper"
        if i < len(s) and s[i].isupper():
            while i < len(s) and s[i].isupper():
                i += 1
            # "HTTPStatus" splits into "HTTP" and "Status".
            if i < len(s) and s[i].isalpha():
                i -= 1
        elif i < len(s) and s[i].isalpha():
            while i < len(s) and s[i].isalpha() and not s[i].isupper():
                i += 1
    elif c.isalpha():
        kind = "alpha"
        while i < len(s) and s[i].isalpha() and not s[i].isupper():
            i += 1
    elif _is_number(c):
        kind = "number"
        while i < len(s) and _is_number(s[i]):
            i += 1
    else:
        kind = "other"
        while i < len(s) and not (
            _is_connector(s[i]) or s[i].isalpha() or _is_number(s[i]) or _is_punct(s[i])
        ):
            i += 1
    return kind, s[:i], s[i:]


def _lower_word(out: list[str], kind: str, word: str, connector: str) -> None:
    if kind not in ("upper", "connector"):
        out.append(word)
        return
    out.append("".join(connector if _is_connector(c) else _rune_lower(c) for c in word))


def to_lower_words(s: str, connector: str) -> str:
    """xstrings ``ToSnakeCase``/``ToKebabCase`` (``HTTPServer`` -> ``http_server``)."""
    if not s:
        return ""
    out: list[str] = []
    kind, word, rest = _next_word(s)
    while rest:
        if kind != "connector":
            _lower_word(out, kind, word, connector)
        prev, last = kind, word
        kind, word, rest = _next_word(rest)
        if prev == "number":
            while kind in ("alpha", "number"):
                _lower_word(out, kind, word, connector)
                kind, word, rest = _next_word(rest)
            if kind not in ("", "punct", "connector"):
                out.append(connector)
        elif prev == "connector":
            _lower_word(out, prev, last, connector)
        elif prev == "punct":
            pass
        elif kind != "number":
            if kind not in ("connector", "punct"):
                out.append(connector)
        elif rest:
            last = word
            kind, word, rest = _next_word(rest)
            # A number is part of the previous word ("Bld4Floor" -> "bld4_floor") unless
            # lower-case letters follow it ("HTTP2xx" -> "http_2xx").
            if kind != "alpha":
                _lower_word(out, "number", last, connector)
                if kind not in ("connector", "punct"):
                    out.append(connector)
            else:
                out.append(connector)
                _lower_word(out, "number", last, connector)
                while kind in ("alpha", "number"):
                    _lower_word(out, kind, word, connector)
                    kind, word, rest = _next_word(rest)
                if kind not in ("", "connector", "punct"):
                    out.append(connector)
    _lower_word(out, kind, word, connector)
    return "".join(out)


def camelcase(s: str) -> str:
    """xstrings ``ToCamelCase`` (``some_words`` -> ``SomeWords``, ``_a__b_`` -> ``_A_B_``)."""
    if not s:
        return ""
    out: list[str] = []
    i = 0
    r0 = ""
    while i < len(s):  # leading connectors are kept
        r0 = s[i]
        i += 1
        if not _is_connector(r0):
            r0 = _rune_upper(r0)
            break
        out.append(r0)
    if i >= len(s):
        return "".join(out) + r0
    for c in s[i:]:
        r1, r0 = r0, c
        if _is_connector(r0) and _is_connector(r1):
            out.append(r1)
            continue
        if _is_connector(r1):
            r0 = _rune_upper(r0)
        else:
            out.append(r1)
    out.append(r0)
    return "".join(out)


# --- paths (Go's "path" package) -------------------------------------------------------------


def path_clean(p: str) -> str:
    """``path.Clean``: lexical cleaning, a single leading slash kept."""
    if not p:
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    out = "/".join(parts)
    return ("/" + out) if rooted else (out or ".")


def path_base(p: str) -> str:
    if not p:
        return "."
    p = p.rstrip("/")
    if not p:
        return "/"
    return p[p.rfind("/") + 1 :]


def path_ext(p: str) -> str:
    for i in range(len(p) - 1, -1, -1):
        if p[i] == "/":
            break
        if p[i] == ".":
            return p[i:]
    return ""


# --- URLs ------------------------------------------------------------------------------------


def url_parse(v: str) -> dict[str, Any]:
    try:
        u = urlsplit(v)
        hostname = u.hostname or ""
    except ValueError:
        raise FuncError("unable to parse url") from None  # Go quotes the URL
    netloc = u.netloc
    userinfo, _, host = netloc.rpartition("@")
    opaque = ""
    path = unquote(u.path)
    if u.scheme and not netloc and u.path and not u.path.startswith("/"):
        opaque, path = u.path, ""
    return {
        "scheme": u.scheme,
        "host": host,
        "hostname": hostname,
        "path": path,
        "query": u.query,
        "opaque": opaque,
        "fragment": unquote(u.fragment),
        "userinfo": userinfo,
    }


def url_join(d: dict[str, Any]) -> str:
    def get(key: str) -> str:
        value = d.get(key, "")
        if not isinstance(value, str):
            raise FuncError(f"unable to parse {key} key, must be of type string")
        return value

    scheme, host, path, opaque = get("scheme"), get("host"), get("path"), get("opaque")
    query, fragment, user = get("query"), get("fragment"), get("userinfo")
    out = scheme + ":" if scheme else ""
    if opaque:
        out += opaque
    else:
        if scheme or host or user:
            if host or path or user:
                out += "//"
            if user:
                out += user + "@"
            out += host
        if path and not path.startswith("/") and host:
            out += "/"
        out += quote(path, safe="/:@!$&'()*+,;=-._~")
    if query:
        out += "?" + query
    if fragment:
        out += "#" + quote(fragment, safe="/:@!$&'()*+,;=-._~?")
    return out
