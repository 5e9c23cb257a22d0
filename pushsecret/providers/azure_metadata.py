"""Strict parsing of an Azure Key Vault ``PushSecretMetadata`` entry, with ESO's messages.

The envelope rules are ESO's ``runtime/esutils/metadata`` (case-insensitive field names, unknown
fields rejected, exact ``apiVersion``/``kind``), shared with the GCP parser through
:func:`pushsecret.providers.gcp_metadata.parse_envelope`; decoding errors carry ESO's Azure
wrapper ``failed to parse push secret metadata: ``. The spec is ESO's Azure
``PushSecretMetadataSpec``: ``expirationDate`` (RFC 3339), ``contentType`` and ``tags``.
After decoding, as in ESO (and without the wrapper):

* ``expirationDate`` must be RFC 3339: ``error parsing expiration date in metadata: <why>.
  Expected format: YYYY-MM-DDTHH:MM:SSZ (RFC3339). Example: 2024-12-31T20:00:00Z``;
* ``tags`` must not contain ``managed-by``: ``error parsing tags in metadata: Cannot specify a
  'managed-by' tag``.

Differences from ESO: ``<why>`` is our wording, not Go's ``time.Parse`` error; the expiry is
honoured (ESO's new-SDK path, the one the Python SDK matches, ignores it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pushsecret.providers.gcp_metadata import (
    MetadataError,
    fields,
    go_quote,
    parse_envelope,
    string,
    string_map,
)

__all__ = ["MANAGED_BY_KEY", "AzurePushMetadata", "MetadataError", "parse_azure_metadata"]

MANAGED_BY_KEY = "managed-by"

_WRAP = "failed to parse push secret metadata: "
_SPEC_FIELDS = ("expirationDate", "tags", "contentType")
# Go's time.RFC3339 layout as time.Parse accepts it: 'T' or 't', fraction optional, Z or offset.
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


@dataclass(frozen=True)
class AzurePushMetadata:
    """The ``spec`` of an Azure PushSecretMetadata. ``""``/``None`` mean "not requested"."""

    content_type: str = ""
    tags: dict[str, str] | None = None
    expiration_date: str = ""

    def expires_on(self) -> dt.datetime | None:
        """The requested expiry (aware, UTC), or None. Valid after :func:`parse_azure_metadata`."""
        if not self.expiration_date:
            return None
        return _parse_rfc3339(self.expiration_date)


def _parse_rfc3339(text: str) -> dt.datetime:
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"parsing time {go_quote(text)}: not in RFC 3339 format")
    normalised = text[:10] + "T" + text[11:]
    if normalised[-1] in "Zz":
        normalised = normalised[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(normalised)
    except ValueError:
        raise ValueError(f"parsing time {go_quote(text)}: date or time out of range") from None
    return parsed.astimezone(dt.UTC)


def _parse_spec(spec: Any) -> AzurePushMetadata:
    if spec is None:
        return AzurePushMetadata()
    tags: dict[str, str] | None = None
    values: dict[str, str] = {}
    for name, value in fields(spec, _SPEC_FIELDS, "PushSecretMetadataSpec.spec"):
        path = f"PushSecretMetadataSpec.spec.{name}"
        if name == "tags":
            tags = string_map(value, path, tags)
        elif value is not None:  # null keeps Go's zero value (or an earlier duplicate)
            values[name] = string(value, path)
    return AzurePushMetadata(
        content_type=values.get("contentType", ""),
        tags=tags,
        expiration_date=values.get("expirationDate", ""),
    )


def parse_azure_metadata(raw: Mapping[str, Any] | None) -> AzurePushMetadata | None:
    """Parse an entry's ``metadata`` strictly; None when absent. Pure function.

    Raises :class:`MetadataError` with ESO's message for a bad envelope, an unknown field, a
    value of the wrong type, an expiry that is not RFC 3339 or a ``managed-by`` tag. Messages
    never contain secret values (metadata holds none); they quote apiVersion, kind and the
    expiry text only.
    """
    meta = parse_envelope(raw, wrap=_WRAP, parse_spec=_parse_spec)
    if meta is None:
        return None
    if meta.expiration_date:
        try:
            _parse_rfc3339(meta.expiration_date)
        except ValueError as exc:
            raise MetadataError(
                f"error parsing expiration date in metadata: {exc}. Expected format: "
                "YYYY-MM-DDTHH:MM:SSZ (RFC3339). Example: 2024-12-31T20:00:00Z"
            ) from None
    if meta.tags is not None and MANAGED_BY_KEY in meta.tags:
        raise MetadataError("error parsing tags in metadata: Cannot specify a 'managed-by' tag")
    return meta
