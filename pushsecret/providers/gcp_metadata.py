"""Strict parsing of a GCP ``PushSecretMetadata`` entry, with ESO's error messages.

ESO decodes the envelope with ``sigs.k8s.io/yaml`` + ``DisallowUnknownFields`` into
``PushSecretMetadata[PushSecretMetadataSpec]`` (``runtime/esutils/metadata``). That means:
field names match case-insensitively (Go ``encoding/json``), unknown fields anywhere in the
envelope or ``spec`` are errors, ``null`` leaves a field at its zero value, ``apiVersion`` and
``kind`` must match exactly. We reproduce that on the already-decoded JSON value the CRD gives
us. Every message starts with ESO's GCP wrapper ``failed to parse PushSecret metadata: ``.

Deliberate difference: ESO accepts any ``mergePolicy`` string and treats everything but
``Merge`` as ``Replace`` (so a typo such as ``merge`` silently deletes labels). We reject values
other than ``Replace``/``Merge``/empty. Type-mismatch messages follow Go's wording but name our
field path, not Go's generic type name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "METADATA_API_VERSION",
    "METADATA_KIND",
    "GCPPushMetadata",
    "MetadataError",
    "parse_gcp_metadata",
]

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


def _go_quote(value: str) -> str:
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


def _type_error(value: Any, path: str, go_type: str) -> MetadataError:
    return MetadataError(
        f"{_WRAP}{_DECODE}json: cannot unmarshal {_json_type(value)} into Go struct field "
        f"{path} of type {go_type}"
    )


def _fields(obj: Any, known: tuple[str, ...], path: str) -> list[tuple[str, Any]]:
    """``(canonical name, value)`` for each member of ``obj``, matched like Go: exact name
    first, else case-insensitively; unknown members are errors."""
    if not isinstance(obj, Mapping):
        raise _type_error(obj, path, "struct")
    lowered = {name.lower(): name for name in known}
    out = []
    for key, value in obj.items():
        name = key if key in known else lowered.get(str(key).lower())
        if name is None:
            raise MetadataError(f'{_WRAP}{_DECODE}json: unknown field "{key}"')
        out.append((name, value))
    return out


def _string(value: Any, path: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _type_error(value, path, "string")
    return value


def _string_map(value: Any, path: str, into: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return into  # Go leaves the map alone (nil unless an earlier duplicate key filled it)
    if not isinstance(value, Mapping):
        raise _type_error(value, path, "map[string]string")
    result = {} if into is None else into
    for key, item in value.items():
        result[str(key)] = _string(item, path)
    return result


def _string_list(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise _type_error(value, path, "[]string")
    return tuple(_string(item, path) for item in value)


def parse_gcp_metadata(raw: Mapping[str, Any] | None) -> GCPPushMetadata | None:
    """Parse an entry's ``metadata`` (the decoded JSON object) strictly; None when absent.

    Pure function. Raises :class:`MetadataError` with ESO's message for a wrong
    ``apiVersion``/``kind``, an unknown field, a value of the wrong type or (our addition) an
    unknown ``mergePolicy``.
    """
    if raw is None:
        return None
    api_version = ""
    kind = ""
    spec: Any = None
    for name, value in _fields(raw, ("apiVersion", "kind", "spec"), "PushSecretMetadata"):
        if name == "apiVersion":
            api_version = _string(value, "PushSecretMetadata.apiVersion")
        elif name == "kind":
            kind = _string(value, "PushSecretMetadata.kind")
        else:
            spec = value

    parsed = _parse_spec(spec)
    # ESO decodes first, then checks the type meta (so a decode error wins).
    if api_version != METADATA_API_VERSION:
        raise MetadataError(
            f"{_WRAP}unexpected apiVersion {_go_quote(api_version)}, "
            f"expected {_go_quote(METADATA_API_VERSION)}"
        )
    if kind != METADATA_KIND:
        raise MetadataError(
            f"{_WRAP}unexpected kind {_go_quote(kind)}, expected {_go_quote(METADATA_KIND)}"
        )
    return parsed


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
        "topics": _string_list,
        "mergePolicy": _string,
        "cmekKeyName": _string,
        "replicationLocation": _string,
        "replicationLocations": _string_list,
    }
    for name, value in _fields(spec, _SPEC_FIELDS, "PushSecretMetadataSpec.spec"):
        path = f"PushSecretMetadataSpec.spec.{name}"
        if name == "labels":
            labels = _string_map(value, path, labels)
        elif name == "annotations":
            annotations = _string_map(value, path, annotations)
        elif value is not None:  # null keeps Go's zero value (or an earlier duplicate)
            values[name] = scalar[name](value, path)

    policy = values.get("mergePolicy", "") or "Replace"
    if policy not in ("Replace", "Merge"):
        raise MetadataError(
            f'{_WRAP}invalid mergePolicy {_go_quote(policy)}, expected "Replace" or "Merge"'
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
