"""Go ``regexp`` (RE2 syntax, Perl flags) on top of Python's :mod:`re`, for ``dataTo``.

ESO compiles ``dataTo[].match.regexp`` and ``rewrite[].regexp.source`` with Go's
``regexp.Compile`` and uses ``MatchString`` / ``ReplaceAllString``. Python's engine differs
in syntax and in a few semantics, so patterns are not handed to :func:`re.compile` as they
are: :func:`compile_go_regexp` parses the pattern the way Go's ``regexp/syntax`` parser does
(same grammar, same errors, same ``error parsing regexp: <code>: `<expr>``` texts) and
emits an equivalent Python pattern built only from constructs whose meaning is the same in
both engines.

Differences handled (Go behaviour on the left is what you get):

- ``\\d \\s \\w \\b \\B`` and POSIX ``[[:alpha:]]`` are ASCII-only in Go (Unicode in Python):
  emitted as explicit ASCII classes / look-arounds. ``\\s`` is ``[\\t\\n\\f\\r ]`` (no ``\\v``).
- ``$`` without ``(?m)`` matches only at the very end (Python's also before a final
  ``\\n``): emitted as ``\\Z``; ``\\z`` becomes ``\\Z``; Go's ``\\Z`` is an error.
- Flags ``(?imsU)`` may appear anywhere and last until the enclosing group closes (Python
  3.11 rejects global flags after the start): the parser tracks them and emits scoped
  ``(?i:…)`` / ``(?s:.)`` / ``(?m:^)`` per atom. ``U`` (ungreedy) swaps greediness.
- ``(?<name>…)``, ``(?P<name>…)`` with Go's name rule ``[A-Za-z0-9_]+`` (``1st`` is a valid
  Go name, not a Python one): emitted as plain groups, names kept here for ``$name``.
- ``\\Q…\\E``, ``\\x{10FFFF}``, octal ``\\012``, ``\\_``: turned into literals.
- ``{`` that is not a valid repeat (``a{,3}``, ``a{01}``) is a literal in Go (a repeat in
  Python for ``{,3}``): all literal braces are escaped. Counts above 1000 (also nested, as
  Go's ``repeatIsValid``) are errors.
- Constructs Go rejects and Python accepts are rejected with Go's error: look-arounds,
  atomic groups, backreferences ``\\1`` / ``(?P=n)``, possessive ``a*+``, ``(?#…)``, ``\\Z``,
  ``\\C``, ``(?x)``.
- ``ReplaceAllString`` ignores an empty match right after a previous match (Python 3.7+
  ``re.sub`` does not: ``.*`` on ``ab`` gives ``X`` in Go, ``XX`` in Python): implemented
  with Go's loop. ``$1``/``${1}``/``$name``/``$$`` expansion follows Go's ``Expand``
  (``$1x`` is the group named ``1x``; unknown groups expand to nothing).

Not supported (rejected with an explicit message rather than matched differently): Unicode
classes ``\\pL`` / ``\\p{Greek}``. Known residual differences: case-insensitive matching
uses Python's case folding (Go uses simple Unicode folding orbits; they differ only for a
few exotic characters), Go's size and nesting limits (``expression too large``) are not
reproduced, and capture contents of loops that can match empty may differ.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from pushsecret.entries_re2_syntax import RegexpError, translate

__all__ = ["GoRegexp", "RegexpError", "compile_go_regexp"]


@dataclass(frozen=True)
class GoRegexp:
    """A compiled Go regexp: ``source`` as written, its Python ``pattern`` and group names."""

    source: str
    pattern: re.Pattern[str]
    group_names: tuple[str, ...]
    """Index 0 is the whole match; ``""`` for unnamed groups."""

    def match_string(self, text: str) -> bool:
        """Go's ``MatchString``: is there a match anywhere in ``text`` (unanchored)."""
        return self.pattern.search(text) is not None

    def replace_all_string(self, src: str, template: str) -> str:
        """Go's ``ReplaceAllString(src, template)`` with ``$`` expansion of ``template``."""
        out: list[str] = []
        last_end = 0
        pos = 0
        while pos <= len(src):
            m = self.pattern.search(src, pos)
            if m is None:
                break
            start, end = m.span()
            out.append(src[last_end:start])
            # Go skips an empty match that abuts the previous match.
            if end > last_end or start == 0:
                out.append(self._expand(template, m))
            last_end = end
            # Always advance at least one character (Go: one rune).
            pos = pos + 1 if pos + 1 > end else end
        out.append(src[last_end:])
        return "".join(out)

    def _group(self, m: re.Match[str], index: int) -> str | None:
        if index >= len(self.group_names) or m.start(index) < 0:
            return None
        return m.group(index)

    def _expand(self, template: str, m: re.Match[str]) -> str:
        """Go's ``Regexp.expand``: ``$$``, ``$n``, ``${n}``, ``$name``, ``${name}``."""
        out: list[str] = []
        rest = template
        while True:
            before, dollar, after = rest.partition("$")
            out.append(before)
            if not dollar:
                return "".join(out)
            rest = after
            if rest.startswith("$"):
                out.append("$")
                rest = rest[1:]
                continue
            parsed = _extract(rest)
            if parsed is None:  # malformed: the $ is literal text
                out.append("$")
                continue
            name, num, rest = parsed
            if num >= 0:
                value = self._group(m, num)
                if value is not None:
                    out.append(value)
                continue
            for index, group_name in enumerate(self.group_names):
                if group_name == name and (value := self._group(m, index)) is not None:
                    out.append(value)
                    break


def _is_name_char(ch: str) -> bool:
    """Go's ``unicode.IsLetter || unicode.IsDigit || '_'``."""
    category = unicodedata.category(ch)
    return ch == "_" or category.startswith("L") or category == "Nd"


def _extract(text: str) -> tuple[str, int, str] | None:
    """Go's ``extract``: (name, number or -1, rest) of a ``$`` reference, None if malformed."""
    brace = text.startswith("{")
    body = text[1:] if brace else text
    i = 0
    while i < len(body) and _is_name_char(body[i]):
        i += 1
    if i == 0:
        return None
    name = body[:i]
    if brace:
        if i >= len(body) or body[i] != "}":
            return None
        i += 1
    num = 0
    for ch in name:
        if not "0" <= ch <= "9" or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + ord(ch) - ord("0")
    if name[0] == "0" and len(name) > 1:  # Go disallows leading zeros
        num = -1
    return name, num, body[i:]


@functools.lru_cache(maxsize=256)
def compile_go_regexp(source: str) -> GoRegexp:
    """Compile ``source`` with Go's RE2 syntax and semantics.

    Raises :class:`RegexpError` whose message is Go's ``error parsing regexp: ...`` text
    for patterns Go rejects, or says what is unsupported. Results are cached (patterns
    come from specs and repeat on every reconcile).
    """
    python, names = translate(source)
    try:
        pattern = re.compile(python)
    except (re.error, RecursionError, OverflowError) as exc:
        raise RegexpError(f"regexp {source!r} cannot be run by Python's engine: {exc}") from exc
    return GoRegexp(source=source, pattern=pattern, group_names=names)
