"""Execution of parsed Go templates (a port of ``text/template/exec.go``).

:class:`Template` pairs a tree set from :mod:`~pushsecret.templating.parser` with a function
map of :class:`GoFunc`; :meth:`Template.execute` walks the tree against the data. Arguments
are checked against each function's Go parameter types as ``reflect`` would, so the errors
read like Go's (``wrong type for value; expected string; got int``), and every function
failure becomes ``error calling <name>: <reason>``.

Errors never quote data values: where Go prints a value (``range can't iterate over
hunter2``), this port prints its type instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from pushsecret.templating._errors import FuncError, TemplateExecError, TemplateParseError
from pushsecret.templating._values import (
    T_ANY,
    T_BOOL,
    T_FLOAT,
    T_INT,
    T_LIST,
    T_MAP,
    T_STRING,
    T_TIME,
    go_quote,
    is_int,
    is_true,
    sorted_keys,
    sprint_value,
    to_bytes,
    type_name,
)
from pushsecret.templating.builtins import BUILTINS, INVALID, GoFunc
from pushsecret.templating.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
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
from pushsecret.templating.parser import Tree, parse

_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\'(?:[^\'\\]|\\.)*\'')
MAX_OUTPUT = 8 * 2**20  # characters of output per execution
MAX_EXEC_DEPTH = 100  # nested {{template}} calls; Go allows 100000, Python's stack does not


_MISSING: Any = object()  # "no pipeline value to pass on" (Go's missingVal)
_NILLABLE = frozenset({T_ANY, T_MAP, T_LIST})
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    T_ANY: lambda v: True,
    T_STRING: lambda v: isinstance(v, str),
    T_INT: is_int,
    T_FLOAT: lambda v: isinstance(v, float),
    T_BOOL: lambda v: isinstance(v, bool),
    T_MAP: lambda v: isinstance(v, dict),
    T_LIST: lambda v: isinstance(v, list),
    T_TIME: lambda v: isinstance(v, dt.datetime),
}


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Template:
    """A parsed template set, ready to execute.

    Args:
        name: the template's name (ESO uses the data key); it prefixes every error.
        text: the template text.
        funcs: the function map (builtins are added, and the map's entries win over them,
            as ``Template.Funcs`` does).
        left, right: the action delimiters.

    Raises:
        TemplateParseError: the text is not a valid template.
    """

    def __init__(
        self,
        name: str,
        text: str,
        funcs: Mapping[str, GoFunc],
        *,
        left: str = "{{",
        right: str = "}}",
    ) -> None:
        self.name = name
        self.funcs: dict[str, GoFunc] = {**BUILTINS, **funcs}
        self._builtin_names = frozenset(n for n in BUILTINS if n not in funcs)
        try:
            self.trees = parse(name, text, frozenset(self.funcs), left, right)
        except RecursionError:
            # Python's stack is smaller than Go's: report deep nesting as a template error.
            raise TemplateParseError(f"template: {name}: nesting too deep") from None

    def execute(
        self, data: Any, *, missing_key_error: bool = True, redact_literals: bool = False
    ) -> str:
        """Render the top-level template with ``data`` as dot and ``$``.

        ``missing_key_error`` is Go's ``missingkey=error`` (a missing map key fails); without
        it a missing key yields no value, printed ``<no value>``. ``redact_literals`` masks
        string literals in the context part of errors, for template text that is itself
        secret (a template stored in a Secret).

        Raises:
            TemplateExecError: execution failed (Go's message, without data values).
        """
        tree = self.trees.get(self.name)
        state = _State(self, missing_key_error, redact_literals)
        if tree is None or tree.root is None:
            state.errorf(f"{go_quote(self.name)} is an incomplete or empty template")
        state.tree = tree
        state.vars = [("$", data)]
        try:
            state.walk(data, tree.root)
        except RecursionError:
            raise TemplateExecError(f"template: {self.name}: nesting too deep") from None
        return "".join(state.out)


class _State:
    def __init__(self, tmpl: Template, missing_key_error: bool, redact: bool) -> None:
        self.tmpl = tmpl
        self.missing_error = missing_key_error
        self.redact = redact
        self.tree: Tree | None = None
        self.node: Node | None = None
        self.vars: list[tuple[str, Any]] = []
        self.depth = 0
        self.out: list[str] = []
        self.size = 0

    # --- errors ------------------------------------------------------------------------------

    def errorf(self, msg: str) -> NoReturn:
        tree = self.tree
        name = tree.name if tree else self.tmpl.name
        if self.node is None or tree is None:
            raise TemplateExecError(f"template: {name}: {msg}")
        context = str(self.node)
        if self.redact:
            context = _LITERAL.sub('"..."', context)
        raise TemplateExecError(
            f"template: {self._location(tree, self.node)}: executing {go_quote(name)} "
            f"at <{context}>: {msg}"
        )

    @staticmethod
    def _location(tree: Tree, node: Node) -> str:
        text = tree.text[: node.pos]
        nl = text.rfind("\n")
        col = len(to_bytes(text[nl + 1 :]))  # Go counts bytes from the start of the line
        return f"{tree.parse_name}:{text.count(chr(10)) + 1}:{col}"

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            # Not in Go: a Kubernetes Secret holds at most 1 MiB, and a runaway loop must not
            # exhaust the worker's memory.
            self.errorf(f"template output exceeds {MAX_OUTPUT // 2**20} MiB")
        self.out.append(text)

    # --- variables ---------------------------------------------------------------------------

    def push(self, name: str, value: Any) -> None:
        self.vars.append((name, value))

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        self.errorf(f"undefined variable: {name}")

    def var_value(self, name: str) -> Any:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        self.errorf(f"undefined variable: {name}")

    # --- walking -----------------------------------------------------------------------------

    def walk(self, dot: Any, node: Node) -> None:
        self.node = node
        if isinstance(node, ActionNode):
            assert node.pipe is not None
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:  # declarations print nothing
                self.node = node
                self.write("<no value>" if val is None or val is INVALID else _print(val))
        elif isinstance(node, ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, TextNode):
            self.write(node.text)
        elif isinstance(node, RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, BranchNode):
            self.walk_if_or_with(dot, node)
        elif isinstance(node, TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break
        elif isinstance(node, ContinueNode):
            raise _Continue
        elif not isinstance(node, CommentNode):
            self.errorf(f"unknown node: {node}")

    def walk_if_or_with(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        try:
            assert node.pipe is not None and node.list is not None
            val = self.eval_pipeline(dot, node.pipe)
            if is_true(None if val is INVALID else val):
                self.walk(val if isinstance(node, WithNode) else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: RangeNode) -> None:
        self.node = node
        outer = len(self.vars)
        try:
            assert node.pipe is not None and node.list is not None
            val = self.eval_pipeline(dot, node.pipe)
            mark = len(self.vars)
            ndecl = len(node.pipe.decl)
            items: Iterable[tuple[Any, Any]]
            if isinstance(val, list):
                items = list(enumerate(val))  # a copy: the body may append to the list
            elif isinstance(val, dict):
                items = [(k, val[k]) for k in sorted_keys(val)]
            elif is_int(val):
                if ndecl > 1:
                    self.errorf(
                        "can't use value of type int to iterate over more than one variable"
                    )
                items = ((i, i) for i in range(val))  # lazily: {{range 1000000000}} is legal
            elif val is None or val is INVALID:
                items = []
            else:
                # Go prints the value here; a status must not.
                self.errorf(f"range can't iterate over value of type {type_name(val)}")
            empty = True
            for index, elem in items:
                empty = False
                if ndecl > 0:
                    self.vars[len(self.vars) - 1] = (self.vars[-1][0], elem)
                if ndecl > 1:
                    self.vars[len(self.vars) - 2] = (self.vars[-2][0], index)
                try:
                    self.walk(elem, node.list)
                except _Continue:
                    pass
                except _Break:
                    break
                finally:
                    del self.vars[mark:]
            if empty and node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[outer:]

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        self.node = node
        tree = self.tmpl.trees.get(node.name)
        if tree is None or tree.root is None:
            self.errorf(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_EXEC_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
        value = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else None
        value = None if value is INVALID else value
        saved = (self.tree, self.vars, self.node)
        self.tree, self.vars = tree, [("$", value)]  # no dynamic scoping
        self.depth += 1
        try:
            self.walk(value, tree.root)
        finally:
            self.depth -= 1
            self.tree, self.vars, self.node = saved

    # --- evaluation --------------------------------------------------------------------------

    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        self.node = pipe
        value = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for v in pipe.decl:
            if pipe.is_assign:
                self.set_var(v.ident[0], value)
            else:
                self.push(v.ident[0], value)
        return value

    def not_a_function(self, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return _pipe_value(self.eval_pipeline(dot, first))
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.true
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, StringNode):
            return first.text
        self.errorf(f"can't evaluate command {go_quote(str(first))}")

    def ideal_constant(self, n: NumberNode) -> Any:
        self.node = n
        text = n.text
        is_hex_int = (
            len(text) > 2 and text[0] == "0" and text[1] in "xX" and not set("pP") & set(text)
        )
        if n.is_float and not is_hex_int and text[0] != "'" and set(".eEpP") & set(text):
            return n.float64
        if n.is_int:
            return n.int64
        self.errorf(f"{text} overflows int")

    def eval_chain(self, dot: Any, chain: ChainNode, args: list[Node], final: Any) -> Any:
        self.node = chain
        if isinstance(chain.node, NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        assert chain.node is not None
        receiver = self.eval_arg(dot, T_ANY, chain.node)
        receiver = INVALID if receiver is None else receiver
        return self.eval_field_chain(dot, receiver, chain, chain.field, args, final)

    def eval_variable(
        self, dot: Any, var: VariableNode, args: list[Node] | None, final: Any
    ) -> Any:
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args or [var], final)
            return value
        receiver = INVALID if value is None else value  # a variable holds an unwrapped value
        return self.eval_field_chain(dot, receiver, var, var.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: Node,
        ident: list[str],
        args: list[Node] | None,
        final: Any,
    ) -> Any:
        for name in ident[:-1]:
            receiver = self.eval_field(name, None, _MISSING, receiver)
        return self.eval_field(ident[-1], args, final, receiver)

    def eval_field(self, name: str, args: list[Node] | None, final: Any, receiver: Any) -> Any:
        if receiver is INVALID:
            if self.missing_error:
                self.errorf(f"nil data; no entry for key {go_quote(name)}")
            return INVALID
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        has_args = (args is not None and len(args) > 1) or final is not _MISSING
        if isinstance(receiver, dict):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.missing_error:
                self.errorf(f"map has no entry for key {go_quote(name)}")
            return INVALID
        self.errorf(f"can't evaluate field {name} in type {type_name(receiver)}")

    def eval_function(
        self, dot: Any, node: IdentifierNode, cmd: Node, args: list[Node] | None, final: Any
    ) -> Any:
        self.node = node
        fn = self.tmpl.funcs.get(node.ident)
        if fn is None:
            self.errorf(f"{go_quote(node.ident)} is not a defined function")
        is_builtin = node.ident in self.tmpl._builtin_names
        return self.eval_call(dot, fn, is_builtin, cmd, node.ident, args, final)

    def eval_call(
        self,
        dot: Any,
        fn: GoFunc,
        is_builtin: bool,
        node: Node,
        name: str,
        args: list[Node] | None,
        final: Any,
    ) -> Any:
        args = args[1:] if args is not None else []
        num_in = len(args) + (final is not _MISSING)
        num_fixed = len(args)
        if fn.variadic is not None:
            num_fixed = len(fn.params)
            if num_in < num_fixed:
                self.errorf(
                    f"wrong number of args for {name}: want at least {num_fixed} got {len(args)}"
                )
        elif num_in != len(fn.params):
            self.errorf(f"wrong number of args for {name}: want {len(fn.params)} got {num_in}")
        if is_builtin and name in ("and", "or"):
            # Go 1.18+: and/or stop at the first argument that decides the result.
            v: Any = INVALID
            for arg in args:
                v = _pipe_value(self.eval_arg(dot, T_ANY, arg))
                if is_true(None if v is INVALID else v) == (name == "or"):
                    return v
            return final if final is not _MISSING else v
        argv: list[Any] = []
        for i, arg in enumerate(args):
            typ = fn.params[i] if i < num_fixed else fn.variadic
            assert typ is not None
            argv.append(self.eval_arg(dot, typ, arg))
        if final is not _MISSING:
            if fn.variadic is not None and num_in - 1 >= num_fixed:
                typ = fn.variadic
            else:
                typ = fn.params[num_in - 1]
            argv.append(self.validate_type(final, typ))
        try:
            return fn.fn(*argv)
        except FuncError as e:
            self.node = node
            self.errorf(f"error calling {name}: {e}")
        except (TemplateExecError, RecursionError, MemoryError):
            raise
        except Exception as e:
            # A bug or an unexpected library failure: its text may quote the data, so only
            # the exception's type is reported.
            self.node = node
            self.errorf(f"error calling {name}: internal error ({type(e).__name__})")

    def validate_type(self, value: Any, typ: str) -> Any:
        if value is INVALID or value is None:
            if typ in _NILLABLE:
                return None
            self.errorf(f"invalid value; expected {typ}")
        check = _TYPE_CHECKS.get(typ)
        ok = check is not None and check(value)
        if not ok:
            self.errorf(f"wrong type for value; expected {typ}; got {type_name(value)}")
        return value

    def eval_arg(self, dot: Any, typ: str, n: Node) -> Any:
        self.node = n
        if isinstance(n, DotNode):
            return self.validate_type(dot, typ)
        if isinstance(n, NilNode):
            if typ in _NILLABLE:
                return None
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(n, FieldNode):
            return self.validate_type(
                self.eval_field_chain(dot, dot, n, n.ident, [n], _MISSING), typ
            )
        if isinstance(n, VariableNode):
            return self.validate_type(self.eval_variable(dot, n, None, _MISSING), typ)
        if isinstance(n, PipeNode):
            return self.validate_type(_pipe_value(self.eval_pipeline(dot, n)), typ)
        if isinstance(n, IdentifierNode):
            return self.validate_type(self.eval_function(dot, n, n, None, _MISSING), typ)
        if isinstance(n, ChainNode):
            return self.validate_type(self.eval_chain(dot, n, [n], _MISSING), typ)
        if typ == T_BOOL and isinstance(n, BoolNode):
            return n.true
        if typ == T_FLOAT and isinstance(n, NumberNode) and n.is_float:
            return n.float64
        if typ == T_INT and isinstance(n, NumberNode) and n.is_int:
            return n.int64
        if typ == T_STRING and isinstance(n, StringNode):
            return n.text
        if typ == T_ANY:
            if isinstance(n, BoolNode):
                return n.true
            if isinstance(n, NumberNode):
                return self.ideal_constant(n)
            if isinstance(n, StringNode):
                return n.text
            self.errorf(f"can't handle assignment of {n} to empty interface argument")
        expected = {T_BOOL: "bool", T_FLOAT: "float", T_INT: "integer", T_STRING: "string"}
        if typ in expected:
            self.errorf(f"expected {expected[typ]}; found {n}")
        self.errorf(f"can't handle {n} for arg of type {typ}")


def _pipe_value(v: Any) -> Any:
    """A pipeline's result: Go unwraps interfaces, so a stored nil and no value both become
    no value."""
    return INVALID if v is None else v


def _print(v: Any) -> str:
    return sprint_value(v)
