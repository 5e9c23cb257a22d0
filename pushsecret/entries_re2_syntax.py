"""The parser half of :mod:`pushsecret.entries_re2`: Go RE2 syntax -> Python pattern text.

It mirrors Go's ``regexp/syntax.Parse`` with the ``Perl`` flags that ``regexp.Compile``
uses (same grammar, same order of checks, same error texts) and emits only constructs whose
meaning is identical in Python's :mod:`re` (see :mod:`pushsecret.entries_re2` for the list).
"""

from __future__ import annotations

from dataclasses import dataclass

from pushsecret.entries_re2_classes import (
    MAX_RUNE,
    NOT_WORD_BOUNDARY,
    PERL_GROUPS,
    POSIX_GROUPS,
    WORD_BOUNDARY,
    Ranges,
    char,
    class_text,
    fold_closure,
    negate,
    normalize,
)

__all__ = ["RegexpError", "translate"]

_MAX_REPEAT = 1000

# Go's ErrorCode texts (regexp/syntax).
_INVALID_CHAR_RANGE = "invalid character class range"
_INVALID_ESCAPE = "invalid escape sequence"
_INVALID_NAMED_CAPTURE = "invalid named capture"
_INVALID_PERL_OP = "invalid or unsupported Perl syntax"
_INVALID_REPEAT_OP = "invalid nested repetition operator"
_INVALID_REPEAT_SIZE = "invalid repeat count"
_MISSING_BRACKET = "missing closing ]"
_MISSING_PAREN = "missing closing )"
_MISSING_REPEAT_ARG = "missing argument to repetition operator"
_TRAILING_BACKSLASH = "trailing backslash at end of expression"
_UNEXPECTED_PAREN = "unexpected )"

# Parser flags (Go's FoldCase, !OneLine, DotNL, NonGreedy).
_FOLD, _MULTILINE, _DOTNL, _UNGREEDY = 1, 2, 4, 8
_FLAG_BITS = {"i": _FOLD, "m": _MULTILINE, "s": _DOTNL, "U": _UNGREEDY}

# A counted repetition as Go's repeatIsValid sees it: (min, max, inner repetitions).
_Rep = tuple[int, int, tuple["_Rep", ...]]


class RegexpError(ValueError):
    """A pattern Go rejects (message: Go's error text) or one this module cannot translate."""


def _go_error(code: str, expr: str) -> RegexpError:
    return RegexpError(f"error parsing regexp: {code}: `{expr}`")


@dataclass
class _Atom:
    text: str
    reps: tuple[_Rep, ...] = ()


@dataclass
class _Frame:
    saved_flags: int
    capture: bool
    branches: list[list[_Atom]]


def _repeat_is_valid(rep: _Rep, n: int) -> bool:
    """Go's ``repeatIsValid``: nested counted repetitions may not exceed ``n`` copies."""
    lo, hi, inner = rep
    m = hi
    if m == 0:
        return True
    if m < 0:
        m = lo
    if m > n:
        return False
    if m > 0:
        n //= m
    return all(_repeat_is_valid(sub, n) for sub in inner)


