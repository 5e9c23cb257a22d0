"""Strict parsing of a GCP ``PushSecretMetadata`` entry, with ESO's error messages.

ESO decodes the envelope with ``sigs.k8s.io/yaml`` + ``DisallowUnknownFields`` into
``PushSecretMetadata[PushSecretMetadataSpec]`` (``runtime/esutils/metadata``). That means:
field names match case-insensitively (Go ``encoding/json``), unknown fields anywhere in the
envelope or ``spec`` are errors, ``null`` leaves a field at its zero value, ``apiVersion`` and
``kind`` must match exactly. We reproduce that on the already-decoded JSON value the CRD gives
us. Every message starts with ESO's GCP wrapper ``failed to parse PushSecret metadata: ``.

The envelope and field helpers (:func:`parse_envelope`, :func:`fields`, :func:`string`,
:func:`string_map`, :func:`string_list`, :func:`type_error`) are provider-neutral: the Azure
parser (:mod:`pushsecret.providers.azure_metadata`) uses them with its own spec and ESO's Azure
wrapper. They raise :class:`MetadataError` without the wrapper; :func:`parse_envelope` adds it.

Deliberate difference: ESO accepts any ``mergePolicy`` string and treats everything but
``Merge`` as ``Replace`` (so a typo such as ``merge`` silently deletes labels). We reject values
other than ``Replace``/``Merge``/empty. Type-mismatch messages follow Go's wording but name our
field path, not Go's generic type name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

__all__ = [
    "METADATA_API_VERSION",
    "METADATA_KIND",
    "GCPPushMetadata",
    "MetadataError",
    "fields",
    "go_quote",
    "parse_envelope",
    "parse_gcp_metadata",
    "string",
    "string_list",
    "string_map",
    "type_error",
]

_T = TypeVar("_T")

METADATA_API_VERSION = "kubernetes.external-secrets.io/v1alpha1"
METADATA_KIND = "PushSecretMetadata"

_WRAP = "failed to parse PushSecret metadata: "
_DECODE = (
    f"failed to parse {METADATA_API_VERSION} {METADATA_KIND}: "
    "error unmarshaling JSON: while decoding JSON: "
)


class MetadataError(ValueError):
    """The metadata cannot be used. ``str(exc)`` is ESO's message (safe: metadata holds no
    secret values, and we never echo field values other than apiVersion/kind/mergePolicy)."""


@dataclass(frozen=True)
class GCPPushMetadata:
    """The ``spec`` of a GCP PushSecretMetadata. ``None`` maps mean "not given"."""

    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    topics: tuple[str, ...] = ()
    merge_policy: Literal["Replace", "Merge"] = "Replace"
    cmek_key_name: str = ""
    replication_location: str = ""
    replication_locations: tuple[str, ...] = ()

    def replica_locations(self) -> tuple[str, ...]:
        """ESO's ``buildUserManagedReplicas``: the list wins over the deprecated single one."""
        if self.replication_locations:
            return self.replication_locations
        if self.replication_location:
            return (self.replication_location,)
        return ()


def go_quote(value: str) -> str:
    """Go's ``%q`` for the ASCII-ish strings we quote (apiVersion, kind, mergePolicy)."""
    return json.dumps(value, ensure_ascii=False)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def type_error(value: Any, path: str, go_type: str) -> MetadataError:
    """Go's ``cannot unmarshal <json type> into Go struct field <path> of type <go type>``."""
    return MetadataError(
        f"{_DECODE}json: cannot unmarshal {_json_type(value)} into Go struct field "
        f"{path} of type {go_type}"
    )


def fields(obj: Any, known: tuple[str, ...], path: str) -> list[tuple[str, Any]]:
    """``(canonical name, value)`` for each member of ``obj``, matched like Go: exact name
    first, else case-insensitively; unknown members are errors."""
    if not isinstance(obj, Mapping):
        raise type_error(obj, path, "struct")
    lowered = {name.lower(): name for name in known}
    out = []
    for key, value in obj.items():
        name = key if key in known else lowered.get(str(key).lower())
        if name is None:
            raise MetadataError(f'{_DECODE}json: unknown field "{key}"')
        out.append((name, value))
    return out


