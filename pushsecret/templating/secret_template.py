"""ESO's PushSecret templating (``spec.template``), step by step as its controller does it.

The steps (spec §2.7; ESO ``applyTemplate`` and ``templating.Parser``):

1. The in-memory Secret keeps its labels and annotations; its ``type`` becomes
   ``template.type`` **even when unset** (ESO quirk Q7: a template without ``type`` pushes
   ``type: ""``); ``template.metadata`` labels and annotations are merged in raw.
2. Every template sees the **original** source data as strings (``map[string]string``);
   templates never see each other's output.
3. ``templateFrom[]`` in order, for each entry its ConfigMap, then its Secret, then its
   literal. ``templateAs: Values`` renders each listed item under its own key;
   ``KeysAndValues`` (and every literal) renders the text and reads the result as a YAML map
   of key to value. Results go to ``target``: ``Data`` (default), ``Labels`` or
   ``Annotations``, case-insensitive, after ``valuesDecodingStrategy``.
4. ``template.data`` is rendered into data, overriding same-named source keys; the other
   source keys stay.
5. ``template.metadata.labels`` then ``.annotations`` are rendered, replacing the raw values.

Error texts are ESO's, including its double wrapping (``could not execute template: could
not execute template: unable to execute template at key k: unable to execute template at key
k: template: k:1:3: ...``), so that they match what ESO users search for. One deliberate
difference protects secrets: a ``KeysAndValues`` template read from a **Secret** is named by
its item key rather than by its own text, and string literals are masked in the context part
of its errors, because that text is Secret data. As a last line of defence, a source value
(4 characters or more) that still appears in a message, for instance one handed to ``fail``,
is replaced by ``<redacted>``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pushsecret.templating._errors import FuncError, TemplateError, TemplateParseError
from pushsecret.templating._values import StringMap, from_bytes, to_bytes
from pushsecret.templating._yaml import to_string_map
from pushsecret.templating.exec import Template
from pushsecret.templating.funcs_sprig import B64_ALPHABET, bad_encoding_offset
from pushsecret.templating.functions import FUNCS

_ERR_PARSE = "unable to parse template at key {}: {}"
_ERR_EXECUTE = "unable to execute template at key {}: {}"
_ERR_FETCH = "error fetching templateFrom data: {}"
_ERR_EXEC_TPL = "could not execute template: {}"


@dataclass(frozen=True)
class RenderedSecret:
    """The templated in-memory Secret that PushSecret pushes (never written to Kubernetes).

    ``type`` is the template's ``type``, ``""`` when the template has none (ESO quirk Q7),
    whatever the source Secret's type was.
    """

    data: dict[str, bytes]
    type: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class _Target:
    data: dict[str, bytes]
    labels: dict[str, str]
    annotations: dict[str, str]

    def apply(self, key: str, value: bytes, target: str) -> None:
        kind = target.lower()
        if kind == "data":
            self.data[key] = value
        elif kind == "labels":
            self.labels[key] = from_bytes(value)
        elif kind == "annotations":
            self.annotations[key] = from_bytes(value)
        else:
            # ESO writes other targets into arbitrary object paths; a Secret pushed by a
            # PushSecret has none that make sense.
            raise TemplateError(f"failed to apply to target: unsupported target {target!r}")


class _Engine:
    def __init__(self, source: Mapping[str, bytes], left: str, right: str) -> None:
        self.source = dict(source)
        self.left, self.right = left, right

    def context(self) -> StringMap:
        # A fresh copy per execution: sprig's set/unset/merge mutate maps in place.
        return StringMap({k: from_bytes(v) for k, v in self.source.items()})

    def execute(self, name: str, text: str, *, redact: bool = False) -> bytes:
        """ESO's ``execute``: parse and run one template, errors already wrapped once."""
        try:
            tmpl = Template(name, text, FUNCS, left=self.left, right=self.right)
        except TemplateParseError as e:
            raise TemplateError(_ERR_PARSE.format(name, e)) from None
        try:
            return to_bytes(tmpl.execute(self.context(), redact_literals=redact))
        except TemplateError as e:
            raise TemplateError(_ERR_EXECUTE.format(name, e)) from None


