"""The lexer of Go's ``text/template`` (a port of ``text/template/parse/lex.go``).

A pull lexer: the parser asks for one :class:`Item` at a time, and the lexer resumes in text
or inside an action. Trim markers (``{{- `` and `` -}}``, the space is required) and
comments (``{{/* ... */}}``, only directly after the delimiter) are handled here, so the
parser never sees them. Positions are code-point offsets into the template text; error
locations convert them to Go's byte columns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from pushsecret.templating._values import go_quote


class ItemType(enum.IntEnum):
    """Token kinds; every keyword sorts after :attr:`KEYWORD`, as in Go."""

    ERROR = enum.auto()
    BOOL = enum.auto()
    CHAR = enum.auto()
    CHAR_CONSTANT = enum.auto()
    COMMENT = enum.auto()
    COMPLEX = enum.auto()
    ASSIGN = enum.auto()
    DECLARE = enum.auto()
    EOF = enum.auto()
    FIELD = enum.auto()
    IDENTIFIER = enum.auto()
    LEFT_DELIM = enum.auto()
    LEFT_PAREN = enum.auto()
    NUMBER = enum.auto()
    PIPE = enum.auto()
    RAW_STRING = enum.auto()
    RIGHT_DELIM = enum.auto()
    RIGHT_PAREN = enum.auto()
    SPACE = enum.auto()
    STRING = enum.auto()
    TEXT = enum.auto()
    VARIABLE = enum.auto()
    KEYWORD = enum.auto()
    BLOCK = enum.auto()
    BREAK = enum.auto()
    CONTINUE = enum.auto()
    DOT = enum.auto()
    DEFINE = enum.auto()
    ELSE = enum.auto()
    END = enum.auto()
    IF = enum.auto()
    NIL = enum.auto()
    RANGE = enum.auto()
    TEMPLATE = enum.auto()
    WITH = enum.auto()


KEYWORDS = {
    ".": ItemType.DOT,
    "block": ItemType.BLOCK,
    "break": ItemType.BREAK,
    "continue": ItemType.CONTINUE,
    "define": ItemType.DEFINE,
    "else": ItemType.ELSE,
    "end": ItemType.END,
    "if": ItemType.IF,
    "range": ItemType.RANGE,
    "nil": ItemType.NIL,
    "template": ItemType.TEMPLATE,
    "with": ItemType.WITH,
}

_SPACE = " \t\r\n"
_EOF = ""  # what next() returns at the end of input
_State = Callable[[], "_State | None"]


@dataclass(frozen=True, slots=True)
class Item:
    """A token: its type, code-point position, text and starting line."""

    typ: ItemType
    pos: int
    val: str
    line: int

    def __str__(self) -> str:
        # Go's item.String(), which parse errors quote ("unexpected <else> in ...").
        if self.typ == ItemType.EOF:
            return "EOF"
        if self.typ == ItemType.ERROR:
            return self.val
        if self.typ > ItemType.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def is_space(r: str) -> bool:
    return r != _EOF and r in _SPACE


def is_alnum(r: str) -> bool:
    # Go: '_' || unicode.IsLetter || unicode.IsDigit (Nd only, hence isdecimal).
    return r != _EOF and (r == "_" or r.isalpha() or r.isdecimal())


def fmt_rune(r: str) -> str:
    """Go's ``%#U`` of a rune: ``U+0023 '#'``."""
    if r == _EOF:
        return "U+FFFFFFFFFFFFFFFF"
    code = f"U+{ord(r):04X}"
    return f"{code} '{r}'" if r.isprintable() else code


