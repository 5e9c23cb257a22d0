"""The in-memory state of the Azure Key Vault emulator: secrets, versions and the soft-delete bin.

Everything here is synchronous and transport-free: each public method of :class:`VaultState`
is one Key Vault secrets operation taking the decoded request and returning the decoded JSON
response (or raising :class:`KvError` with the service's status, error code and wording). The
HTTP layer in :mod:`emulators.azure_key_vault` adds routing, the bearer challenge, api-version
checks and fault injection. Callers serialise access (one lock in the emulator).

Service rules reproduced (wording copied from the service where it is known, otherwise ours
in the service's style, marked *approx.* below):

* Names are 1..127 characters of ``[0-9a-zA-Z-]`` and case-insensitive (``My-Secret`` and
  ``my-secret`` are one secret; ids keep the spelling of the first creation). Other names give
  400 ``BadParameter`` ``The request URI contains an invalid name: <name>``.
* Values are at most 25,600 bytes (UTF-8), at most 15 tags per version (names <= 512, values
  <= 256 characters), contentType <= 255 characters: 400 ``BadParameter`` (*approx.* text).
* Every PUT makes a new version with a random 32-hex id; tags, contentType and attributes
  belong to the version (a PUT without tags has none). Timestamps are integer unix seconds.
* A disabled version cannot be read: 403 ``Forbidden`` ``Operation get is not allowed on a
  disabled secret.`` with innererror ``SecretDisabled``. nbf/exp are stored, not enforced (the
  service does not enforce them for secrets either).
* Soft delete (default on): DELETE moves every version to the deleted collection at once
  (the service does it asynchronously; doing it synchronously makes the SDK's pollers finish
  on their first poll). Setting or deleting a deleted name gives 409 ``Conflict`` with
  innererror ``ObjectIsDeletedButRecoverable``; recover moves it back; purge (204) forgets it,
  unless purge protection is on (403). ``scheduledPurgeDate`` is deletion + 90 days, never
  acted on. With soft delete off, DELETE forgets the secret and omits ``recoveryId``.

Not emulated: backup/restore, managed (certificate-backed) secrets, ``previousVersion``,
automatic purge at the scheduled date, the asynchronous "being recovered/deleted" window
(inject it with ``fail_next(..., 409, inner_code="ObjectIsBeingRecovered")``), RBAC/access
policies, per-version ordering quirks of the list APIs.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_CONTENT_TYPE_CHARS",
    "MAX_PAGE_SIZE",
    "MAX_TAGS",
    "MAX_TAG_NAME_CHARS",
    "MAX_TAG_VALUE_CHARS",
    "MAX_VALUE_BYTES",
    "NAME_RE",
    "RETENTION_DAYS",
    "KvError",
    "VaultState",
]

NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
MAX_VALUE_BYTES = 25600
MAX_TAGS = 15
MAX_TAG_NAME_CHARS = 512
MAX_TAG_VALUE_CHARS = 256
MAX_CONTENT_TYPE_CHARS = 255
MAX_PAGE_SIZE = 25
RETENTION_DAYS = 90


class KvError(Exception):
    """A Key Vault error: HTTP ``status`` and ``{"error": {code, message, innererror}}``."""

    def __init__(self, status: int, code: str, message: str, inner_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner_code = inner_code

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner_code is not None:
            error["innererror"] = {"code": self.inner_code}
        return {"error": error}


def bad_parameter(message: str) -> KvError:
    return KvError(400, "BadParameter", message)


def _not_found(name: str) -> KvError:
    return KvError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {name} was not found in this key vault. If you recently "
        "deleted this secret you may be able to recover it using the correct recovery "
        "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/"
        "?linkid=2125182",
    )


def _version_not_found(name: str, version: str) -> KvError:
    return KvError(
        404,
        "SecretNotFound",
        f"A secret with (name/id) {name}/{version} was not found in this key vault. If you "
        "recently deleted this secret you may be able to recover it using the correct recovery "
        "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/"
        "?linkid=2125182",
    )


def _deleted_not_found(name: str) -> KvError:
    return KvError(404, "SecretNotFound", f"Deleted Secret not found: {name}")


def _deleted_but_recoverable(name: str) -> KvError:
    return KvError(
        409,
        "Conflict",
        f"Secret {name} is currently in a deleted but recoverable state, and its name cannot "
        "be reused; in this state, the secret can only be recovered or purged.",
        "ObjectIsDeletedButRecoverable",
    )


def validate_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise bad_parameter(f"The request URI contains an invalid name: {name}")


@dataclass
class _Version:
    version: str
    value: str
    content_type: str | None
    tags: dict[str, str] | None
    enabled: bool
    nbf: int | None
    exp: int | None
    created: int
    updated: int


@dataclass
class _Secret:
    name: str  # spelling of the first creation
    versions: dict[str, _Version] = field(default_factory=dict)  # oldest first
    current: str = ""
    deleted_date: int | None = None
    scheduled_purge_date: int | None = None

    @property
    def latest(self) -> _Version:
        return self.versions[self.current]


def _now() -> int:
    return int(time.time())


def _optional_int(attrs: dict[str, Any], key: str) -> int | None:
    value = attrs.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_parameter(f"Property attributes.{key} has invalid value")
    return value


def _validate_tags(tags: Any) -> dict[str, str] | None:
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise bad_parameter("Property tags has invalid value")
    if len(tags) > MAX_TAGS:
        raise bad_parameter(f"The number of tags exceeds the maximum of {MAX_TAGS}.")
    for key, value in tags.items():
        if not key or len(key) > MAX_TAG_NAME_CHARS:
            raise bad_parameter(f"Tag names must be 1 to {MAX_TAG_NAME_CHARS} characters long.")
        if len(value) > MAX_TAG_VALUE_CHARS:
            raise bad_parameter(
                f"Tag values must be at most {MAX_TAG_VALUE_CHARS} characters long."
            )
    return dict(tags)


def _validate_content_type(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_parameter("Property contentType has invalid value")
    if len(value) > MAX_CONTENT_TYPE_CHARS:
        raise bad_parameter(
            f"contentType must be at most {MAX_CONTENT_TYPE_CHARS} characters long."
        )
    return value


def _attributes(body: dict[str, Any]) -> dict[str, Any]:
    attrs = body.get("attributes")
    if attrs is None:
        return {}
    if not isinstance(attrs, dict):
        raise bad_parameter("Property attributes has invalid value")
    enabled = attrs.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise bad_parameter("Property attributes.enabled has invalid value")
    return attrs


def _encode_skip(offset: int) -> str:
    return base64.urlsafe_b64encode(f"skip:{offset}".encode()).decode().rstrip("=")


def _decode_skip(token: str | None) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        offset = int(text.removeprefix("skip:")) if text.startswith("skip:") else -1
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise bad_parameter("The $skiptoken parameter is not valid.")
    return offset


def page_size(raw: str | None) -> int:
    """``maxresults``: 1..25 (the service's maximum), default 25."""
    if raw is None or raw == "":
        return MAX_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad_parameter(
            f"Invalid value for maxresults: {raw}. The value must be between 1 and {MAX_PAGE_SIZE}."
        )
    return size


class VaultState:
    """Secrets of one vault. ``base`` is the vault URL used in ids (``https://host:port``)."""

    def __init__(
        self, base: str, *, soft_delete: bool = True, purge_protection: bool = False
    ) -> None:
        self.base = base.rstrip("/")
        self.soft_delete = soft_delete
        self.purge_protection = purge_protection
        self._active: dict[str, _Secret] = {}
        self._deleted: dict[str, _Secret] = {}

    @property
    def recovery_level(self) -> str:
        if not self.soft_delete:
            return "Purgeable"
        return "Recoverable" if self.purge_protection else "Recoverable+Purgeable"

    def reset(self) -> None:
        self._active.clear()
        self._deleted.clear()

    # ---- rendering ------------------------------------------------------------------------

    def _attrs(self, v: _Version) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "enabled": v.enabled,
            "created": v.created,
            "updated": v.updated,
            "recoveryLevel": self.recovery_level,
        }
        if v.nbf is not None:
            attrs["nbf"] = v.nbf
        if v.exp is not None:
            attrs["exp"] = v.exp
        if self.soft_delete:
            attrs["recoverableDays"] = RETENTION_DAYS
        return attrs

    def _bundle(self, s: _Secret, v: _Version, *, with_value: bool) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "id": f"{self.base}/secrets/{s.name}/{v.version}",
            "attributes": self._attrs(v),
        }
        if with_value:
            bundle["value"] = v.value
        if v.content_type is not None:
            bundle["contentType"] = v.content_type
        if v.tags is not None:
            bundle["tags"] = dict(v.tags)
        return bundle

    def _item(self, s: _Secret, v: _Version, *, versioned: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": f"{self.base}/secrets/{s.name}" + (f"/{v.version}" if versioned else ""),
            "attributes": self._attrs(v),
        }
        if v.content_type is not None:
            item["contentType"] = v.content_type
        if v.tags is not None:
            item["tags"] = dict(v.tags)
        return item

    def _deleted_fields(self, s: _Secret) -> dict[str, Any]:
        return {
            "recoveryId": f"{self.base}/deletedsecrets/{s.name}",
            "deletedDate": s.deleted_date,
            "scheduledPurgeDate": s.scheduled_purge_date,
        }

    def _page(
        self, items: list[dict[str, Any]], path: str, query: dict[str, str]
    ) -> dict[str, Any]:
        maxresults, skip = query.get("maxresults"), query.get("$skiptoken")
        api_version = query.get("api-version", "")
        size, offset = page_size(maxresults), _decode_skip(skip)
        page = items[offset : offset + size]
        next_link = None
        if offset + size < len(items):
            skip_token = _encode_skip(offset + size)
            next_link = (
                f"{self.base}{path}?api-version={api_version}&$skiptoken={skip_token}"
                f"&maxresults={size}"
            )
        return {"value": page, "nextLink": next_link}

    # ---- lookups --------------------------------------------------------------------------

    def _active_secret(self, name: str) -> _Secret:
        validate_name(name)
        record = self._active.get(name.lower())
        if record is None:
            raise _not_found(name)
        return record

    def _version(self, name: str, version: str) -> tuple[_Secret, _Version]:
        record = self._active_secret(name)
        if not version:
            return record, record.latest
        found = record.versions.get(version.lower())
        if found is None:
            raise _version_not_found(name, version)
        return record, found

    # ---- operations -----------------------------------------------------------------------

    def set_secret(self, name: str, body: Any) -> dict[str, Any]:
        """PUT /secrets/{name}: a new version (creating the secret when needed)."""
        validate_name(name)
        if not isinstance(body, dict):
            raise bad_parameter("The request body is not valid JSON.")
        value = body.get("value")
        if not isinstance(value, str):
            raise bad_parameter("Property value is required.")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise bad_parameter(
                f"The secret value exceeds the maximum allowed size of {MAX_VALUE_BYTES} bytes."
            )
        tags = _validate_tags(body.get("tags"))
        content_type = _validate_content_type(body.get("contentType"))
        attrs = _attributes(body)
        key = name.lower()
        if key in self._deleted:
            raise _deleted_but_recoverable(self._deleted[key].name)
        now = _now()
        record = self._active.get(key)
        if record is None:
            record = _Secret(name=name)
            self._active[key] = record
        version = _Version(
            version=secrets.token_hex(16),
            value=value,
            content_type=content_type,
            tags=tags,
            enabled=attrs.get("enabled", True) is not False,
            nbf=_optional_int(attrs, "nbf"),
            exp=_optional_int(attrs, "exp"),
            created=now,
            updated=now,
        )
        record.versions[version.version] = version
        record.current = version.version
        return self._bundle(record, version, with_value=True)

    def get_secret(self, name: str, version: str = "") -> dict[str, Any]:
        """GET /secrets/{name}/[{version}]: the value; 403 when that version is disabled."""
        record, found = self._version(name, version)
        if not found.enabled:
            raise KvError(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                "SecretDisabled",
            )
        return self._bundle(record, found, with_value=True)

    def update_secret(self, name: str, version: str, body: Any) -> dict[str, Any]:
        """PATCH /secrets/{name}/{version}: contentType, tags (replaced whole), attributes."""
        record, found = self._version(name, version)
        if not isinstance(body, dict):
            raise bad_parameter("The request body is not valid JSON.")
        if "tags" in body and body["tags"] is not None:
            found.tags = _validate_tags(body["tags"])
        if body.get("contentType") is not None:
            found.content_type = _validate_content_type(body["contentType"])
        attrs = _attributes(body)
        if attrs.get("enabled") is not None:
            found.enabled = bool(attrs["enabled"])
        for key in ("nbf", "exp"):
            if key in attrs:
                setattr(found, key, _optional_int(attrs, key))
        found.updated = _now()
        return self._bundle(record, found, with_value=False)

    def delete_secret(self, name: str) -> dict[str, Any]:
        """DELETE /secrets/{name}: every version, into the deleted collection (or gone)."""
        validate_name(name)
        key = name.lower()
        if key in self._deleted and key not in self._active:
            raise _deleted_but_recoverable(self._deleted[key].name)
        record = self._active_secret(name)
        del self._active[key]
        bundle = self._bundle(record, record.latest, with_value=False)
        if not self.soft_delete:
            return bundle
        now = _now()
        record.deleted_date = now
        record.scheduled_purge_date = now + RETENTION_DAYS * 86400
        self._deleted[key] = record
        return {**bundle, **self._deleted_fields(record)}

    def list_secrets(self, query: dict[str, str]) -> dict[str, Any]:
        """GET /secrets: the current version's properties of every secret, paged."""
        items = [self._item(s, s.latest, versioned=False) for s in self._active.values()]
        return self._page(items, "/secrets", query)

    def list_versions(self, name: str, query: dict[str, str]) -> dict[str, Any]:
        record = self._active_secret(name)
        items = [self._item(record, v, versioned=True) for v in record.versions.values()]
        return self._page(items, f"/secrets/{record.name}/versions", query)

    def _deleted_secret(self, name: str) -> _Secret:
        validate_name(name)
        record = self._deleted.get(name.lower())
        if record is None:
            raise _deleted_not_found(name)
        return record

    def get_deleted(self, name: str) -> dict[str, Any]:
        record = self._deleted_secret(name)
        bundle = self._bundle(record, record.latest, with_value=False)
        return {**bundle, **self._deleted_fields(record)}

    def list_deleted(self, query: dict[str, str]) -> dict[str, Any]:
        items = [
            {**self._item(s, s.latest, versioned=False), **self._deleted_fields(s)}
            for s in self._deleted.values()
        ]
        return self._page(items, "/deletedsecrets", query)

    def purge_deleted(self, name: str) -> None:
        record = self._deleted_secret(name)
        if self.purge_protection:
            raise KvError(
                403,
                "Forbidden",
                "Operation 'purge' is not allowed because purge protection is enabled for this "
                "vault. Key Vault service will automatically purge it after the retention "
                "period has passed.",
            )
        del self._deleted[record.name.lower()]

    def recover_deleted(self, name: str) -> dict[str, Any]:
        record = self._deleted_secret(name)
        del self._deleted[record.name.lower()]
        record.deleted_date = record.scheduled_purge_date = None
        self._active[record.name.lower()] = record
        return self._bundle(record, record.latest, with_value=False)

    # ---- inspection (no HTTP) -------------------------------------------------------------

    def names(self) -> list[str]:
        return [s.name for s in self._active.values()]

    def deleted_names(self) -> list[str]:
        return [s.name for s in self._deleted.values()]

    def versions(self, name: str) -> list[dict[str, Any]]:
        record = self._active.get(name.lower()) or self._deleted.get(name.lower())
        if record is None:
            return []
        return [self._bundle(record, v, with_value=True) for v in record.versions.values()]
