"""ESO's template engine v2, in Python: Go ``text/template`` with sprig and ESO's functions.

No maintained Python library gives Go-template semantics (the one PyPI candidate,
``cognihub-pygotemplate`` 0.0.2, wraps Go through CGo, is a few months old and has neither
sprig nor ESO's functions), so this package is a small interpreter: a port of Go's lexer,
parser and executor (:mod:`.lexer`, :mod:`.parser`/:mod:`.nodes`, :mod:`.exec`), the sprig
copy vendored by ESO (:mod:`.funcs_sprig`, :mod:`.funcs_sprig_lists`, :mod:`.funcs_date`) and
ESO's functions (:mod:`.funcs_eso`). :func:`render_secret_template` applies a PushSecret's
``spec.template`` exactly as ESO's controller does (:mod:`.secret_template`).

Public API
    :func:`render`, :func:`compile_template`, :func:`render_secret_template`,
    :class:`RenderedSecret`, :class:`TemplateError` (with :class:`TemplateParseError` and
    :class:`TemplateExecError`), :class:`StringMap`.

Supported Go template language
    * text and actions, ``{{- `` / `` -}}`` trim markers, ``{{/* comments */}}``,
      configurable delimiters;
    * pipelines ``a | b x``, parenthesised pipelines, function calls with arguments;
    * fields and chains ``.a.b``, ``$x.a``, ``(pipeline).a``, ``$`` (the root), ``.``;
    * variables ``$x := ...`` and ``$x = ...`` with Go's scoping (a variable lives until
      the ``end`` of the control structure that declared it);
    * ``if`` / ``else if`` / ``else``, ``with`` / ``else with`` / ``else``, ``range`` over
      lists, maps (sorted keys) and integers, with ``$i, $v :=``, ``else``, ``break`` and
      ``continue``; ``define``, ``template`` and ``block``;
    * literals: strings (``"..."`` with Go escapes, raw `````...`````), characters
      (``'a'``), numbers (decimal, hex, octal, binary, floats, ``_`` separators), ``true``,
      ``false``, ``nil``;
    * builtins ``and``/``or`` (short-circuit, Go 1.18+), ``not``, ``len``, ``index``,
      ``print``, ``printf``, ``println``, ``eq`` (several arguments), ``ne``, ``lt``, ``le``,
      ``gt``, ``ge``, ``html``, ``js``, ``urlquery``;
    * Go's truthiness, ``missingkey=error`` (``map has no entry for key "x"``) or Go's default
      (``<no value>``), argument type checks with Go's messages, and Go's parse and
      execution error texts (``template: name:line:col: executing "name" at <node>: ...``);
    * ``printf`` verbs ``%v %s %d %q %x %X %t %f %e %g %c %o %b %U %T %%`` with flags, width
      and precision, and Go's ``%!verb(type=value)`` complaints in the output.

Supported functions
    All of ESO v2's map (spec §7). Sprig: strings (``trim* upper lower title untitle substr
    trunc abbrev* repeat nospace initials swapcase shuffle snakecase camelcase kebabcase wrap
    wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural
    toString``), random strings via :mod:`secrets`, encodings (``b64enc b64dec b32enc b32dec
    hexdec``), hashes (``sha1sum sha256sum sha512sum adler32sum``), JSON (``toJson fromJson
    toPrettyJson toRawJson`` and ``must`` forms), defaults (``default empty coalesce all any
    compact ternary deepCopy``), numbers (``atoi int int64 float64 add sub mul div mod max
    min add1 *f ceil floor round seq until untilStep toDecimal randInt``), lists and dicts
    (``list dict get set unset hasKey pluck keys values pick omit merge mergeOverwrite
    append prepend first rest last initial reverse uniq without has slice concat dig chunk
    split splitList splitn join sortAlpha toStrings``), regexes, reflection (``typeOf kindOf
    typeIs kindIs deepEqual``), paths, ``urlParse urlJoin``, dates (``now date dateInZone
    toDate mustToDate dateModify ago duration durationRound htmlDate unixEpoch``),
    ``uuidv4 randBytes htpasswd`` (``sha``), ``genPrivateKey derivePassword encryptAES
    decryptAES fail``. ESO: ``toYaml fromYaml filterPEM filterCertChain certSANs pkcs12key
    pkcs12cert pemToPkcs12 fullPemToPkcs12 pemTruststoreToPKCS12`` (and ``Pass`` forms),
    ``jwkPublicKeyPem jwkPrivateKeyPem rsaDecrypt``.

Not supported
    * functions that parse but fail when called: ``bcrypt`` (and ``htpasswd`` with bcrypt),
      ``semver``, ``semverCompare``, ``buildCustomCert``, ``genCA``, ``genCAWithKey``,
      ``genSelfSignedCert*``, ``genSignedCert*`` (no bcrypt/semver library, and certificate
      generation is out of scope);
    * complex numbers, methods on values (``(now).Year``), ``call`` with a function value,
      ``printf`` argument indexes (``%[1]d``) and hexadecimal floats;
    * regex Unicode classes (``\\pL``), the ``U`` flag, and RE2's linear-time guarantee.

Deliberate differences from Go
    * Error messages never contain data values. Where Go prints a value it is replaced by its
      type or dropped: ``range can't iterate over value of type string``, regex and JSON
      errors without the pattern or the offending text, ``toDate`` errors without the input.
      ``fail "msg"`` keeps its message, which the template author wrote; a template can still
      hand data to ``fail``, so :func:`render_secret_template` also masks any source value
      of 4+ characters left in a message as ``<redacted>``. Unexpected Python failures
      inside a function report only the exception's type.
    * One integer type: Go's ``int``/``int64`` mismatch (``indent (add 1 2)`` failing with
      ``expected int; got int64``) does not happen, and sprig's dict functions accept ESO's
      ``map[string]string`` data where Go wants ``map[string]interface {}``: templates that
      fail in Go may work here, never the reverse.
    * ``keys``/``values`` return sorted keys (Go: random order); ``Local`` time is UTC;
      times have microsecond precision; ``{{template}}`` calls nest at most 100 deep and
      parentheses 1000 (Go: 100000 and 10000), and control structures nested a few hundred
      levels deep fail with ``nesting too deep`` (Python's stack is smaller than Go's).
    * Resource limits Go does not have: one execution writes at most 8 MiB, and ``repeat``,
      ``until``/``untilStep`` and the ``rand*`` functions build at most 8 Mi elements
      (a Kubernetes Secret holds 1 MiB; the limits keep a template from exhausting the
      worker).
    * Strings are Python ``str``; bytes that are not UTF-8 survive as surrogate escapes, and
      ``len``, ``index``, ``trunc``, ``substr`` and ``printf "%x"`` count bytes as Go does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pushsecret.templating._errors import TemplateError, TemplateExecError, TemplateParseError
from pushsecret.templating._values import StringMap
from pushsecret.templating.exec import Template
from pushsecret.templating.functions import FUNCS
from pushsecret.templating.secret_template import RenderedSecret, render_secret_template

__all__ = [
    "RenderedSecret",
    "StringMap",
    "Template",
    "TemplateError",
    "TemplateExecError",
    "TemplateParseError",
    "compile_template",
    "render",
    "render_secret_template",
]


def compile_template(
    template: str, *, name: str = "template", left: str = "{{", right: str = "}}"
) -> Template:
    """Parse ``template`` once with ESO's function map, to execute it many times.

    Raises:
        TemplateParseError: with Go's message (``template: <name>:<line>: ...``).
    """
    return Template(name, template, FUNCS, left=left, right=right)


def render(
    template: str,
    data: Mapping[str, Any],
    *,
    left: str = "{{",
    right: str = "}}",
    missing_key_error: bool = True,
    name: str = "template",
) -> str:
    """Render a Go template with ESO's function map.

    ``data`` is dot and ``$``. A mapping whose values are all strings behaves as Go's
    ``map[string]string`` (what ESO passes: ``index . "missing"`` is ``""``); any other
    mapping as ``map[string]interface {}``. ``missing_key_error`` is ``missingkey=error``
    (ESO's ``spec.template``); without it a missing key prints ``<no value>`` (ESO's rewrite
    transforms). ``name`` names the template in error messages (ESO uses the data key).

    Raises:
        TemplateError: a :class:`TemplateParseError` or :class:`TemplateExecError` with Go's
            message; it never contains data values.
    """
    tmpl = compile_template(template, name=name, left=left, right=right)
    # A copy: sprig's set/unset/merge mutate maps in place.
    value: dict[str, Any]
    if isinstance(data, StringMap) or all(isinstance(v, str) for v in data.values()):
        value = StringMap(data)
    else:
        value = dict(data)
    return tmpl.execute(value, missing_key_error=missing_key_error)