_MIN_SCRUB = 4


def _scrub(message: str, source: Mapping[str, bytes]) -> str:
    """Mask any source value that still appears in an error message.

    The engine never puts data into its own messages, but a template can: ``{{ .password |
    fail }}`` makes the value the message. Values shorter than 4 characters are left alone,
    as masking them would garble the message without protecting much.
    """
    for value in sorted((from_bytes(v) for v in source.values()), key=len, reverse=True):
        if len(value) >= _MIN_SCRUB and value in message:
            message = message.replace(value, "<redacted>")
    return message


def _decode(strategy: str | None, value: bytes, key: str) -> bytes:
    """ESO's ``decoding.Decode`` for ``valuesDecodingStrategy``."""

    def b64(alt: bytes | None) -> bytes:
        alphabet = B64_ALPHABET if alt is None else B64_ALPHABET[:-2] + alt.decode()
        bad = bad_encoding_offset(from_bytes(value), alphabet, 4, 2)
        if bad is not None:
            raise ValueError(f"illegal base64 data at input byte {bad}")
        return base64.b64decode(value.replace(b"\n", b"").replace(b"\r", b""), altchars=alt)

    try:
        if strategy in (None, "", "None"):
            return value
        if strategy == "Base64":
            return b64(None)
        if strategy == "Base64URL":
            return b64(b"-_")
        if strategy == "Auto":
            for alt in (None, b"-_"):
                try:
                    return b64(alt)
                except (binascii.Error, ValueError):
                    continue
            return value
    except (binascii.Error, ValueError) as e:
        raise TemplateError(
            f"failed to decode rendered template value for key {key}: {e}"
        ) from None
    raise TemplateError(f"decoding strategy {strategy} is not supported")


def _apply(
    engine: _Engine,
    out: _Target,
    templates: dict[str, str],
    scope: str,
    target: str,
    strategy: str | None,
    *,
    redact: bool = False,
    names: dict[str, str] | None = None,
) -> None:
    """ESO's ``template.Execute`` for one map of templates (``Values`` or
    ``KeysAndValues``). Keys are processed in sorted order (Go's map order is random)."""
    for key in sorted(templates):
        text = templates[key]
        if scope == "KeysAndValues":
            name = (names or {}).get(key, text)
            try:
                rendered = engine.execute(name, text, redact=redact)
            except TemplateError as e:
                raise TemplateError(_ERR_EXECUTE.format(name, e)) from None
            try:
                pairs = to_string_map(from_bytes(rendered))
            except FuncError as e:
                raise TemplateError(
                    f"could not unmarshal template to 'map[string][]byte': {e}"
                ) from None
            for k in sorted(pairs):
                out.apply(k, _decode(strategy, to_bytes(pairs[k]), k), target)
        elif scope == "Values":
            try:
                rendered = engine.execute(key, text, redact=redact)
            except TemplateError as e:
                raise TemplateError(_ERR_EXECUTE.format(key, e)) from None
            out.apply(key, _decode(strategy, rendered, key), target)
        else:
            raise TemplateError(f"unknown scope '{scope}': expected 'Values' or 'KeysAndValues'")