class Lexer:
    """Scans one template text; :meth:`next_item` returns the next token."""

    def __init__(self, name: str, text: str, left: str = "{{", right: str = "}}") -> None:
        self.name = name
        self.input = text
        self.left = left or "{{"
        self.right = right or "}}"
        self.pos = 0
        self.start = 0
        self.at_eof = False
        self.paren_depth = 0
        self.line = 1
        self.start_line = 1
        self.item = Item(ItemType.EOF, 0, "EOF", 1)
        self.inside_action = False
        self.break_ok = True
        self.continue_ok = True

    # --- primitives --------------------------------------------------------------------------

    def next(self) -> str:
        if self.pos >= len(self.input):
            self.at_eof = True
            return _EOF
        r = self.input[self.pos]
        self.pos += 1
        if r == "\n":
            self.line += 1
        return r

    def peek(self) -> str:
        r = self.next()
        self.backup()
        return r

    def backup(self) -> None:
        if not self.at_eof and self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def this_item(self, typ: ItemType) -> Item:
        item = Item(typ, self.start, self.input[self.start : self.pos], self.start_line)
        self.start = self.pos
        self.start_line = self.line
        return item

    def emit(self, typ: ItemType) -> None:
        self.item = self.this_item(typ)

    def emit_item(self, item: Item) -> None:
        self.item = item

    def ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        r = self.next()
        if r != _EOF and r in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            r = self.next()
            if r == _EOF or r not in valid:
                break
        self.backup()

    def errorf(self, msg: str) -> None:
        self.item = Item(ItemType.ERROR, self.start, msg, self.start_line)
        self.start = 0
        self.pos = 0
        self.input = ""

    def next_item(self) -> Item:
        """The next token; after an error or EOF, EOF forever."""
        self.item = Item(ItemType.EOF, self.pos, "EOF", self.start_line)
        state: _State | None = self.lex_inside_action if self.inside_action else self.lex_text
        while state is not None:
            state = state()
        return self.item

    def _has_left_trim(self, i: int) -> bool:
        s = self.input
        return i + 1 < len(s) and s[i] == "-" and s[i + 1] in _SPACE

    def _has_right_trim(self, i: int) -> bool:
        s = self.input
        return i + 1 < len(s) and s[i] in _SPACE and s[i + 1] == "-"

    def at_right_delim(self) -> tuple[bool, bool]:
        if self._has_right_trim(self.pos) and self.input.startswith(self.right, self.pos + 2):
            return True, True
        return self.input.startswith(self.right, self.pos), False

    # --- states ------------------------------------------------------------------------------

    def lex_text(self) -> _State | None:
        x = self.input.find(self.left, self.pos)
        if x >= 0:
            if x > self.pos:
                self.pos = x
                trim = 0
                if self._has_left_trim(self.pos + len(self.left)):
                    text = self.input[self.start : self.pos]
                    trim = len(text) - len(text.rstrip(_SPACE))
                self.pos -= trim
                self.line += self.input.count("\n", self.start, self.pos)
                item = self.this_item(ItemType.TEXT)
                self.pos += trim
                self.ignore()
                if item.val:
                    self.emit_item(item)
                    return None
            return self.lex_left_delim
        self.pos = len(self.input)
        if self.pos > self.start:
            self.line += self.input.count("\n", self.start, self.pos)
            self.emit(ItemType.TEXT)
            return None
        self.emit(ItemType.EOF)
        return None

    def lex_left_delim(self) -> _State | None:
        self.pos += len(self.left)
        trim = self._has_left_trim(self.pos)
        after = 2 if trim else 0
        if self.input.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        item = self.this_item(ItemType.LEFT_DELIM)
        self.inside_action = True
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        self.emit_item(item)
        return None

    def lex_comment(self) -> _State | None:
        self.pos += 2
        x = self.input.find("*/", self.pos)
        if x < 0:
            self.errorf("unclosed comment")
            return None
        self.pos = x + 2
        delim, trim = self.at_right_delim()
        if not delim:
            self.errorf("comment ends before closing delimiter")
            return None
        self.line += self.input.count("\n", self.start, self.pos)
        self.this_item(ItemType.COMMENT)  # comments are not emitted (no ParseComments mode)
        if trim:
            self.pos += 2
        self.pos += len(self.right)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(_SPACE))
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> _State | None:
        _, trim = self.at_right_delim()
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(self.right)
        item = self.this_item(ItemType.RIGHT_DELIM)
        if trim:
            rest = self.input[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(_SPACE))
            self.ignore()
        self.inside_action = False
        self.emit_item(item)
        return None

    def lex_inside_action(self) -> _State | None:
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.errorf("unclosed left paren")
            return None
        r = self.next()
        if r == _EOF:
            self.errorf("unclosed action")
            return None
        if is_space(r):
            self.backup()  # put the space back in case we have " -}}"
            return self.lex_space
        if r == "=":
            self.emit(ItemType.ASSIGN)
        elif r == ":":
            if self.next() != "=":
                self.errorf("expected :=")
                return None
            self.emit(ItemType.DECLARE)
        elif r == "|":
            self.emit(ItemType.PIPE)
        elif r == '"':
            return self.lex_quote
        elif r == "`":
            return self.lex_raw_quote
        elif r == "$":
            return self.lex_variable
        elif r == "'":
            return self.lex_char
        elif r == "." and self.pos < len(self.input) and not "0" <= self.input[self.pos] <= "9":
            return self.lex_field
        elif r in "+-." or "0" <= r <= "9":
            self.backup()
            return self.lex_number
        elif is_alnum(r):
            self.backup()
            return self.lex_identifier
        elif r == "(":
            self.paren_depth += 1
            self.emit(ItemType.LEFT_PAREN)
        elif r == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.errorf("unexpected right paren")
                return None
            self.emit(ItemType.RIGHT_PAREN)
        elif " " <= r <= "~":
            self.emit(ItemType.CHAR)
        else:
            self.errorf(f"unrecognized character in action: {fmt_rune(r)}")
        return None

    def lex_space(self) -> _State | None:
        num = 0
        while is_space(self.peek()):
            self.next()
            num += 1
        # A trim-marked right delimiter starts with a space: leave that space for it.
        if self._has_right_trim(self.pos - 1) and self.input.startswith(self.right, self.pos + 1):
            self.backup()
            if num == 1:
                return self.lex_right_delim
        self.emit(ItemType.SPACE)
        return None

    def lex_identifier(self) -> _State | None:
        while True:
            r = self.next()
            if is_alnum(r):
                continue
            self.backup()
            word = self.input[self.start : self.pos]
            if not self.at_terminator():
                self.errorf(f"bad character {fmt_rune(r)}")
                return None
            kw = KEYWORDS.get(word)
            if kw is not None and kw > ItemType.KEYWORD:
                if (kw == ItemType.BREAK and not self.break_ok) or (
                    kw == ItemType.CONTINUE and not self.continue_ok
                ):
                    self.emit(ItemType.IDENTIFIER)
                else:
                    self.emit(kw)
            elif word[0] == ".":
                self.emit(ItemType.FIELD)
            elif word in ("true", "false"):
                self.emit(ItemType.BOOL)
            else:
                self.emit(ItemType.IDENTIFIER)
            return None

    def lex_field(self) -> _State | None:
        return self._lex_field_or_variable(ItemType.FIELD)

    def lex_variable(self) -> _State | None:
        if self.at_terminator():  # just "$"
            self.emit(ItemType.VARIABLE)
            return None
        return self._lex_field_or_variable(ItemType.VARIABLE)

    def _lex_field_or_variable(self, typ: ItemType) -> _State | None:
        if self.at_terminator():  # "." or "$" alone
            self.emit(ItemType.VARIABLE if typ == ItemType.VARIABLE else ItemType.DOT)
            return None
        while True:
            r = self.next()
            if not is_alnum(r):
                self.backup()
                break
        if not self.at_terminator():
            self.errorf(f"bad character {fmt_rune(r)}")
            return None
        self.emit(typ)
        return None

    def at_terminator(self) -> bool:
        r = self.peek()
        if is_space(r) or r in (_EOF, ".", ",", "|", ":", ")", "("):
            return True
        return self.input.startswith(self.right, self.pos)

    def lex_char(self) -> _State | None:
        while True:
            r = self.next()
            if r == "\\":
                r = self.next()
                if r not in (_EOF, "\n"):
                    continue
            if r in (_EOF, "\n"):
                self.errorf("unterminated character constant")
                return None
            if r == "'":
                break
        self.emit(ItemType.CHAR_CONSTANT)
        return None

    def lex_number(self) -> _State | None:
        if not self._scan_number():
            self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
            return None
        if self.peek() in ("+", "-"):
            # Complex: 1+2i. No spaces, must end in 'i'.
            if not self._scan_number() or self.input[self.pos - 1] != "i":
                self.errorf(f"bad number syntax: {go_quote(self.input[self.start : self.pos])}")
                return None
            self.emit(ItemType.COMPLEX)
            return None
        self.emit(ItemType.NUMBER)
        return None

    def _scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            # A leading 0 does not mean octal in floats.
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        if is_alnum(self.peek()):
            self.next()
            return False
        return True

    def lex_quote(self) -> _State | None:
        while True:
            r = self.next()
            if r == "\\":
                r = self.next()
                if r not in (_EOF, "\n"):
                    continue
            if r in (_EOF, "\n"):
                self.errorf("unterminated quoted string")
                return None
            if r == '"':
                break
        self.emit(ItemType.STRING)
        return None

    def lex_raw_quote(self) -> _State | None:
        while True:
            r = self.next()
            if r == _EOF:
                self.errorf("unterminated raw quoted string")
                return None
            if r == "`":
                break
        self.emit(ItemType.RAW_STRING)
        return None
