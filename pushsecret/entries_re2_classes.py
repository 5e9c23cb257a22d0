"""Character classes for :mod:`pushsecret.entries_re2`: Go's ASCII groups as code point ranges.

Go's ``\\d \\s \\w``, ``[[:name:]]`` and ``\\b`` are ASCII-only whatever the text, so they
are spelled out here as explicit ranges instead of Python's Unicode-aware shorthands.
"""

from __future__ import annotations

__all__ = [
    "MAX_RUNE",
    "NOT_WORD_BOUNDARY",
    "PERL_GROUPS",
    "POSIX_GROUPS",
    "WORD_BOUNDARY",
    "Ranges",
    "char",
    "class_text",
    "fold_closure",
    "negate",
    "normalize",
]

MAX_RUNE = 0x10FFFF
Ranges = list[tuple[int, int]]

_WORD: Ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
PERL_GROUPS: dict[str, Ranges] = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": _WORD,
}
POSIX_GROUPS: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": _WORD,
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}
_W = r"[0-9A-Za-z_]"
WORD_BOUNDARY = rf"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))"
NOT_WORD_BOUNDARY = rf"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))"


def normalize(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in normalize(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_RUNE:
        out.append((nxt, MAX_RUNE))
    return out


def fold_closure(ranges: Ranges) -> Ranges:
    """Case-fold closure of an ASCII class (all Perl/POSIX groups are ASCII).

    Needed before negating a group under ``(?i)``: Go negates the *folded* group, so
    ``(?i)[\\W]`` must not match ``K`` (U+212A KELVIN SIGN, which folds to ``k``).
    """
    members = {c for lo, hi in ranges for c in range(lo, hi + 1)}
    extra: set[int] = set()
    for c in members:
        ch = chr(c)
        if ch.isascii() and ch.isalpha():
            extra.add(ord(ch.swapcase()))
    if {0x4B, 0x6B} & (members | extra):
        extra.add(0x212A)
    if {0x53, 0x73} & (members | extra):
        extra.add(0x17F)
    return normalize(ranges + [(c, c) for c in extra])


def char(cp: int) -> str:
    """A code point as a Python pattern literal, safe both inside and outside classes."""
    ch = chr(cp)
    return ch if ch.isascii() and (ch.isalnum() or ch == "_") else f"\\U{cp:08x}"


def class_text(ranges: Ranges, negated: bool) -> str:
    items = "".join(char(lo) if lo == hi else f"{char(lo)}-{char(hi)}" for lo, hi in ranges)
    if not items:
        return f"[{char(0)}-{char(MAX_RUNE)}]" if negated else "(?!)"
    return f"[^{items}]" if negated else f"[{items}]"
