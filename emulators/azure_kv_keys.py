"""Keys of the Azure Key Vault emulator, and the versioned soft-delete store keys and
certificates share.

Like :mod:`emulators.azure_kv_state` for secrets: synchronous, transport-free, one public
method per REST operation taking the decoded request and returning the decoded response (or
raising :class:`~emulators.azure_kv_state.KvError`). The emulator's lock serialises callers.

Key rules reproduced (service wording where known, otherwise ours, marked *approx.*):

* ``PUT /keys/{name}`` (ImportKey) takes ``{"key": JWK, "Hsm"?, "attributes"?, "tags"?}`` and
  makes a new version. The JWK must be a complete private key: RSA (``n e d p q dp dq qi``,
  2048/3072/4096 bits) or EC (``crv`` P-256/P-384/P-521/P-256K with ``x y d``); it is checked
  for consistency with ``cryptography``. ``oct`` keys exist only in Managed HSM: 400
  *approx.* ``Hsm: true`` turns ``RSA``/``EC`` into ``RSA-HSM``/``EC-HSM`` (a premium vault).
* Responses carry the **public** JWK only (``kid kty key_ops n e`` or ``kid kty key_ops crv x
  y``); private members are neither returned nor kept after validation. ``key_ops`` default to
  the service's per-type list. Attributes: ``enabled``, ``nbf``, ``exp``, ``created``,
  ``updated``, ``recoveryLevel``, ``recoverableDays``, ``exportable: false``.
* ``GET /keys/{name}/[{version}]``, ``PATCH /keys/{name}/{version}`` (tags replaced whole,
  attributes, ``key_ops``), ``DELETE /keys/{name}`` (every version to ``/deletedkeys``),
  ``GET``/``DELETE`` (purge, 204; 403 under purge protection) ``/deletedkeys/{name}`` and
  ``POST /deletedkeys/{name}/recover``; 404 ``KeyNotFound`` ``A key with (name/id) X was not
  found in this key vault. ...`` and ``Deleted Key not found: X``; 409 ``Conflict`` /
  ``ObjectIsDeletedButRecoverable`` for a deleted name. Names, case-insensitivity, tag limits
  and timestamps as for secrets.

Not emulated: cryptographic operations, create/rotate, backup/restore, release policies,
list APIs other than versions, a disabled key refusing crypto operations.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from emulators.azure_kv_state import (
    MAX_TAG_NAME_CHARS,
    MAX_TAG_VALUE_CHARS,
    MAX_TAGS,
    RETENTION_DAYS,
    KvError,
    bad_parameter,
    validate_name,
)

__all__ = [
    "KEY_OPERATIONS",
    "KEY_ROUTES",
    "KeyState",
    "Kind",
    "ObjectStore",
    "StoredVersion",
    "b64url",
    "b64url_decode",
    "check_attributes",
    "check_tags",
]

# (method, documented pattern, operation); the HTTP layer turns these into vault routes.
KEY_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("PUT", "/keys/{name}", "ImportKey"),
    ("GET", "/keys/{name}/versions", "ListKeyVersions"),
    ("GET", "/keys/{name}", "GetKey"),
    ("GET", "/keys/{name}/{version}", "GetKey"),
    ("PATCH", "/keys/{name}/{version}", "UpdateKey"),
    ("DELETE", "/keys/{name}", "DeleteKey"),
    ("GET", "/deletedkeys/{name}", "GetDeletedKey"),
    ("DELETE", "/deletedkeys/{name}", "PurgeDeletedKey"),
    ("POST", "/deletedkeys/{name}/recover", "RecoverDeletedKey"),
)
KEY_OPERATIONS = frozenset(op for _, _, op in KEY_ROUTES)

_KEY_OPS = frozenset(
    {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"}
)
_DEFAULT_OPS = {
    "RSA": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
    "EC": ["sign", "verify"],
}
_RSA_SIZES = frozenset({2048, 3072, 4096})
_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "P-256K": ec.SECP256K1(),
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: Any, what: str) -> bytes:
    """Base64url (padding optional; the SDK sends it unpadded); 400 when malformed."""
    if not isinstance(text, str) or not text:
        raise bad_parameter(f"The specified JSON Web Key is invalid: property '{what}' is required")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise bad_parameter(f"Property key.{what} has invalid value") from None


def check_tags(tags: Any) -> dict[str, str] | None:
    """The service's tag rules (as for secrets): a string map, 15 tags, name/value lengths."""
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


