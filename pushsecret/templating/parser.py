"""The parser of Go's ``text/template`` (a port of ``text/template/parse/parse.go``).

:func:`parse` turns a template text into its set of named trees: the top-level one plus one
per ``{{define}}`` and ``{{block}}``. Error messages are Go's, word for word
(``template: <name>:<line>: function "x" not defined``), because users search for them. The
tree nodes live in :mod:`pushsecret.templating.nodes`.
"""

from __future__ import annotations

from collections.abc import Set
from typing import NoReturn

from pushsecret.templating._errors import TemplateParseError
from pushsecret.templating._values import go_quote
from pushsecret.templating.lexer import Item, ItemType, Lexer
from pushsecret.templating.literals import new_number, unquote
from pushsecret.templating.nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
)

MAX_STACK_DEPTH = 1000  # nested parentheses; Go allows 10000, Python's stack is smaller

_OPERAND_START = frozenset(
    {
        ItemType.BOOL, ItemType.CHAR_CONSTANT, ItemType.COMPLEX, ItemType.DOT, ItemType.FIELD,
        ItemType.IDENTIFIER, ItemType.NUMBER, ItemType.NIL, ItemType.RAW_STRING,
        ItemType.STRING, ItemType.VARIABLE, ItemType.LEFT_PAREN,
    }
)  # fmt: skip


