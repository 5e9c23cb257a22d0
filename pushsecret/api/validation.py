"""PushSecret validation with the messages a real API server and ESO produce.

Where each check happens in a real cluster (``ValidationIssue.phase``):

``admission``
    The API server rejects the object (``kubectl apply`` fails) because of the CRD's
    OpenAPI schema or CEL rules: required fields, enums, name patterns/lengths, ``selector``
    with zero or two keys (``minProperties``/``maxProperties``), the ``dataTo`` and
    ``rewrite`` CEL rules. Texts are ``field.Error`` strings, e.g.
    ``spec.selector: Too many: 2: must have at most 1 items``; the whole rejection reads
    ``PushSecret.external-secrets.io "name" is invalid: <errors>`` (:func:`format_invalid`).
``decode``
    Admitted (the CRD types ``refreshInterval`` as a plain string) but ESO cannot decode
    the object (``time: invalid duration "x"``), so it is never reconciled. Negative
    durations, which Go accepts, are rejected here too (our rule).
``reconcile``
    Admitted and decoded, but ESO's reconcile fails and reports the text in the
    ``Ready=False``/``Errored`` condition: ``refStore Name must be provided``,
    ``no secret selector provided`` (the status then says ``could not get source secret``),
    ``dataTo[i]: storeRef "x" not found in secretStoreRefs``, generatorRef apiVersion errors.

Wording follows the API servers the brief targets: ``must have at most 1 items`` and
``Too long: may not be longer than 253`` (Kubernetes >= 1.32 says ``1 item`` and
``may not be more than 253 bytes``; change ``_TOO_MANY`` / ``_TOO_LONG`` to follow).

:func:`parse_pushsecret` turns pydantic's rejection of a malformed object into the same
API-server texts, raising :class:`PushSecretInvalid`.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from pushsecret.api.common import DNS_SUBDOMAIN_PATTERN, SECRET_KEY_PATTERN
from pushsecret.api.duration import go_quote, parse_go_duration
from pushsecret.api.generators import GENERATOR_KINDS, GENERATORS_GROUP
from pushsecret.api.pushsecret import (
    DATATO_CEL_RULES,
    GROUP,
    REWRITE_CEL_RULES,
    ClusterPushSecret,
    ExternalSecretTemplate,
    PushSecret,
    PushSecretData,
    PushSecretSpec,
    PushSecretStoreRef,
    TemplateFrom,
    TemplateRefItem,
)

__all__ = [
    "Phase",
    "PushSecretInvalid",
    "ValidationIssue",
    "check_clusterpushsecret",
    "check_pushsecret",
    "format_invalid",
    "parse_clusterpushsecret",
    "parse_pushsecret",
    "pydantic_errors_to_messages",
    "validate_clusterpushsecret",
    "validate_pushsecret",
]

Phase = Literal["admission", "decode", "reconcile"]
_TOO_MANY = "must have at most {max} items"
_TOO_LONG = "may not be longer than {max}"
_JSON_TYPES = {
    "string_type": "string",
    "int_type": "integer",
    "int_parsing": "integer",
    "int_from_float": "integer",
    "float_type": "number",
    "float_parsing": "number",
    "bool_type": "boolean",
    "bool_parsing": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


@dataclass(frozen=True)
class ValidationIssue:
    """One problem: ``message`` is the full text, ``path`` its field ("" if none)."""

    path: str
    message: str
    phase: Phase


class PushSecretInvalid(ValueError):
    """The object cannot be admitted/parsed; ``str()`` is the API server's rejection text."""

    def __init__(self, messages: list[str], *, kind: str = "PushSecret", name: str = "") -> None:
        self.messages = list(messages)
        self.kind = kind
        self.name = name
        super().__init__(format_invalid(kind, name, self.messages))


def format_invalid(kind: str, name: str, messages: list[str]) -> str:
    """``<Kind>.external-secrets.io "<name>" is invalid: <msg>`` (``[m1, m2]`` for several)."""
    body = messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"
    return f"{kind}.{GROUP} {go_quote(name)} is invalid: {body}"


# -- field.Error texts -------------------------------------------------------------------


def _render(value: Any) -> str:
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return "null"
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list | tuple) else "object"


def _required(path: str) -> str:
    return f"{path}: Required value"


def _invalid(path: str, value: Any, detail: str) -> str:
    return f"{path}: Invalid value: {_render(value)}: {detail}"