def check_attributes(body: dict[str, Any]) -> dict[str, Any]:
    """``attributes`` of a request: an object whose ``enabled`` is a bool and nbf/exp ints."""
    attrs = body.get("attributes")
    if attrs is None:
        return {}
    if not isinstance(attrs, dict):
        raise bad_parameter("Property attributes has invalid value")
    if attrs.get("enabled") is not None and not isinstance(attrs["enabled"], bool):
        raise bad_parameter("Property attributes.enabled has invalid value")
    for key in ("nbf", "exp"):
        value = attrs.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad_parameter(f"Property attributes.{key} has invalid value")
    return attrs


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Kind:
    """Names of one object kind in URLs and in the service's error texts."""

    collection: str  # "keys"
    deleted: str  # "deletedkeys"
    noun: str  # "key"
    title: str  # "Key"
    not_found_code: str  # "KeyNotFound"


@dataclass
class StoredVersion:
    """One version: kind-specific ``data`` (public material only) plus common attributes."""

    version: str
    data: dict[str, Any]
    tags: dict[str, str] | None
    enabled: bool
    nbf: int | None
    exp: int | None
    created: int
    updated: int


@dataclass
class StoredObject:
    name: str  # spelling of the first creation
    versions: dict[str, StoredVersion] = field(default_factory=dict)  # oldest first
    current: str = ""
    deleted_date: int | None = None
    scheduled_purge_date: int | None = None

    @property
    def latest(self) -> StoredVersion:
        return self.versions[self.current]


class ObjectStore:
    """Versioned objects of one kind with the vault's soft-delete collection."""

    def __init__(
        self, base: str, kind: Kind, *, soft_delete: bool = True, purge_protection: bool = False
    ) -> None:
        self.base = base.rstrip("/")
        self.kind = kind
        self.soft_delete = soft_delete
        self.purge_protection = purge_protection
        self._active: dict[str, StoredObject] = {}
        self._deleted: dict[str, StoredObject] = {}

    @property
    def recovery_level(self) -> str:
        if not self.soft_delete:
            return "Purgeable"
        return "Recoverable" if self.purge_protection else "Recoverable+Purgeable"

    def reset(self) -> None:
        self._active.clear()
        self._deleted.clear()

    # ---- errors ---------------------------------------------------------------------------

    def not_found(self, name: str) -> KvError:
        k = self.kind
        return KvError(
            404,
            k.not_found_code,
            f"A {k.noun} with (name/id) {name} was not found in this key vault. If you recently "
            f"deleted this {k.noun} you may be able to recover it using the correct recovery "
            "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/"
            "?linkid=2125182",
        )

    def deleted_but_recoverable(self, name: str) -> KvError:
        k = self.kind
        return KvError(
            409,
            "Conflict",
            f"{k.title} {name} is currently in a deleted but recoverable state, and its name "
            f"cannot be reused; in this state, the {k.noun} can only be recovered or purged.",
            "ObjectIsDeletedButRecoverable",
        )

    # ---- rendering helpers ----------------------------------------------------------------

    def attributes(self, v: StoredVersion) -> dict[str, Any]:
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

    def ident(self, record: StoredObject, v: StoredVersion, collection: str = "") -> str:
        return f"{self.base}/{collection or self.kind.collection}/{record.name}/{v.version}"

    def deleted_fields(self, record: StoredObject) -> dict[str, Any]:
        return {
            "recoveryId": f"{self.base}/{self.kind.deleted}/{record.name}",
            "deletedDate": record.deleted_date,
            "scheduledPurgeDate": record.scheduled_purge_date,
        }

    # ---- state transitions ----------------------------------------------------------------

    def new_version(
        self, name: str, data: dict[str, Any], tags: dict[str, str] | None, attrs: dict[str, Any]
    ) -> tuple[StoredObject, StoredVersion]:
        """Add a version (creating the object); 409 while the name is in the deleted bin."""
        key = name.lower()
        if key in self._deleted:
            raise self.deleted_but_recoverable(self._deleted[key].name)
        now = _now()
        record = self._active.get(key)
        if record is None:
            record = StoredObject(name=name)
            self._active[key] = record
        version = StoredVersion(
            version=secrets.token_hex(16),
            data=data,
            tags=tags,
            enabled=attrs.get("enabled", True) is not False,
            nbf=attrs.get("nbf"),
            exp=attrs.get("exp"),
            created=now,
            updated=now,
        )
        record.versions[version.version] = version
        record.current = version.version
        return record, version

    def active(self, name: str) -> StoredObject:
        validate_name(name)
        record = self._active.get(name.lower())
        if record is None:
            raise self.not_found(name)
        return record

    def find(self, name: str, version: str) -> tuple[StoredObject, StoredVersion]:
        """The named version (``""`` = current) of an active object; 404 otherwise."""
        record = self.active(name)
        if not version:
            return record, record.latest
        found = record.versions.get(version.lower())
        if found is None:
            raise self.not_found(f"{name}/{version}")
        return record, found

    def update(self, name: str, version: str, body: Any) -> tuple[StoredObject, StoredVersion]:
        """PATCH: tags (replaced whole when given) and enabled/nbf/exp of one version."""
        record, found = self.find(name, version)
        if not isinstance(body, dict):
            raise bad_parameter("The request body is not valid JSON.")
        if body.get("tags") is not None:
            found.tags = check_tags(body["tags"])
        attrs = check_attributes(body)
        if attrs.get("enabled") is not None:
            found.enabled = bool(attrs["enabled"])
        for key in ("nbf", "exp"):
            if key in attrs:
                setattr(found, key, attrs[key])
        found.updated = _now()
        return record, found

    def delete(self, name: str) -> tuple[StoredObject, bool]:
        """Every version into the deleted bin (or gone); ``(record, soft_deleted)``."""
        validate_name(name)
        key = name.lower()
        if key in self._deleted and key not in self._active:
            raise self.deleted_but_recoverable(self._deleted[key].name)
        record = self.active(name)
        del self._active[key]
        if not self.soft_delete:
            return record, False
        now = _now()
        record.deleted_date = now
        record.scheduled_purge_date = now + RETENTION_DAYS * 86400
        self._deleted[key] = record
        return record, True

    def deleted(self, name: str) -> StoredObject:
        validate_name(name)
        record = self._deleted.get(name.lower())
        if record is None:
            raise KvError(
                404, self.kind.not_found_code, f"Deleted {self.kind.title} not found: {name}"
            )
        return record

    def purge(self, name: str) -> None:
        record = self.deleted(name)
        if self.purge_protection:
            raise KvError(
                403,
                "Forbidden",
                "Operation 'purge' is not allowed because purge protection is enabled for this "
                "vault. Key Vault service will automatically purge it after the retention "
                "period has passed.",
            )
        del self._deleted[record.name.lower()]

    def recover(self, name: str) -> StoredObject:
        record = self.deleted(name)
        del self._deleted[record.name.lower()]
        record.deleted_date = record.scheduled_purge_date = None
        self._active[record.name.lower()] = record
        return record

    # ---- inspection (no HTTP) -------------------------------------------------------------

    def names(self) -> list[str]:
        return [r.name for r in self._active.values()]

    def deleted_names(self) -> list[str]:
        return [r.name for r in self._deleted.values()]

    def records(self, name: str) -> StoredObject | None:
        return self._active.get(name.lower()) or self._deleted.get(name.lower())


