"""The exceptions of the template engine.

Every message built here is meant to be shown in a PushSecret status or a log line, so none
of them may carry a data value: messages name template positions, keys, Go type names and
fixed reasons only. The one deliberate exception is ``fail "msg"``, whose text is written by
the template author.
"""

from __future__ import annotations


class TemplateError(Exception):
    """A template could not be parsed, executed or applied.

    The message never includes secret data values (see the package docstring).
    """


class TemplateParseError(TemplateError):
    """The template text is not a valid Go template (Go's ``template: name:line: ...``)."""


class TemplateExecError(TemplateError):
    """Executing a parsed template failed (Go's ``template: name:l:c: executing ...``)."""


class FuncError(Exception):
    """Raised by a template function; the engine reports ``error calling <fn>: <message>``.

    The message must be safe to show: a fixed reason, a type name, an index, never the value
    the function was given.
    """
