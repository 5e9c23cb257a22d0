"""Dispatch a generator by ESO kind name, with ESO's error wrapping.

:func:`generate` plays the part of ESO's PushSecret ``resolveSecretFromGenerator`` after the
generator object has been fetched from the API: it turns a ClusterGenerator into the wrapped
kind (ESO's ``clusterGeneratorToVirtual``), picks the implementation (``GetGeneratorByName``)
and calls it. Errors carry ESO's texts with ESO's prefixes:

* generator failures: ``unable to generate: <generator's error>``
  (e.g. ``unable to generate: secretKeys must be non-empty and unique``);
* a bad ClusterGenerator (terminal in ESO): ``unable to resolve generator: unable to get
  generator: invalid ClusterGenerator: when kind is <K>, <K>Spec must be set`` or
  ``... invalid ClusterGenerator: unknown kind <K>``;
* a kind we do not implement (terminal): ``generator kind <K> is not supported``.

The caller adds ESO's outer ``could not resolve secret from generator ref ...`` if it wants it.

Specs may be given as models or as raw dicts (the object's ``spec``, camelCase as in the CRD).
Raw dicts are read the way ESO's Go unmarshalling reads them where that differs from strict
validation: ``null`` fields mean "unset", an unknown Password ``encoding`` means ``raw`` and an
unknown SSHKey ``keyType`` reaches the generator (``unsupported key type: <t>``); an empty one
means ``rsa``. Validation messages never echo input values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pushsecret.api.generators import (
    CLUSTERGENERATOR_KINDS,
    GENERATOR_SPEC_KEYS,
    ClusterGeneratorSpec,
    FakeSpec,
    PasswordSpec,
    SSHKeySpec,
)
from pushsecret.generators import GeneratorError
from pushsecret.generators.password import generate_password
from pushsecret.generators.simple import generate_fake, generate_uuid
from pushsecret.generators.sshkey import generate_ssh_key

__all__ = ["SUPPORTED_KINDS", "generate"]

SpecInput = Mapping[str, Any] | BaseModel | None
"""A generator's ``spec``: a model, a raw (camelCase) mapping, or None (ESO's nil spec)."""

_M = TypeVar("_M", bound=BaseModel)

_ERR_NO_SPEC = "no config spec provided"
_ERR_PARSE_SPEC = "unable to parse spec: {}"
_ERR_GENERATE = "unable to generate: {}"
_ERR_INVALID_CLUSTER_GENERATOR = (
    "unable to resolve generator: unable to get generator: invalid ClusterGenerator: {}"
)
_ERR_SPEC_NOT_SET = "when kind is {kind}, {kind}Spec must be set"
_ERR_UNKNOWN_KIND = "unknown kind {}"
_ERR_NOT_SUPPORTED = "generator kind {} is not supported"

_PASSWORD_ENCODINGS = frozenset({"base64", "base64url", "base32", "hex", "raw"})
_SSH_KEY_TYPES = frozenset({"rsa", "ecdsa", "ed25519"})


_Lenient = Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]
"""Go-like reading of a raw spec: (data to validate, field overrides applied afterwards)."""


def _lenient_password(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """ESO encodes with an unknown ``encoding`` as ``raw``: map it so validation passes."""
    encoding = data.get("encoding")
    if isinstance(encoding, str) and encoding not in _PASSWORD_ENCODINGS:
        data = {**data, "encoding": "raw"}
    return data, {}


def _lenient_ssh_key(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """ESO defaults an empty ``keyType`` to rsa and only fails on an unknown one when
    generating: drop it from validation and hand it to the generator as an override."""
    overrides: dict[str, Any] = {}
    for name in ("keyType", "key_type"):
        key_type = data.get(name)
        if isinstance(key_type, str) and key_type not in _SSH_KEY_TYPES:
            data = {k: v for k, v in data.items() if k != name}
            if key_type:
                overrides["key_type"] = key_type
    return data, overrides


_LENIENT: dict[str, _Lenient] = {"Password": _lenient_password, "SSHKey": _lenient_ssh_key}


def _password(spec: SpecInput) -> dict[str, bytes]:
    return generate_password(_parse(PasswordSpec, spec, _lenient_password))


def _uuid(spec: SpecInput) -> dict[str, bytes]:
    # ESO's UUID generator ignores its spec entirely (not even the nil check).
    del spec
    return generate_uuid()


def _fake(spec: SpecInput) -> dict[str, bytes]:
    return generate_fake(_parse(FakeSpec, spec, None))


def _ssh_key(spec: SpecInput) -> dict[str, bytes]:
    return generate_ssh_key(_parse(SSHKeySpec, spec, _lenient_ssh_key))


_GENERATORS: dict[str, Callable[[SpecInput], dict[str, bytes]]] = {
    "Password": _password,
    "UUID": _uuid,
    "Fake": _fake,
    "SSHKey": _ssh_key,
}

SUPPORTED_KINDS: tuple[str, ...] = (*_GENERATORS, "ClusterGenerator")
"""The kinds :func:`generate` implements."""


def generate(kind: str, spec: SpecInput) -> dict[str, bytes]:
    """Run the generator of ESO kind ``kind`` on ``spec`` and return its output map.

    ``kind`` is ``Password``, ``UUID``, ``Fake``, ``SSHKey`` or ``ClusterGenerator`` (then
    ``spec`` is the ClusterGenerator's spec: ``kind`` plus ``generator.<kind>Spec``). Raises
    :class:`GeneratorError` (texts in the module docstring), and TypeError when ``spec`` is a
    model of the wrong class (a programming error, not a resource error).
    """
    if kind == "ClusterGenerator":
        kind, spec = _unwrap_cluster_generator(spec)
    impl = _GENERATORS.get(kind)
    if impl is None:
        raise GeneratorError(_ERR_NOT_SUPPORTED.format(kind), terminal=True)
    try:
        return impl(spec)
    except GeneratorError as err:
        raise GeneratorError(_ERR_GENERATE.format(err.message), terminal=err.terminal) from None


def _unwrap_cluster_generator(spec: SpecInput) -> tuple[str, SpecInput]:
    """ESO's ``clusterGeneratorToVirtual``: the wrapped kind and its spec, or a terminal error."""
    overrides: dict[str, Any] = {}
    if isinstance(spec, ClusterGeneratorSpec):
        cluster = spec
    elif isinstance(spec, BaseModel):
        raise TypeError(f"ClusterGenerator needs a ClusterGeneratorSpec, not {type(spec).__name__}")
    elif spec is None:
        raise _invalid_cluster_generator(_ERR_NO_SPEC)
    else:
        cluster, overrides = _validate_cluster_generator(spec)
    if cluster.kind not in CLUSTERGENERATOR_KINDS:
        raise _invalid_cluster_generator(_ERR_UNKNOWN_KIND.format(cluster.kind))
    selected = cluster.selected_spec()
    if selected is None:
        raise _invalid_cluster_generator(_ERR_SPEC_NOT_SET.format(kind=cluster.kind))
    if overrides and isinstance(selected, BaseModel):
        selected = selected.model_copy(update=overrides)
    return cluster.kind, selected


def _validate_cluster_generator(
    raw: Mapping[str, Any],
) -> tuple[ClusterGeneratorSpec, dict[str, Any]]:
    """Validate a raw ClusterGenerator spec, reading the wrapped spec as :func:`_parse` does.

    Returns the model and the overrides to apply to the wrapped spec.
    """
    data = _drop_nulls(raw)
    kind, generator = data.get("kind"), data.get("generator")
    key = GENERATOR_SPEC_KEYS.get(kind) if isinstance(kind, str) else None
    overrides: dict[str, Any] = {}
    if key is not None and isinstance(generator, Mapping):
        inner = generator.get(key)
        if isinstance(inner, Mapping):
            inner = _drop_nulls(inner)
            lenient = _LENIENT.get(str(kind))
            if lenient is not None:
                inner, overrides = lenient(inner)
            data["generator"] = {**generator, key: inner}
    try:
        return ClusterGeneratorSpec.model_validate(data), overrides
    except ValidationError as err:
        raise _invalid_cluster_generator(_ERR_PARSE_SPEC.format(_describe(err))) from None


def _invalid_cluster_generator(message: str) -> GeneratorError:
    # ESO returns these as reconcile.TerminalError: the ClusterGenerator itself is wrong.
    return GeneratorError(_ERR_INVALID_CLUSTER_GENERATOR.format(message), terminal=True)


def _parse(
    model: type[_M],
    spec: SpecInput,
    lenient: _Lenient | None,
) -> _M:
    """The generator's spec as ``model``: ESO's nil check, then Go-like lenient parsing."""
    if spec is None:
        raise GeneratorError(_ERR_NO_SPEC)
    if isinstance(spec, model):
        return spec
    if isinstance(spec, BaseModel):
        raise TypeError(f"expected {model.__name__}, not {type(spec).__name__}")
    data = _drop_nulls(spec)
    overrides: dict[str, Any] = {}
    if lenient is not None:
        data, overrides = lenient(data)
    try:
        parsed = model.model_validate(data)
    except ValidationError as err:
        raise GeneratorError(_ERR_PARSE_SPEC.format(_describe(err))) from None
    # model_copy does not validate: the overrides are values the model's Literal would refuse
    # but ESO's generator accepts (and handles) at run time.
    return parsed.model_copy(update=overrides) if overrides else parsed


def _drop_nulls(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level ``null`` fields as Go reads them: the zero value, which is our default."""
    return {key: value for key, value in raw.items() if value is not None}


def _describe(err: ValidationError) -> str:
    """A validation error as ``field: problem; ...``, without the offending input values."""
    parts = []
    for item in err.errors(include_input=False, include_url=False, include_context=False):
        location = ".".join(str(part) for part in item["loc"])
        parts.append(f"{location}: {item['msg']}" if location else item["msg"])
    return "; ".join(parts)