def _int(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _public_jwk(jwk: dict[str, Any], hsm: bool) -> dict[str, Any]:
    """Validate a private JWK; its public members (what the vault keeps and returns)."""
    kty = jwk.get("kty")
    if kty in ("oct", "oct-HSM"):
        # approx.: only Managed HSM holds symmetric keys.
        raise bad_parameter(f"Key type '{kty}' is not supported by this vault.")
    if kty not in ("RSA", "RSA-HSM", "EC", "EC-HSM"):
        raise bad_parameter("Property key.kty has invalid value")
    family = "RSA" if kty.startswith("RSA") else "EC"
    public: dict[str, Any] = {"kty": family + ("-HSM" if hsm or kty.endswith("-HSM") else "")}
    try:
        if family == "RSA":
            parts = {
                m: _int(b64url_decode(jwk.get(m), m))
                for m in ("n", "e", "d", "p", "q", "dp", "dq", "qi")
            }
            numbers = rsa.RSAPrivateNumbers(
                p=parts["p"],
                q=parts["q"],
                d=parts["d"],
                dmp1=parts["dp"],
                dmq1=parts["dq"],
                iqmp=parts["qi"],
                public_numbers=rsa.RSAPublicNumbers(parts["e"], parts["n"]),
            )
            size = numbers.private_key().key_size
            if size not in _RSA_SIZES:
                raise bad_parameter(f"RSA key size {size} is not supported.")  # approx.
            public["n"], public["e"] = jwk["n"], jwk["e"]
        else:
            crv = jwk.get("crv")
            curve = _CURVES.get(crv) if isinstance(crv, str) else None
            if curve is None:
                raise bad_parameter("Property key.crv has invalid value")
            x, y, d = (_int(b64url_decode(jwk.get(m), m)) for m in ("x", "y", "d"))
            ec.EllipticCurvePrivateNumbers(
                d, ec.EllipticCurvePublicNumbers(x, y, curve)
            ).private_key()
            public["crv"], public["x"], public["y"] = crv, jwk["x"], jwk["y"]
    except ValueError:
        # cryptography rejects inconsistent numbers (wrong d, a point off the curve, ...).
        raise bad_parameter("The specified JSON Web Key is invalid.") from None  # approx.
    ops = jwk.get("key_ops")
    if ops is None:
        public["key_ops"] = list(_DEFAULT_OPS[family])
    elif isinstance(ops, list) and all(isinstance(o, str) and o in _KEY_OPS for o in ops):
        public["key_ops"] = list(ops)
    else:
        raise bad_parameter("Property key.key_ops has invalid value")
    return public


class KeyState(ObjectStore):
    """Keys of one vault (see the module docstring)."""

    KIND = Kind("keys", "deletedkeys", "key", "Key", "KeyNotFound")

    def __init__(
        self, base: str, *, soft_delete: bool = True, purge_protection: bool = False
    ) -> None:
        super().__init__(
            base, self.KIND, soft_delete=soft_delete, purge_protection=purge_protection
        )

    def _bundle(self, record: StoredObject, v: StoredVersion) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "key": {"kid": self.ident(record, v), **v.data},
            "attributes": {**self.attributes(v), "exportable": False},
        }
        if v.tags is not None:
            bundle["tags"] = dict(v.tags)
        return bundle

    def _deleted_bundle(self, record: StoredObject) -> dict[str, Any]:
        return {**self._bundle(record, record.latest), **self.deleted_fields(record)}

    def import_key(self, name: str, body: Any) -> dict[str, Any]:
        """PUT /keys/{name}: validate the private JWK and store its public part as a new
        version."""
        validate_name(name)
        if not isinstance(body, dict) or not isinstance(body.get("key"), dict):
            raise bad_parameter("Property key is required.")
        # The REST name is "Hsm" (the SDK's wire name); accept the lower-case spelling too.
        hsm = body.get("Hsm", body.get("hsm"))
        if hsm is not None and not isinstance(hsm, bool):
            raise bad_parameter("Property hsm has invalid value")
        public = _public_jwk(body["key"], bool(hsm))
        tags = check_tags(body.get("tags"))
        attrs = check_attributes(body)
        record, version = self.new_version(name, public, tags, attrs)
        return self._bundle(record, version)

    def get_key(self, name: str, version: str) -> dict[str, Any]:
        return self._bundle(*self.find(name, version))

    def update_key(self, name: str, version: str, body: Any) -> dict[str, Any]:
        record, found = self.update(name, version, body)
        ops = body.get("key_ops") if isinstance(body, dict) else None
        if ops is not None:
            if not isinstance(ops, list) or not all(o in _KEY_OPS for o in ops):
                raise bad_parameter("Property key_ops has invalid value")
            found.data["key_ops"] = list(ops)
        return self._bundle(record, found)

    def list_versions(self, name: str) -> dict[str, Any]:
        record = self.active(name)
        items = [
            {
                "kid": f"{self.base}/keys/{record.name}/{v.version}",
                "attributes": self.attributes(v),
                **({"tags": dict(v.tags)} if v.tags is not None else {}),
            }
            for v in record.versions.values()
        ]
        return {"value": items, "nextLink": None}

    def delete_key(self, name: str) -> dict[str, Any]:
        record, soft = self.delete(name)
        return self._deleted_bundle(record) if soft else self._bundle(record, record.latest)

    def dispatch(self, op: str, params: dict[str, str], body: Any) -> dict[str, Any] | None:
        """Run one key operation of :data:`KEY_OPERATIONS`; None means 204 No Content."""
        name, version = params.get("name", ""), params.get("version", "")
        if op == "ImportKey":
            return self.import_key(name, body)
        if op == "GetKey":
            return self.get_key(name, version)
        if op == "UpdateKey":
            return self.update_key(name, version, body)
        if op == "ListKeyVersions":
            return self.list_versions(name)
        if op == "DeleteKey":
            return self.delete_key(name)
        if op == "GetDeletedKey":
            return self._deleted_bundle(self.deleted(name))
        if op == "PurgeDeletedKey":
            self.purge(name)
            return None
        if op == "RecoverDeletedKey":
            record = self.recover(name)
            return self._bundle(record, record.latest)
        raise KeyError(op)

    def key_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of key ``name`` (active or deleted) as KeyBundles, oldest first."""
        record = self.records(name)
        if record is None:
            return []
        return [self._bundle(record, v) for v in record.versions.values()]