def string(value: Any, path: str) -> str:
    """A Go ``string`` field: null is ``""``, anything but a string is a type error."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise type_error(value, path, "string")
    return value


def string_map(value: Any, path: str, into: dict[str, str] | None) -> dict[str, str] | None:
    """A Go ``map[string]string`` field decoded into ``into`` (Go merges duplicate keys)."""
    if value is None:
        return into  # Go leaves the map alone (nil unless an earlier duplicate key filled it)
    if not isinstance(value, Mapping):
        raise type_error(value, path, "map[string]string")
    result = {} if into is None else into
    for key, item in value.items():
        result[str(key)] = string(item, path)
    return result


def string_list(value: Any, path: str) -> tuple[str, ...]:
    """A Go ``[]string`` field: null is empty."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise type_error(value, path, "[]string")
    return tuple(string(item, path) for item in value)


def parse_envelope(
    raw: Mapping[str, Any] | None, *, wrap: str, parse_spec: Callable[[Any], _T]
) -> _T | None:
    """Decode a ``PushSecretMetadata`` envelope the way ESO's ``ParseMetadataParameters`` does.

    Pure function. ``parse_spec`` turns the (possibly null) ``spec`` value into the provider's
    type, raising :class:`MetadataError` without a prefix; every error, ours or the spec's,
    gets ``wrap`` (the provider's ESO wrapper, e.g. ``"failed to parse PushSecret metadata: "``)
    in front. None when ``raw`` is None.
    """
    if raw is None:
        return None
    try:
        api_version = ""
        kind = ""
        spec: Any = None
        for name, value in fields(raw, ("apiVersion", "kind", "spec"), "PushSecretMetadata"):
            if name == "apiVersion":
                api_version = string(value, "PushSecretMetadata.apiVersion")
            elif name == "kind":
                kind = string(value, "PushSecretMetadata.kind")
            else:
                spec = value
        parsed = parse_spec(spec)
        # ESO decodes first, then checks the type meta (so a decode error wins).
        if api_version != METADATA_API_VERSION:
            raise MetadataError(
                f"unexpected apiVersion {go_quote(api_version)}, "
                f"expected {go_quote(METADATA_API_VERSION)}"
            )
        if kind != METADATA_KIND:
            raise MetadataError(
                f"unexpected kind {go_quote(kind)}, expected {go_quote(METADATA_KIND)}"
            )
    except MetadataError as exc:
        raise MetadataError(f"{wrap}{exc}") from None
    return parsed


def parse_gcp_metadata(raw: Mapping[str, Any] | None) -> GCPPushMetadata | None:
    """Parse an entry's ``metadata`` (the decoded JSON object) strictly; None when absent.

    Pure function. Raises :class:`MetadataError` with ESO's message for a wrong
    ``apiVersion``/``kind``, an unknown field, a value of the wrong type or (our addition) an
    unknown ``mergePolicy``.
    """
    return parse_envelope(raw, wrap=_WRAP, parse_spec=_parse_spec)


_SPEC_FIELDS = (
    "annotations",
    "labels",
    "topics",
    "mergePolicy",
    "cmekKeyName",
    "replicationLocation",
    "replicationLocations",
)


def _parse_spec(spec: Any) -> GCPPushMetadata:
    if spec is None:
        return GCPPushMetadata()
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    values: dict[str, Any] = {}
    scalar: dict[str, Callable[[Any, str], Any]] = {
        "topics": string_list,
        "mergePolicy": string,
        "cmekKeyName": string,
        "replicationLocation": string,
        "replicationLocations": string_list,
    }
    for name, value in fields(spec, _SPEC_FIELDS, "PushSecretMetadataSpec.spec"):
        path = f"PushSecretMetadataSpec.spec.{name}"
        if name == "labels":
            labels = string_map(value, path, labels)
        elif name == "annotations":
            annotations = string_map(value, path, annotations)
        elif value is not None:  # null keeps Go's zero value (or an earlier duplicate)
            values[name] = scalar[name](value, path)

    policy = values.get("mergePolicy", "") or "Replace"
    if policy not in ("Replace", "Merge"):
        raise MetadataError(
            f'invalid mergePolicy {go_quote(policy)}, expected "Replace" or "Merge"'
        )
    return GCPPushMetadata(
        labels=labels,
        annotations=annotations,
        topics=values.get("topics", ()),
        merge_policy="Merge" if policy == "Merge" else "Replace",
        cmek_key_name=values.get("cmekKeyName", ""),
        replication_location=values.get("replicationLocation", ""),
        replication_locations=values.get("replicationLocations", ()),
    )