class _Parser:
    """One pass over the pattern, mirroring Go's ``regexp/syntax.Parse`` with Perl flags."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.flags = 0
        self.names: list[str] = [""]
        self.stack: list[_Frame] = [_Frame(0, False, [[]])]

    @property
    def branch(self) -> list[_Atom]:
        return self.stack[-1].branches[-1]

    def push(self, text: str, fold_sensitive: bool = False) -> None:
        if fold_sensitive and self.flags & _FOLD:
            text = f"(?i:{text})"
        self.branch.append(_Atom(text))

    def literal(self, cp: int) -> None:
        self.push(char(cp), fold_sensitive=True)

    def parse(self) -> tuple[str, tuple[str, ...]]:
        s, i, last_repeat = self.s, 0, -1
        while i < len(s):
            repeat = -1
            c = s[i]
            if c == "(":
                if s.startswith("(?", i):
                    i = self.perl_flags(i)
                else:
                    self.open_group(capture=True, name="")
                    i += 1
            elif c == "|":
                self.stack[-1].branches.append([])
                i += 1
            elif c == ")":
                self.close_group()
                i += 1
            elif c == "^":
                self.push("(?m:^)" if self.flags & _MULTILINE else r"\A")
                i += 1
            elif c == "$":
                self.push("(?m:$)" if self.flags & _MULTILINE else r"\Z")
                i += 1
            elif c == ".":
                self.push("(?s:.)" if self.flags & _DOTNL else "[^\\n]")
                i += 1
            elif c == "[":
                i = self.parse_class(i)
            elif c in "*+?":
                i, repeat = self.repeat(c, None, i, i + 1, last_repeat), i
            elif c == "{":
                counts = self.parse_repeat(i)
                if counts is None:  # not a repeat: a literal brace
                    self.literal(ord("{"))
                    i += 1
                else:
                    lo, hi, after = counts
                    if lo < 0 or lo > _MAX_REPEAT or hi > _MAX_REPEAT or 0 <= hi < lo:
                        raise _go_error(_INVALID_REPEAT_SIZE, s[i:after])
                    i, repeat = self.repeat(s[i:after], (lo, hi), i, after, last_repeat), i
            elif c == "\\":
                i = self.backslash(i)
            else:
                self.literal(ord(c))
                i += 1
            last_repeat = repeat
        if len(self.stack) != 1:
            raise _go_error(_MISSING_PAREN, s)
        return _alternation(self.stack[0]), tuple(self.names)

    def open_group(self, capture: bool, name: str) -> None:
        if capture:
            self.names.append(name)
        self.stack.append(_Frame(self.flags, capture, [[]]))

    def close_group(self) -> None:
        if len(self.stack) == 1:
            raise _go_error(_UNEXPECTED_PAREN, self.s)
        frame = self.stack.pop()
        self.flags = frame.saved_flags  # flags set inside the group end with it
        body = _alternation(frame)
        reps = tuple(rep for branch in frame.branches for atom in branch for rep in atom.reps)
        self.branch.append(_Atom(f"({body})" if frame.capture else f"(?:{body})", reps))

    def perl_flags(self, i: int) -> int:
        """``(?P<name>``, ``(?<name>``, ``(?flags)``, ``(?flags:``; returns the next index."""
        s = self.s
        t = s[i:]
        with_p = len(t) > 4 and t[2] == "P" and t[3] == "<"
        if with_p or (len(t) > 3 and t[2] == "<"):
            end = t.find(">")
            if end < 0:
                raise _go_error(_INVALID_NAMED_CAPTURE, t)
            name = t[4 if with_p else 3 : end]
            if not name or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in name):
                raise _go_error(_INVALID_NAMED_CAPTURE, t[: end + 1])
            self.open_group(capture=True, name=name)
            return i + end + 1
        j, flags, negative, saw_flag = i + 2, self.flags, False, False
        while j < len(s):
            c = s[j]
            j += 1
            if c in _FLAG_BITS:
                flags = flags & ~_FLAG_BITS[c] if negative else flags | _FLAG_BITS[c]
                saw_flag = True
            elif c == "-" and not negative:
                negative, saw_flag = True, False
            elif c in ":)" and (saw_flag or not negative):
                if c == ":":
                    self.open_group(capture=False, name="")
                self.flags = flags
                return j
            else:
                break
        raise _go_error(_INVALID_PERL_OP, s[i:j])

    def repeat(
        self, op: str, counts: tuple[int, int] | None, before: int, after: int, last: int
    ) -> int:
        """Apply a repetition to the last atom (Go's ``parser.repeat``); returns next index."""
        ungreedy = bool(self.flags & _UNGREEDY)
        if after < len(self.s) and self.s[after] == "?":
            after += 1
            ungreedy = not ungreedy
        if last >= 0:
            raise _go_error(_INVALID_REPEAT_OP, self.s[last:after])
        if not self.branch:
            raise _go_error(_MISSING_REPEAT_ARG, self.s[before:after])
        atom = self.branch[-1]
        reps = atom.reps
        if counts is not None:
            lo, hi = counts
            rep: _Rep = (lo, hi, atom.reps)
            if (lo >= 2 or hi >= 2) and not _repeat_is_valid(rep, _MAX_REPEAT):
                raise _go_error(_INVALID_REPEAT_SIZE, self.s[before:after])
            reps = (rep,)
            op = f"{{{lo}}}" if lo == hi else f"{{{lo},{'' if hi < 0 else hi}}}"
        self.branch[-1] = _Atom(f"(?:{atom.text}){op}{'?' if ungreedy else ''}", reps)
        return after

    def parse_repeat(self, i: int) -> tuple[int, int, int] | None:
        """Go's ``parseRepeat`` at ``{``: (min, max or -1, index after ``}``), None if not one."""
        s = self.s
        first = self.parse_int(i + 1)
        if first is None:
            return None
        lo, j = first
        if j >= len(s):
            return None
        hi = lo
        if s[j] == ",":
            j += 1
            if j >= len(s):
                return None
            if s[j] == "}":
                hi = -1
            else:
                second = self.parse_int(j)
                if second is None:
                    return None
                hi, j = second
                if hi < 0:
                    lo = -1
        if j >= len(s) or s[j] != "}":
            return None
        return lo, hi, j + 1

    def parse_int(self, i: int) -> tuple[int, int] | None:
        """Go's ``parseInt``: decimal without leading zeros; -1 when too big."""
        s = self.s
        j = i
        while j < len(s) and "0" <= s[j] <= "9":
            j += 1
        if j == i or (j - i >= 2 and s[i] == "0"):
            return None
        digits = s[i:j]
        # Go stops accumulating once the value reaches 1e8: at most 9 digits count.
        return (int(digits) if len(digits) <= 9 else -1), j

    def backslash(self, i: int) -> int:
        s = self.s
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if nxt == "A":
            self.push(r"\A")
        elif nxt == "z":
            self.push(r"\Z")
        elif nxt == "b":
            self.push(WORD_BOUNDARY)
        elif nxt == "B":
            self.push(NOT_WORD_BOUNDARY)
        elif nxt == "C":  # any byte: Go refuses it too
            raise _go_error(_INVALID_ESCAPE, s[i : i + 2])
        elif nxt == "Q":
            end = s.find("\\E", i + 2)
            literal = s[i + 2 :] if end < 0 else s[i + 2 : end]
            for ch in literal:
                self.literal(ord(ch))
            return len(s) if end < 0 else end + 2
        elif nxt in ("p", "P"):
            raise _unsupported_unicode_class(s, i)
        elif nxt and nxt in "dDsSwW":
            ranges = self.group(PERL_GROUPS[nxt.lower()], nxt.isupper())
            self.push(class_text(ranges, False), fold_sensitive=True)
        else:
            cp, j = self.escape(i)
            self.literal(cp)
            return j
        return i + 2

    def group(self, ranges: Ranges, negated: bool) -> Ranges:
        """A Perl/POSIX group's ranges, negated after case-folding as Go's appendGroup."""
        if not negated:
            return list(ranges)
        return negate(fold_closure(ranges) if self.flags & _FOLD else ranges)

    def escape(self, i: int) -> tuple[int, int]:
        """Go's ``parseEscape`` at a backslash: (code point, next index)."""
        s = self.s
        if i + 1 >= len(s):
            raise _go_error(_TRAILING_BACKSLASH, "")
        c = s[i + 1]
        j = i + 2
        if c.isascii() and not c.isalnum():
            return ord(c), j  # escaped punctuation is itself (\_ included)
        if c in "1234567" and not (j < len(s) and "0" <= s[j] <= "7"):
            raise _go_error(_INVALID_ESCAPE, s[i:j])  # \1 would be a backreference
        if c in "01234567":
            value = ord(c) - ord("0")
            for _ in range(2):
                if j < len(s) and "0" <= s[j] <= "7":
                    value = value * 8 + ord(s[j]) - ord("0")
                    j += 1
            return value, j
        if c == "x":
            return self.hex_escape(i, j)
        simple = {"a": 7, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11}
        if c in simple:
            return simple[c], j
        raise _go_error(_INVALID_ESCAPE, s[i:j])

    def hex_escape(self, i: int, j: int) -> tuple[int, int]:
        s = self.s
        if j >= len(s):
            raise _go_error(_INVALID_ESCAPE, s[i:j])
        if s[j] == "{":
            j += 1
            value, digits = 0, 0
            while j < len(s) and s[j] != "}":
                d = _unhex(s[j])
                j += 1
                if d < 0:
                    raise _go_error(_INVALID_ESCAPE, s[i:j])
                value = value * 16 + d
                if value > MAX_RUNE:
                    raise _go_error(_INVALID_ESCAPE, s[i:j])
                digits += 1
            if j >= len(s) or digits == 0:
                raise _go_error(_INVALID_ESCAPE, s[i : min(j + 1, len(s))])
            return value, j + 1
        x = _unhex(s[j])
        y = _unhex(s[j + 1]) if j + 1 < len(s) else -1
        j = min(j + 2, len(s))
        if x < 0 or y < 0:
            raise _go_error(_INVALID_ESCAPE, s[i:j])
        return x * 16 + y, j

    def parse_class(self, i: int) -> int:
        """Go's ``parseClass`` at ``[``; returns the index after ``]``."""
        s = self.s
        whole = s[i:]
        j = i + 1
        negated = j < len(s) and s[j] == "^"
        if negated:
            j += 1
        ranges: Ranges = []
        first = True  # ] is literal as the first member
        while j >= len(s) or s[j] != "]" or first:
            first = False
            if len(s) - j > 2 and s[j] == "[" and s[j + 1] == ":":
                end = s.find(":]", j + 2)
                if end >= 0:
                    name = s[j : end + 2]
                    base = name[2:-2].removeprefix("^")
                    if base not in POSIX_GROUPS:
                        raise _go_error(_INVALID_CHAR_RANGE, name)
                    ranges += self.group(POSIX_GROUPS[base], name[2] == "^")
                    j = end + 2
                    continue
            if s.startswith(("\\p", "\\P"), j):
                raise _unsupported_unicode_class(s, j)
            if j + 1 < len(s) and s[j] == "\\" and s[j + 1] in "dDsSwW":
                ranges += self.group(PERL_GROUPS[s[j + 1].lower()], s[j + 1].isupper())
                j += 2
                continue
            start = j
            lo, j = self.class_char(j, whole)
            hi = lo
            if len(s) - j >= 2 and s[j] == "-" and s[j + 1] != "]":
                hi, j = self.class_char(j + 1, whole)
                if hi < lo:
                    raise _go_error(_INVALID_CHAR_RANGE, s[start:j])
            ranges.append((lo, hi))
        self.push(class_text(normalize(ranges), negated), fold_sensitive=True)
        return j + 1

    def class_char(self, j: int, whole: str) -> tuple[int, int]:
        if j >= len(self.s):
            raise _go_error(_MISSING_BRACKET, whole)
        if self.s[j] == "\\":
            return self.escape(j)
        return ord(self.s[j]), j + 1


def _alternation(frame: _Frame) -> str:
    return "|".join("".join(atom.text for atom in branch) for branch in frame.branches)


def _unhex(ch: str) -> int:
    return int(ch, 16) if ch in "0123456789abcdefABCDEF" else -1


def _unsupported_unicode_class(s: str, i: int) -> RegexpError:
    end = s.find("}", i) + 1 if s.startswith("{", i + 2) else i + 3
    return RegexpError(
        f"unsupported regexp syntax `{s[i : end or len(s)]}`: Unicode character classes "
        "are not available in this implementation"
    )


def translate(source: str) -> tuple[str, tuple[str, ...]]:
    """Python pattern text and group names (index 0 = whole match, ``""`` = unnamed).

    Raises :class:`RegexpError` with Go's ``error parsing regexp: ...`` text when Go would
    reject ``source``, or an ``unsupported regexp syntax`` text for ``\\p`` classes.
    """
    return _Parser(source).parse()