def _unsupported(path: str, value: Any, allowed: typing.Sequence[str]) -> str:
    supported = ", ".join(go_quote(a) for a in allowed)
    return f"{path}: Unsupported value: {_render(value)}: supported values: {supported}"


def _type_invalid(path: str, value: Any, want: str) -> str:
    got = _json_type(value)
    return _invalid(path, got, f"{path} in body must be of type {want}: {go_quote(got)}")


def _string_errors(path: str, value: str, min_len: int, max_len: int, pattern: str) -> list[str]:
    """maxLength, minLength, pattern: the first failing one, as go-openapi reports it."""
    if len(value) > max_len:
        return [f"{path}: Too long: " + _TOO_LONG.format(max=max_len)]
    if len(value) < min_len:
        return [_invalid(path, value, f"{path} in body should be at least {min_len} chars long")]
    if re.fullmatch(pattern, value) is None:
        return [_invalid(path, value, f"{path} in body should match '{pattern}'")]
    return []


# -- pydantic errors -> API server texts -------------------------------------------------


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _loc_path(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """Render a pydantic ``loc`` as a Kubernetes field path (``spec.data[0].match``)."""
    path, tp = "", _unwrap(root)
    for item in loc:
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(item, str):
            field = next((f for n, f in tp.model_fields.items() if item in (f.alias, n)), None)
            path = f"{path}.{item}" if path else item
            tp = _unwrap(field.annotation) if field is not None else Any
        elif origin is list and isinstance(item, int):
            path, tp = f"{path}[{item}]", _unwrap(typing.get_args(tp)[0])
        elif origin is dict:
            if item != "[key]":
                path, tp = f"{path}[{item}]", _unwrap(typing.get_args(tp)[1])
        else:
            path += f"[{item}]" if isinstance(item, int) else (f".{item}" if path else item)
    return path


def pydantic_errors_to_messages(err: ValidationError, root: type[BaseModel]) -> list[str]:
    """Translate a pydantic ``ValidationError`` of ``root`` into API-server field errors."""
    out: list[str] = []
    for e in err.errors(include_url=False):
        path, kind, value = _loc_path(root, e["loc"]), e["type"], e.get("input")
        ctx = e.get("ctx") or {}
        if kind == "missing":
            msg = _required(path)
        elif kind == "literal_error":
            allowed = re.findall(r"'((?:[^'\\]|\\.)*)'", str(ctx.get("expected", "")))
            msg = _unsupported(path, value, allowed)
        elif kind == "string_too_long":
            msg = f"{path}: Too long: " + _TOO_LONG.format(max=ctx["max_length"])
        elif kind == "string_too_short":
            n = ctx["min_length"]
            msg = _invalid(path, value, f"{path} in body should be at least {n} chars long")
        elif kind == "string_pattern_mismatch":
            msg = _invalid(path, value, f"{path} in body should match '{ctx['pattern']}'")
        elif kind == "too_short":
            n = ctx["min_length"]
            msg = _invalid(path, len(value), f"{path} in body should have at least {n} items")
        elif kind == "greater_than_equal":
            detail = f"{path} in body should be greater than or equal to {ctx['ge']}"
            msg = _invalid(path, value, detail)
        elif kind == "less_than_equal":
            msg = _invalid(
                path, value, f"{path} in body should be less than or equal to {ctx['le']}"
            )
        elif kind in _JSON_TYPES:
            msg = _type_invalid(path, value, _JSON_TYPES[kind])
        else:
            msg = _invalid(path, value, e["msg"])
        if msg not in out:
            out.append(msg)
    return out


def _name_of(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


def parse_pushsecret(obj: Any, *, admission: bool = False) -> PushSecret:
    """Parse a PushSecret manifest/object; raise :class:`PushSecretInvalid` when malformed.

    With ``admission=True`` the object-level admission rules (selector keys, CEL) are
    enforced too, so only what a real API server would store is returned.
    """
    try:
        ps = PushSecret.model_validate(obj)
    except ValidationError as err:
        messages = pydantic_errors_to_messages(err, PushSecret)
        raise PushSecretInvalid(messages, name=_name_of(obj)) from None
    if admission:
        issues = [i.message for i in check_pushsecret(ps) if i.phase == "admission"]
        if issues:
            raise PushSecretInvalid(issues, name=ps.metadata.name)
    return ps


def parse_clusterpushsecret(obj: Any, *, admission: bool = False) -> ClusterPushSecret:
    """Like :func:`parse_pushsecret`, for a ClusterPushSecret."""
    kind = "ClusterPushSecret"
    try:
        cps = ClusterPushSecret.model_validate(obj)
    except ValidationError as err:
        messages = pydantic_errors_to_messages(err, ClusterPushSecret)
        raise PushSecretInvalid(messages, kind=kind, name=_name_of(obj)) from None
    if admission:
        issues = [i.message for i in check_clusterpushsecret(cps) if i.phase == "admission"]
        if issues:
            raise PushSecretInvalid(issues, kind=kind, name=cps.metadata.name)
    return cps


# -- semantic checks on a parsed (or hand-built) model -----------------------------------


def _allowed(model: type[BaseModel], field: str) -> tuple[str, ...]:
    return tuple(typing.get_args(_unwrap(model.model_fields[field].annotation)))


class _Checker:
    def __init__(self) -> None:
        self.issues: list[ValidationIssue] = []

    def add(self, path: str, message: str, phase: Phase = "admission") -> None:
        self.issues.append(ValidationIssue(path, message, phase))

    def enum(self, path: str, value: Any, model: type[BaseModel], field: str) -> None:
        allowed = _allowed(model, field)
        if value is not None and value not in allowed:
            self.add(path, _unsupported(path, value, allowed))

    def name(self, path: str, value: str | None, pattern: str = DNS_SUBDOMAIN_PATTERN) -> None:
        if value is not None:
            for msg in _string_errors(path, value, 1, 253, pattern):
                self.add(path, msg)

    def store_ref(self, path: str, ref: PushSecretStoreRef) -> None:
        self.name(f"{path}.name", ref.name)
        self.enum(f"{path}.kind", ref.kind, PushSecretStoreRef, "kind")

    def spec(self, p: str, spec: PushSecretSpec) -> None:
        try:
            parse_go_duration(spec.refresh_interval)
        except ValueError as err:
            rp = f"{p}.refreshInterval"
            self.add(rp, _invalid(rp, spec.refresh_interval, str(err)), "decode")
        for i, ref in enumerate(spec.secret_store_refs):
            self.store_ref(f"{p}.secretStoreRefs[{i}]", ref)
            if ref.label_selector is None and not ref.name:
                self.add(f"{p}.secretStoreRefs[{i}]", "refStore Name must be provided", "reconcile")
        self.enum(f"{p}.updatePolicy", spec.update_policy, PushSecretSpec, "update_policy")
        self.enum(f"{p}.deletionPolicy", spec.deletion_policy, PushSecretSpec, "deletion_policy")
        self.selector(f"{p}.selector", spec)
        for i, entry in enumerate(spec.data):
            dp = f"{p}.data[{i}]"
            if getattr(getattr(entry.match, "remote_ref", None), "remote_key", None) is None:
                self.add(
                    f"{dp}.match.remoteRef.remoteKey", _required(f"{dp}.match.remoteRef.remoteKey")
                )
            strategy = entry.conversion_strategy
            self.enum(f"{dp}.conversionStrategy", strategy, PushSecretData, "conversion_strategy")
        for i, rule in enumerate(spec.data_to):
            self.data_to(p, i, rule, spec)
        if spec.template is not None:
            self.template(f"{p}.template", spec.template)

    def selector(self, p: str, spec: PushSecretSpec) -> None:
        sel = spec.selector
        count = (sel.secret is not None) + (sel.generator_ref is not None)
        if count == 0:
            self.add(p, _invalid(p, 1, f"{p} in body should have at least 1 properties"))
        elif count > 1:
            self.add(p, f"{p}: Too many: {count}: " + _TOO_MANY.format(max=1))
        if sel.secret is not None:
            self.name(f"{p}.secret.name", sel.secret.name)
            if not sel.secret.name and sel.secret.selector is None:
                self.add(f"{p}.secret", "no secret selector provided", "reconcile")
        ref = sel.generator_ref
        if ref is not None:
            if ref.kind not in GENERATOR_KINDS:
                self.add(
                    f"{p}.generatorRef.kind",
                    _unsupported(f"{p}.generatorRef.kind", ref.kind, GENERATOR_KINDS),
                )
            self.name(f"{p}.generatorRef.name", ref.name)
            parts = ref.api_version.split("/")
            if len(parts) > 2:
                gv = f"unexpected GroupVersion string: {ref.api_version}"
                self.add(
                    f"{p}.generatorRef.apiVersion",
                    f"generatorRef has invalid APIVersion: {gv}",
                    "reconcile",
                )
            elif (parts[0] if len(parts) == 2 else "") != GENERATORS_GROUP:
                group = parts[0] if len(parts) == 2 else ""
                msg = f"generatorRef may only reference the generators group, but got {group}"
                self.add(f"{p}.generatorRef.apiVersion", msg, "reconcile")

    def data_to(self, p: str, i: int, rule: Any, spec: PushSecretSpec) -> None:
        dp = f"{p}.dataTo[{i}]"
        ref = rule.store_ref
        if ref is None or (ref.name is None and ref.label_selector is None):
            self.add(dp, _invalid(dp, "object", DATATO_CEL_RULES[0]["message"]))
        if rule.remote_key is not None and rule.rewrite:
            self.add(dp, _invalid(dp, "object", DATATO_CEL_RULES[1]["message"]))
        if ref is not None:
            self.store_ref(f"{dp}.storeRef", ref)
        for j, rw in enumerate(rule.rewrite):
            if (rw.regexp is None) == (rw.transform is None):
                rp = f"{dp}.rewrite[{j}]"
                self.add(rp, _invalid(rp, "object", REWRITE_CEL_RULES[0]["message"]))
        self.enum(
            f"{dp}.conversionStrategy", rule.conversion_strategy, type(rule), "conversion_strategy"
        )
        if ref is not None and ref.name and ref.label_selector is None:
            named = {
                (r.name, r.kind)
                for r in spec.secret_store_refs
                if r.name and r.label_selector is None
            }
            if (ref.name, ref.kind) not in named:
                msg = f"dataTo[{i}]: storeRef {go_quote(ref.name)} not found in secretStoreRefs"
                self.add(dp, msg, "reconcile")

    def template(self, p: str, tpl: ExternalSecretTemplate) -> None:
        self.enum(
            f"{p}.engineVersion", tpl.engine_version, ExternalSecretTemplate, "engine_version"
        )
        self.enum(f"{p}.mergePolicy", tpl.merge_policy, ExternalSecretTemplate, "merge_policy")
        for k, src in enumerate(tpl.template_from):
            tp = f"{p}.templateFrom[{k}]"
            for key, ref in (("configMap", src.config_map), ("secret", src.secret)):
                if ref is None:
                    continue
                self.name(f"{tp}.{key}.name", ref.name)
                for n, item in enumerate(ref.items):
                    ip = f"{tp}.{key}.items[{n}]"
                    self.name(f"{ip}.key", item.key, SECRET_KEY_PATTERN)
                    self.enum(f"{ip}.templateAs", item.template_as, TemplateRefItem, "template_as")
            strategy = src.values_decoding_strategy
            self.enum(
                f"{tp}.valuesDecodingStrategy", strategy, TemplateFrom, "values_decoding_strategy"
            )


def check_pushsecret(ps: PushSecret) -> list[ValidationIssue]:
    """Every problem of ``ps``, tagged with where a real cluster would catch it."""
    checker = _Checker()
    checker.spec("spec", ps.spec)
    return checker.issues


def validate_pushsecret(ps: PushSecret) -> list[str]:
    """The messages of :func:`check_pushsecret` (empty when ``ps`` is valid)."""
    return [issue.message for issue in check_pushsecret(ps)]


def check_clusterpushsecret(cps: ClusterPushSecret) -> list[ValidationIssue]:
    """Every problem of ``cps``; its embedded spec is checked as a PushSecret's."""
    checker = _Checker()
    checker.name("spec.pushSecretName", cps.spec.push_secret_name)
    if cps.spec.refresh_time is not None:
        try:
            parse_go_duration(cps.spec.refresh_time)
        except ValueError as err:
            rp = "spec.refreshTime"
            checker.add(rp, _invalid(rp, cps.spec.refresh_time, str(err)), "decode")
    checker.spec("spec.pushSecretSpec", cps.spec.push_secret_spec)
    return checker.issues


def validate_clusterpushsecret(cps: ClusterPushSecret) -> list[str]:
    """The messages of :func:`check_clusterpushsecret`."""
    return [issue.message for issue in check_clusterpushsecret(cps)]
