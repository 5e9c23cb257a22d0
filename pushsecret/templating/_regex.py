"""Go ``regexp`` (RE2 syntax) on top of Python's ``re``, for sprig's regex functions.

The pattern is translated where the dialects differ: ``$`` without ``(?m)`` and ``\\z`` mean
end of text, ``(?<name>`` is a named group, ``[[:alpha:]]``-style classes and ``\\Q...\\E``
exist, and ``\\d \\w \\s \\b`` are ASCII-only (``re.ASCII``). Perl syntax that RE2 refuses
(look-around, back-references, atomic groups) is refused too. Replacements expand ``$1``,
``${1}``, ``$name``, ``${name}`` and ``$$`` as Go's ``Expand`` does, and empty matches right
after a match are skipped as Go does.

Known differences: Python's engine backtracks (RE2 runs in linear time), Unicode classes
(``\\pL``) are not supported, and ``(?i)`` folds ASCII only.
"""

from __future__ import annotations

import functools
import re

from pushsecret.templating._errors import FuncError
from pushsecret.templating._values import StrList

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}  # fmt: skip
_REFUSED = re.compile(r"\(\?(=|!|<=|<!|>|P=|P>|#)|\\[1-9]|\\[pP]")


def _translate(pattern: str) -> str:
    if _REFUSED.search(pattern):
        raise FuncError("error parsing regexp: invalid or unsupported Perl syntax")
    flags = re.match(r"\(\?([imsU]+)\)", pattern)
    multiline = bool(flags and "m" in flags.group(1))
    if flags and "U" in flags.group(1):
        raise FuncError("error parsing regexp: the U (ungreedy) flag is not supported")
    out: list[str] = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "Q" and not in_class:
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = len(pattern) if end < 0 else end + 2
                continue
            out.append("\\Z" if nxt == "z" and not in_class else pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            posix = re.match(r"\[:(\^?)([a-z]+):\]", pattern[i:])
            if posix and posix.group(2) in _POSIX and not posix.group(1):
                out.append(_POSIX[posix.group(2)])
                i += posix.end()
                continue
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            out.append(c)
            i += 1
            # A "]" right after "[" or "[^" is a literal.
            for lead in ("^", "]"):
                if pattern[i : i + 1] == lead:
                    out.append("\\]" if lead == "]" else lead)
                    i += 1
            continue
        elif c == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        elif pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_go(pattern: str) -> re.Pattern[str]:
    """Compile a Go regular expression; :class:`FuncError` without the pattern text."""
    try:
        return re.compile(_translate(pattern), re.ASCII)
    except re.error as e:
        raise FuncError(f"error parsing regexp: {e.msg}") from None


def _compile(pattern: str, panic: bool) -> re.Pattern[str]:
    try:
        return compile_go(pattern)
    except FuncError as e:
        # The non-must variants use MustCompile, whose panic Go reports as the error.
        raise FuncError(f"regexp: Compile: {e}" if panic else str(e)) from None


def _matches(r: re.Pattern[str], s: str) -> list[re.Match[str]]:
    """Go's successive non-overlapping matches: an empty match abutting the previous match
    is dropped."""
    out: list[re.Match[str]] = []
    prev_end = -1
    for m in r.finditer(s):
        if m.start() == m.end() == prev_end:
            continue
        out.append(m)
        prev_end = m.end()
    return out


def match(pattern: str, s: str) -> bool:
    return compile_go(pattern).search(s) is not None


def find(pattern: str, s: str, panic: bool = False) -> str:
    m = _compile(pattern, panic).search(s)
    return m.group(0) if m else ""


def find_all(pattern: str, s: str, n: int, panic: bool = False) -> list[str]:
    found = [m.group(0) for m in _matches(_compile(pattern, panic), s)]
    return StrList(found if n < 0 else found[:n])


def _expand(template: str, m: re.Match[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(template):
        c = template[i]
        if c != "$" or i + 1 >= len(template):
            out.append(c)
            i += 1
            continue
        if template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        braced = re.match(r"\{([A-Za-z0-9_]+)\}", template[i + 1 :])
        bare = re.match(r"[A-Za-z0-9_]+", template[i + 1 :])
        ref = braced or bare
        if ref is None:
            out.append("$")
            i += 1
            continue
        name = ref.group(1) if braced else ref.group(0)
        i += 1 + ref.end()
        group: str | None = None
        if name.isdigit():
            if int(name) <= (m.re.groups or 0):
                group = m.group(int(name))
        elif name in m.re.groupindex:
            group = m.group(name)
        out.append(group or "")
    return "".join(out)


def replace(pattern: str, s: str, repl: str, literal: bool = False, panic: bool = False) -> str:
    out: list[str] = []
    last = 0
    for m in _matches(_compile(pattern, panic), s):
        out.append(s[last : m.start()])
        out.append(repl if literal else _expand(repl, m))
        last = m.end()
    out.append(s[last:])
    return "".join(out)


def split(pattern: str, s: str, n: int, panic: bool = False) -> list[str]:
    r = _compile(pattern, panic)
    if n == 0:
        return StrList()
    if pattern and not s:
        return StrList([""])
    parts: list[str] = []
    beg = end = 0
    for m in _matches(r, s):
        if n > 0 and len(parts) == n - 1:
            break
        end = m.start()
        if m.end() != 0:
            parts.append(s[beg:end])
        beg = m.end()
    if end != len(s):
        parts.append(s[beg:])
    return StrList(parts)


def quote_meta(s: str) -> str:
    """``regexp.QuoteMeta``: escape ``\\.+*?()|[]{}^$``."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", s)