class Tree:
    """One parsed template: its name, the text it came from and its root list."""

    def __init__(self, name: str, funcs: Set[str]) -> None:
        self.name = name
        self.parse_name = name  # the top-level name, used in error locations
        self.root: ListNode | None = None
        self.text = ""
        self.funcs = funcs
        self._lex: Lexer | None = None
        self._token = [Item(ItemType.EOF, 0, "", 1)] * 3
        self._peek_count = 0
        self._vars: list[str] = []
        self._tree_set: dict[str, Tree] = {}
        self._action_line = 0
        self._range_depth = 0
        self._stack_depth = 0

    # --- token plumbing ----------------------------------------------------------------------

    @property
    def lex(self) -> Lexer:
        assert self._lex is not None
        return self._lex

    def next(self) -> Item:
        if self._peek_count > 0:
            self._peek_count -= 1
        else:
            self._token[0] = self.lex.next_item()
        return self._token[self._peek_count]

    def backup(self) -> None:
        self._peek_count += 1

    def backup2(self, t1: Item) -> None:
        self._token[1] = t1
        self._peek_count = 2

    def backup3(self, t2: Item, t1: Item) -> None:
        self._token[1] = t1
        self._token[2] = t2
        self._peek_count = 3

    def peek(self) -> Item:
        if self._peek_count > 0:
            return self._token[self._peek_count - 1]
        self._peek_count = 1
        self._token[0] = self.lex.next_item()
        return self._token[0]

    def next_non_space(self) -> Item:
        while True:
            token = self.next()
            if token.typ != ItemType.SPACE:
                return token

    def peek_non_space(self) -> Item:
        token = self.next_non_space()
        self.backup()
        return token

    # --- errors ------------------------------------------------------------------------------

    def errorf(self, msg: str) -> NoReturn:
        self.root = None
        raise TemplateParseError(f"template: {self.parse_name}:{self._token[0].line}: {msg}")

    def expect(self, expected: ItemType, context: str) -> Item:
        token = self.next_non_space()
        if token.typ != expected:
            self.unexpected(token, context)
        return token

    def expect_one_of(self, a: ItemType, b: ItemType, context: str) -> Item:
        token = self.next_non_space()
        if token.typ not in (a, b):
            self.unexpected(token, context)
        return token

    def unexpected(self, token: Item, context: str) -> NoReturn:
        if token.typ == ItemType.ERROR:
            extra = ""
            if self._action_line not in (0, token.line):
                extra = f" in action started at {self.parse_name}:{self._action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]  # avoid "action in action"
            self.errorf(f"{token}{extra}")
        self.errorf(f"unexpected {token} in {context}")

    # --- parsing -----------------------------------------------------------------------------

    def start_parse(self, lex: Lexer, tree_set: dict[str, Tree]) -> None:
        self.root = None
        self._lex = lex
        self._vars = ["$"]
        self._tree_set = tree_set
        self._stack_depth = 0
        lex.break_ok = "break" not in self.funcs
        lex.continue_ok = "continue" not in self.funcs

    def parse_text(self, text: str, left: str, right: str, tree_set: dict[str, Tree]) -> None:
        """``Tree.Parse``: parse ``text`` and add this tree (and its definitions) to the set."""
        self.parse_name = self.name
        self.start_parse(Lexer(self.name, text, left, right), tree_set)
        self.text = text
        self._parse()
        self._add()

    def _add(self) -> None:
        tree = self._tree_set.get(self.name)
        if tree is None or is_empty_tree(tree.root):
            self._tree_set[self.name] = self
            return
        if not is_empty_tree(self.root):
            self.errorf(f"template: multiple definition of template {go_quote(self.name)}")

    def _child(self, name: str) -> Tree:
        child = Tree(name, self.funcs)
        child.text = self.text
        child.parse_name = self.parse_name
        child.start_parse(self.lex, self._tree_set)
        return child

    def _parse(self) -> None:
        self.root = ListNode(self.peek().pos)
        while self.peek().typ != ItemType.EOF:
            if self.peek().typ == ItemType.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == ItemType.DEFINE:
                    self._child("definition").parse_definition()
                    continue
                self.backup2(delim)
            n = self.text_or_action()
            if isinstance(n, EndNode | ElseNode):
                self.errorf(f"unexpected {n}")
            assert self.root is not None
            self.root.nodes.append(n)

    def parse_definition(self) -> None:
        context = "define clause"
        name = self.expect_one_of(ItemType.STRING, ItemType.RAW_STRING, context)
        self.name = self.unquote(name.val)
        self.expect(ItemType.RIGHT_DELIM, context)
        self.root, end = self.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self._add()

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != ItemType.EOF:
            n = self.text_or_action()
            if isinstance(n, EndNode | ElseNode):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.typ == ItemType.TEXT:
            return TextNode(token.pos, token.val)
        if token.typ == ItemType.LEFT_DELIM:
            self._action_line = token.line
            try:
                return self.action()
            finally:
                self._action_line = 0
        if token.typ == ItemType.COMMENT:
            return CommentNode(token.pos, token.val)
        self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        typ = token.typ
        if typ == ItemType.BLOCK:
            return self.block_control()
        if typ in (ItemType.BREAK, ItemType.CONTINUE):
            return self.loop_control(token)
        if typ == ItemType.ELSE:
            return self.else_control()
        if typ == ItemType.END:
            return EndNode(self.expect(ItemType.RIGHT_DELIM, "end").pos)
        if typ == ItemType.IF:
            return IfNode(*self.parse_control("if"))
        if typ == ItemType.RANGE:
            return RangeNode(*self.parse_control("range"))
        if typ == ItemType.TEMPLATE:
            return self.template_control()
        if typ == ItemType.WITH:
            return WithNode(*self.parse_control("with"))
        self.backup()
        token = self.peek()
        # Do not pop variables: they persist until "end".
        return ActionNode(token.pos, token.line, self.pipeline("command", ItemType.RIGHT_DELIM))

    def loop_control(self, keyword: Item) -> Node:
        name = "{{" + keyword.val + "}}"
        token = self.next_non_space()
        if token.typ != ItemType.RIGHT_DELIM:
            self.unexpected(token, name)
        if self._range_depth == 0:
            self.errorf(f"{name} outside {{{{range}}}}")
        if keyword.typ == ItemType.BREAK:
            return BreakNode(keyword.pos, keyword.line)
        return ContinueNode(keyword.pos, keyword.line)

    def pipeline(self, context: str, end: ItemType) -> PipeNode:
        token = self.peek_non_space()
        pipe = PipeNode(token.pos, line=token.line)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != ItemType.VARIABLE:
                break
            self.next()
            # Spaces are tokens, so "$x foo" needs 3-token lookahead to tell a declaration
            # from a variable argument; remember the token after the variable.
            after = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (ItemType.ASSIGN, ItemType.DECLARE):
                pipe.is_assign = nxt.typ == ItemType.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self._vars.append(v.val)
            elif nxt.typ == ItemType.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self._vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (
                        ItemType.VARIABLE,
                        ItemType.RIGHT_DELIM,
                        ItemType.RIGHT_PAREN,
                    ):
                        continue  # the second variable of a range
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif after.typ == ItemType.SPACE:
                self.backup3(v, after)
            else:
                self.backup2(v)
            break
        while True:
            token = self.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def parse_control(self, context: str) -> tuple[int, int, PipeNode, ListNode, ListNode | None]:
        mark = len(self._vars)
        try:
            pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
            if context == "range":
                self._range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self._range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, ElseNode):
                # "{{else if b}}" and "{{else with b}}" are "{{else}}{{if b}}...{{end}}{{end}}".
                if context in ("if", "with") and self.peek().typ == (
                    ItemType.IF if context == "if" else ItemType.WITH
                ):
                    self.next()
                    else_list = ListNode(nxt.pos)
                    branch = IfNode if context == "if" else WithNode
                    else_list.nodes.append(branch(*self.parse_control(context)))
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self._vars[mark:]

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        # "{{else if ..." and "{{else with ...": leave the keyword for parse_control.
        if peek.typ in (ItemType.IF, ItemType.WITH):
            return ElseNode(peek.pos, peek.line)
        token = self.expect(ItemType.RIGHT_DELIM, "else")
        return ElseNode(token.pos, token.line)

    def block_control(self) -> Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
        block = self._child(name)
        block.root, end = block.item_list()
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        block._add()
        return TemplateNode(token.pos, token.line, name, pipe)

    def template_control(self) -> Node:
        context = "template clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe: PipeNode | None = None
        if self.next_non_space().typ != ItemType.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, ItemType.RIGHT_DELIM)
        return TemplateNode(token.pos, token.line, name, pipe)

    def template_name(self, token: Item, context: str) -> str:
        if token.typ not in (ItemType.STRING, ItemType.RAW_STRING):
            self.unexpected(token, context)
        return self.unquote(token.val)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()  # skip leading spaces
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.typ == ItemType.SPACE:
                continue
            if token.typ in (ItemType.RIGHT_DELIM, ItemType.RIGHT_PAREN):
                self.backup()
            elif token.typ != ItemType.PIPE:
                self.unexpected(token, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == ItemType.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == ItemType.FIELD:
                chain.field.append(self.next().val[1:])
            # As Go: fields after a field or variable extend it; literals cannot have fields.
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, str(chain)[1:].split("."))
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, str(chain).split("."))
            if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
                self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        token = self.next_non_space()
        typ = token.typ
        if typ == ItemType.IDENTIFIER:
            if token.val not in self.funcs:
                self.errorf(f"function {go_quote(token.val)} not defined")
            return IdentifierNode(token.pos, token.val)
        if typ == ItemType.DOT:
            return DotNode(token.pos)
        if typ == ItemType.NIL:
            return NilNode(token.pos)
        if typ == ItemType.VARIABLE:
            v = VariableNode(token.pos, token.val.split("."))
            if v.ident[0] not in self._vars:
                self.errorf(f"undefined variable {go_quote(v.ident[0])}")
            return v
        if typ == ItemType.FIELD:
            return FieldNode(token.pos, token.val[1:].split("."))
        if typ == ItemType.BOOL:
            return BoolNode(token.pos, token.val == "true")
        if typ in (ItemType.CHAR_CONSTANT, ItemType.COMPLEX, ItemType.NUMBER):
            try:
                return new_number(token.pos, token.val, typ)
            except ValueError as e:
                self.errorf(str(e))
        if typ == ItemType.LEFT_PAREN:
            if self._stack_depth >= MAX_STACK_DEPTH:
                self.errorf("max expression depth exceeded")
            self._stack_depth += 1
            try:
                return self.pipeline("parenthesized pipeline", ItemType.RIGHT_PAREN)
            finally:
                self._stack_depth -= 1
        if typ in (ItemType.STRING, ItemType.RAW_STRING):
            return StringNode(token.pos, token.val, self.unquote(token.val))
        self.backup()
        return None

    def unquote(self, quoted: str) -> str:
        try:
            return unquote(quoted)
        except ValueError:
            self.errorf("invalid syntax")


def parse(
    name: str, text: str, funcs: Set[str], left: str = "{{", right: str = "}}"
) -> dict[str, Tree]:
    """Parse ``text`` as the template ``name``; return every tree it defines by name.

    Raises :class:`TemplateParseError` with Go's message.
    """
    tree_set: dict[str, Tree] = {}
    Tree(name, funcs).parse_text(text, left, right, tree_set)
    return tree_set


def is_empty_tree(n: Node | None) -> bool:
    """Whether a tree holds nothing but space and comments (Go's ``IsEmptyTree``)."""
    if n is None or isinstance(n, CommentNode):
        return True
    if isinstance(n, ListNode):
        return all(is_empty_tree(x) for x in n.nodes)
    if isinstance(n, TextNode):
        return not n.text.strip(" \t\n\v\f\r\x85\xa0")
    return False