def _template_from(
    engine: _Engine,
    out: _Target,
    entry: Mapping[str, Any],
    configmaps: Callable[[str], dict[str, str] | None],
    secrets: Callable[[str], dict[str, bytes] | None],
) -> None:
    target = entry.get("target") or "Data"
    strategy = entry.get("valuesDecodingStrategy")
    cm_ref = entry.get("configMap")
    if cm_ref:
        cm = configmaps(cm_ref["name"])
        if cm is None:
            raise TemplateError(f'configmaps "{cm_ref["name"]}" not found')
        for item in cm_ref.get("items") or []:
            key, scope = item["key"], item.get("templateAs") or "Values"
            if key not in cm:
                raise TemplateError(f"error in configmap {cm_ref['name']}: missing key {key}")
            val = cm[key]
            templates = {key: val} if scope == "Values" else {val: val}
            _apply(engine, out, templates, scope, target, strategy)
    secret_ref = entry.get("secret")
    if secret_ref:
        sec = secrets(secret_ref["name"])
        if sec is None:
            raise TemplateError(f'secrets "{secret_ref["name"]}" not found')
        for item in secret_ref.get("items") or []:
            key, scope = item["key"], item.get("templateAs") or "Values"
            if key not in sec:
                raise TemplateError(f"error in secret {secret_ref['name']}: missing key {key}")
            val = from_bytes(sec[key])
            if scope == "Values":
                _apply(engine, out, {key: val}, scope, target, strategy, redact=True)
            else:
                # ESO names this template by its text, which is Secret data: use the key.
                _apply(
                    engine, out, {val: val}, scope, target, strategy, redact=True, names={val: key}
                )
    literal = entry.get("literal")
    if literal is not None:
        _apply(engine, out, {literal: literal}, "KeysAndValues", target, strategy)


def render_secret_template(
    spec: Mapping[str, Any],
    source: Mapping[str, bytes],
    *,
    configmaps: Callable[[str], dict[str, str] | None],
    secrets: Callable[[str], dict[str, bytes] | None],
    source_labels: Mapping[str, str] | None = None,
    source_annotations: Mapping[str, str] | None = None,
    left: str = "{{",
    right: str = "}}",
) -> RenderedSecret:
    """Apply a PushSecret ``spec.template`` (CRD JSON form) to one source Secret.

    Args:
        spec: the ``template`` object as in the CRD (``type``, ``metadata``, ``data``,
            ``templateFrom``); ``None`` values count as absent, ``engineVersion`` and
            ``mergePolicy`` are ignored as ESO's PushSecret ignores them.
        source: the source Secret's data.
        configmaps, secrets: look up a ConfigMap's / Secret's data by name in the
            PushSecret's namespace; ``None`` means not found. Their exceptions propagate
            unchanged (an API failure is not a template error).
        source_labels, source_annotations: the source Secret's metadata, kept underneath.
        left, right: the template delimiters (ESO's ``--template-left/right-delimiter``).

    Returns:
        The templated Secret: source data overridden by rendered keys, ``type`` from the
        template (``""`` when the template has none, as ESO), labels and annotations.

    Raises:
        TemplateError: with ESO's message; it never contains data values.
    """
    engine = _Engine(source, left, right)
    meta = spec.get("metadata") or {}
    raw_labels: dict[str, str] = dict(meta.get("labels") or {})
    raw_annotations: dict[str, str] = dict(meta.get("annotations") or {})
    out = _Target(
        data=dict(source),
        labels={**(source_labels or {}), **raw_labels},
        annotations={**(source_annotations or {}), **raw_annotations},
    )
    secret_type = spec.get("type") or ""  # ESO quirk Q7: unset becomes ""
    try:
        for entry in spec.get("templateFrom") or []:
            _template_from(engine, out, entry, configmaps, secrets)
    except TemplateError as e:
        raise TemplateError(_scrub(_ERR_FETCH.format(e), source)) from None
    for templates, target in (
        (dict(spec.get("data") or {}), "Data"),
        (raw_labels, "Labels"),
        (raw_annotations, "Annotations"),
    ):
        try:
            _apply(engine, out, templates, "Values", target, None)
        except TemplateError as e:
            # ESO wraps twice: once in Parser.MergeMap, once in applyTemplate.
            msg = _ERR_EXEC_TPL.format(_ERR_EXEC_TPL.format(e))
            raise TemplateError(_scrub(msg, source)) from None
    return RenderedSecret(
        data=out.data, type=secret_type, labels=out.labels, annotations=out.annotations
    )
