"""ESO's ``key/<name>`` push to Azure Key Vault, on the official ``KeyClient``.

Also holds what ``key/`` and ``cert/`` share (:class:`VaultObjects`: ownership, exists,
delete, the soft-delete policy) and the process-wide client cache for both kinds.

Calls per push of ``key/<n>`` (after the once-per-host challenge):

* new: ``GET /keys/{n}/`` (404) -> ``PUT /keys/{n}`` (ImportKey).
* unchanged (same public key, same tags): ``GET`` only.
* same key, tags changed: ``GET`` -> ``PATCH /keys/{n}/{version}`` (no new version).
* key changed: ``GET`` -> ``PUT /keys/{n}`` (a new version).
* deleted-but-recoverable name: ``GET`` (404) -> ``PUT`` (409) -> ``GET /deletedkeys/{n}``
  (ownership) -> per ``on_soft_deleted`` recover (``POST .../recover`` + poll ``GET``, then
  compare), purge (``DELETE /deletedkeys/{n}`` -> ``PUT``) or a final error.

The value (ESO's ``getKeyFromValue``) must hold a PEM block ``PRIVATE KEY`` (PKCS#8), ``RSA
PRIVATE KEY`` (PKCS#1) or ``EC PRIVATE KEY`` (SEC1); it becomes a private JWK with
``cryptography`` (RSA: ``n e d p q dp dq qi``; EC: ``crv x y d`` with P-256/P-384/P-521/
P-256K), imported tagged ``managed-by: external-secrets`` plus the metadata tags. Whether the
vault already holds that key is decided by the RFC 7638 thumbprint of the public parameters
(the vault never returns private ones), so an unchanged key makes no new version.

Deliberate differences from ESO:

1. Compared (ESO's new-SDK path re-imports on every reconcile; its legacy path compares RSA
   only); tags compared too, and updated in place.
2. Non-PEM values are refused (ESO imports them as a symmetric ``oct`` key, which only
   Managed HSM accepts, so the vault rejects it on every reconcile), as are Ed25519/X25519 and
   encrypted PEM (the vault cannot hold them / no password to give).
3. An existing key without our tag is refused even when it has *no tags at all* (ESO's
   new-SDK path lets tag-less keys through; its legacy path and our secrets refuse).
4. ``property`` is refused (a key has no JSON document to set a property in; ESO ignores it).

Error messages never contain key material: parse failures name the PEM block type and the
exception class only; service texts are dropped if they contain the pushed value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlparse

from azure.core.polling import LROPoller
from azure.keyvault.keys import JsonWebKey, KeyClient, KeyVaultKey
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushsecret.providers import azure_errors
from pushsecret.providers.azure_client import CONNECTION_TIMEOUT, READ_TIMEOUT, AzureConfig
from pushsecret.providers.azure_metadata import MANAGED_BY_KEY
from pushsecret.providers.base import ProviderError, PushResult

__all__ = [
    "KeyMaterial",
    "KeyObjects",
    "VaultObjects",
    "clear_key_cert_clients",
    "key_from_value",
    "shared_vault_client",
]

log = logging.getLogger(__name__)

MANAGED_BY_VALUE = "external-secrets"

_T = TypeVar("_T")
_Obj = TypeVar("_Obj")

# Go's pem.Decode: the first block anywhere in the input (text before it is skipped).
_PEM_BLOCK_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_KEY_BLOCKS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp256k1": "P-256K"}


def _final(message: str, reason: str) -> ProviderError:
    return ProviderError(message, retryable=False, reason=reason)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _uint(value: int, length: int = 0) -> bytes:
    """Big-endian unsigned bytes: minimal (RSA, RFC 7518 6.3) or fixed-length (EC 6.2)."""
    return value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big")


def _thumbprint(members: dict[str, str]) -> str:
    """RFC 7638: SHA-256 of the required public members, sorted, without whitespace."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return _b64url(hashlib.sha256(canonical).digest())


@dataclass(frozen=True)
class KeyMaterial:
    """A private key ready for ImportKey. ``jwk`` holds private members: never log it.
    ``thumbprint`` identifies the public key (safe to log and compare)."""

    jwk: JsonWebKey
    thumbprint: str

    def __repr__(self) -> str:  # dataclass repr would print the private members
        return f"KeyMaterial(thumbprint={self.thumbprint!r})"


def _rsa_jwk(key: rsa.RSAPrivateKey) -> KeyMaterial:
    priv = key.private_numbers()
    pub = priv.public_numbers
    jwk = JsonWebKey(
        kty="RSA",
        n=_uint(pub.n),
        e=_uint(pub.e),
        d=_uint(priv.d),
        p=_uint(priv.p),
        q=_uint(priv.q),
        dp=_uint(priv.dmp1),
        dq=_uint(priv.dmq1),
        qi=_uint(priv.iqmp),
    )
    return KeyMaterial(jwk, rsa_thumbprint(pub.n, pub.e))


def rsa_thumbprint(n: int, e: int) -> str:
    return _thumbprint({"e": _b64url(_uint(e)), "kty": "RSA", "n": _b64url(_uint(n))})


def ec_thumbprint(crv: str, x: int, y: int, size: int) -> str:
    length = (size + 7) // 8
    return _thumbprint(
        {"crv": crv, "kty": "EC", "x": _b64url(_uint(x, length)), "y": _b64url(_uint(y, length))}
    )


def _ec_jwk(name: str, key: ec.EllipticCurvePrivateKey) -> KeyMaterial:
    crv = _CURVES.get(key.curve.name)
    if crv is None:
        raise _final(
            f"could not load private key {name}: curve {key.curve.name} is not supported by "
            "Azure Key Vault (P-256, P-384, P-521, P-256K)",
            "InvalidValue",
        )
    priv = key.private_numbers()
    pub = priv.public_numbers
    length = (key.curve.key_size + 7) // 8
    jwk = JsonWebKey(
        kty="EC",
        crv=crv,
        x=_uint(pub.x, length),
        y=_uint(pub.y, length),
        d=_uint(priv.private_value, length),
    )
    return KeyMaterial(jwk, ec_thumbprint(crv, pub.x, pub.y, key.curve.key_size))


def key_from_value(name: str, value: bytes) -> KeyMaterial:
    """The JWK for ESO's ``key/`` value (see the module doc). Pure; raises a final
    ProviderError (``InvalidValue``) with ESO's wording where ESO has one; never quotes the
    value."""
    found = _PEM_BLOCK_RE.search(value)
    if found is None:
        raise _final(
            f"could not load private key {name}: the value is not PEM; Azure Key Vault "
            "imports RSA or EC private keys (PEM 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC "
            "PRIVATE KEY')",
            "InvalidValue",
        )
    block_type = found.group(1).decode()
    if block_type not in _KEY_BLOCKS:
        raise _final(
            f"could not load private key {name}: key type {block_type} is not supported",
            "InvalidValue",
        )
    if b"Proc-Type:" in found.group(2):
        raise _final(
            f"could not load private key {name}: the {block_type} block is encrypted",
            "InvalidValue",
        )
    try:
        key = serialization.load_pem_private_key(found.group(0), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        # cryptography's texts do not echo input, but we name the class only regardless.
        raise _final(
            f"could not load private key {name}: invalid {block_type} block ({type(exc).__name__})",
            "InvalidValue",
        ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        return _rsa_jwk(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return _ec_jwk(name, key)
    raise _final(
        f"could not load private key {name}: {type(key).__name__.removeprefix('_')} keys "
        "are not supported by Azure Key Vault (RSA or EC only)",
        "InvalidValue",
    )


def _enum_text(value: Any) -> str:
    # The SDK gives KeyType/KeyCurveName str enums (str() of which is "KeyType.ec").
    raw = getattr(value, "value", value)
    return raw if isinstance(raw, str) else ""


def current_thumbprint(key: KeyVaultKey) -> str | None:
    """The RFC 7638 thumbprint of a vault key's public JWK (None when not RSA/EC)."""
    jwk = key.key
    # "-HSM" only says where the key lives, not what it is.
    family = _enum_text(getattr(jwk, "kty", None)).removesuffix("-HSM")
    if family == "RSA":
        n, e = getattr(jwk, "n", None), getattr(jwk, "e", None)
        if isinstance(n, bytes | bytearray) and isinstance(e, bytes | bytearray):
            return rsa_thumbprint(int.from_bytes(n, "big"), int.from_bytes(e, "big"))
    if family == "EC":
        crv = _enum_text(getattr(jwk, "crv", None))
        x, y = getattr(jwk, "x", None), getattr(jwk, "y", None)
        size = {"P-256": 256, "P-384": 384, "P-521": 521, "P-256K": 256}.get(crv)
        if size and isinstance(x, bytes | bytearray) and isinstance(y, bytes | bytearray):
            return ec_thumbprint(crv, int.from_bytes(x, "big"), int.from_bytes(y, "big"), size)
    return None


# ---- clients ---------------------------------------------------------------------------------

_clients: dict[tuple[str, str, int, str | None, bool], Any] = {}
_clients_lock = threading.Lock()


def shared_vault_client(cfg: AzureConfig, kind: str, factory: Callable[..., _T]) -> _T:
    """The cached ``KeyClient``/``CertificateClient`` (``factory``) for ``cfg``, keyed like
    :func:`~pushsecret.providers.azure_client.shared_client`; SDK retries off, the same
    timeouts. Makes no call; a non-https vault URL is a final ``InvalidConfig``."""
    parsed = urlparse(cfg.vault_url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise _final(
            f"invalid vaultUrl {cfg.vault_url!r}: expected https://<vault>.vault.azure.net",
            "InvalidConfig",
        )
    key = (
        kind,
        cfg.vault_url.rstrip("/"),
        id(cfg.credential),
        cfg.ca_bundle,
        cfg.verify_challenge_resource,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = factory(
                cfg.vault_url,
                cfg.credential,
                verify_challenge_resource=cfg.verify_challenge_resource,
                connection_verify=cfg.ca_bundle or True,
                retry_total=0,
                connection_timeout=CONNECTION_TIMEOUT,
                read_timeout=READ_TIMEOUT,
            )
            _clients[key] = client
        result: _T = client
        return result


def clear_key_cert_clients() -> None:
    """Close and forget the cached key and certificate clients (tests, shutdown)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


# ---- what keys and certificates share ----------------------------------------------------------


class VaultObjects(ABC, Generic[_Obj]):
    """Push/exists/delete of one non-secret kind with the provider's ownership and
    soft-delete rules. Subclasses supply the SDK calls; every call goes through
    :func:`azure_errors.call` (classified, retryable per that module)."""

    noun = ""  # "key" / "certificate": ESO's wording
    title = ""  # "Key" / "Certificate": operation names
    collection = ""  # URL segment

    def __init__(
        self,
        vault: str,
        *,
        on_soft_deleted: str,
        purge_on_delete: bool,
        recover_timeout: float,
    ) -> None:
        self._vault = vault.rstrip("/")
        self._on_soft_deleted = on_soft_deleted
        self._purge_on_delete = purge_on_delete
        self._recover_timeout = recover_timeout

    # SDK calls
    @abstractmethod
    def _sdk_get(self, name: str) -> _Obj: ...

    @abstractmethod
    def _sdk_tags(self, obj: _Obj) -> dict[str, str] | None: ...

    @abstractmethod
    def _sdk_deleted_tags(self, name: str) -> dict[str, str] | None: ...

    @abstractmethod
    def _sdk_begin_recover(self, name: str) -> LROPoller[Any]: ...

    @abstractmethod
    def _sdk_purge(self, name: str) -> None: ...

    @abstractmethod
    def _sdk_begin_delete(self, name: str) -> LROPoller[Any]: ...

    @abstractmethod
    def push(
        self, name: str, value: bytes, tags: dict[str, str], protect: list[bytes]
    ) -> PushResult:
        """Write ``value`` as the current version tagged ``tags`` unless already there."""

    # shared behaviour
    def resource(self, name: str) -> str:
        return f"{self._vault}/{self.collection}/{name}"

    def call(self, op: str, name: str, fn: Callable[[], _T], protect: list[bytes]) -> _T:
        return azure_errors.call(f"{op}", self.resource(name), fn, protect=protect)

    def current(self, name: str, protect: list[bytes]) -> _Obj | None:
        """The current version, or None when missing or soft-deleted."""
        try:
            return self.call(f"Get{self.title}", name, lambda: self._sdk_get(name), protect)
        except ProviderError as err:
            if err.reason == "NotFound":
                return None
            raise

    def check_managed(self, name: str, obj: _Obj) -> None:
        # Tag-less objects are refused too: ESO's new-SDK bypass would let us add versions
        # to any key/certificate imported by hand (those usually carry no tags).
        if (self._sdk_tags(obj) or {}).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            raise _final(f"{self.noun} {name} not managed by external-secrets", "NotManaged")

    def create(
        self, name: str, write: Callable[[], PushResult], protect: list[bytes]
    ) -> PushResult | None:
        """Run ``write`` for a name without a current version; on 409 deleted-but-recoverable
        apply the soft-delete policy. None when recovered (the caller compares again)."""
        try:
            result = write()
        except ProviderError as err:
            if err.reason != "DeletedButRecoverable":
                raise
        else:
            log.info("created Azure Key Vault %s %s", self.noun, self.resource(name))
            return result
        if self._soft_deleted(name, protect) == "recovered":
            return None
        try:
            return write()
        except ProviderError as err:
            if err.reason != "DeletedButRecoverable":
                raise
            # The service purges in the background: the name frees up shortly.
            raise ProviderError(
                f"Azure Key Vault {self.noun} {name} is still being purged",
                retryable=True,
                reason="Conflict",
                retry_after=2.0,
            ) from None

    def recovered(self, name: str, protect: list[bytes]) -> _Obj:
        """The current version after a recover; retryable while the service finishes."""
        obj = self.current(name, protect)
        if obj is None:
            raise ProviderError(
                f"Azure Key Vault {self.noun} {name} is still being recovered",
                retryable=True,
                reason="Conflict",
                retry_after=2.0,
            )
        return obj

    def _soft_deleted(self, name: str, protect: list[bytes]) -> str:
        try:
            tags = self.call(
                f"GetDeleted{self.title}", name, lambda: self._sdk_deleted_tags(name), protect
            )
        except ProviderError as err:
            if err.reason != "NotFound":
                raise
            raise ProviderError(
                f"Azure Key Vault {self.noun} {name} was recovered or purged meanwhile",
                retryable=True,
                reason="Conflict",
            ) from None
        if (tags or {}).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            raise _final(
                f"{self.noun} {name} is deleted but recoverable in Azure Key Vault "
                f"{self._vault} and is not managed by external-secrets: recover or purge it "
                "outside PushSecret",
                "NotManaged",
            )
        if self._on_soft_deleted == "Fail":
            raise _final(
                f"{self.noun} {name} is deleted but recoverable in Azure Key Vault "
                f"{self._vault}: recover or purge it, or set the soft-delete policy to Recover "
                "or Purge",
                "SoftDeleted",
            )
        if self._on_soft_deleted == "Purge":
            self.purge(name, protect)
            log.info("purged deleted Azure Key Vault %s %s to reuse its name", self.noun, name)
            return "purged"
        poller = self.call(
            f"RecoverDeleted{self.title}", name, lambda: self._sdk_begin_recover(name), protect
        )
        # The service recovers asynchronously; the poller GETs the object until it is back.
        self.call(
            f"RecoverDeleted{self.title}", name, lambda: poller.wait(self._recover_timeout), []
        )
        log.info("recovered deleted Azure Key Vault %s %s", self.noun, self.resource(name))
        return "recovered"

    def purge(self, name: str, protect: list[bytes]) -> None:
        try:
            self.call(f"PurgeDeleted{self.title}", name, lambda: self._sdk_purge(name), protect)
        except ProviderError as err:
            if err.reason == "PermissionDenied":
                raise _final(
                    f"cannot purge deleted Azure Key Vault {self.noun} {name}: forbidden (purge "
                    "protection, or no purge permission); recover it instead",
                    "PermissionDenied",
                ) from None
            if err.reason != "NotFound":
                raise

    def exists(self, name: str) -> bool:
        """ESO's SecretExists: one GET; False when missing or soft-deleted. Ownership is not
        considered. Read-only."""
        return self.current(name, []) is not None

    def delete(self, name: str) -> None:
        """Soft-delete every version if the current one carries our ``managed-by`` tag
        (missing, deleted or not ours: a no-op success, as ESO's new-SDK path); with
        ``purge_on_delete`` purge once the service has moved it to the deleted collection."""
        obj = self.current(name, [])
        if obj is None:
            return
        if (self._sdk_tags(obj) or {}).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            log.info("not deleting Azure Key Vault %s %s: not managed by us", self.noun, name)
            return
        try:
            poller = self.call(
                f"Delete{self.title}", name, lambda: self._sdk_begin_delete(name), []
            )
        except ProviderError as err:
            if err.reason in ("NotFound", "DeletedButRecoverable"):
                return  # deleted by someone else meanwhile
            raise
        log.info("deleted Azure Key Vault %s %s", self.noun, self.resource(name))
        if self._purge_on_delete and getattr(poller.result(), "recovery_id", None):
            self.call(f"Delete{self.title}", name, lambda: poller.wait(self._recover_timeout), [])
            if not poller.done():
                raise ProviderError(
                    f"Azure Key Vault {self.noun} {name} was deleted but is not purgeable yet",
                    retryable=True,
                    reason="Conflict",
                    retry_after=2.0,
                )
            self.purge(name, [])
            log.info("purged Azure Key Vault %s %s", self.noun, self.resource(name))


class KeyObjects(VaultObjects[KeyVaultKey]):
    """``key/<name>``: see the module doc. Thread-safe (the SDK client is; the provider
    serialises pushes to one name)."""

    noun = "key"
    title = "Key"
    collection = "keys"

    def __init__(self, client: KeyClient, **kwargs: Any) -> None:
        super().__init__(client.vault_url, **kwargs)
        self._client = client

    def _sdk_get(self, name: str) -> KeyVaultKey:
        return self._client.get_key(name)

    def _sdk_tags(self, obj: KeyVaultKey) -> dict[str, str] | None:
        return obj.properties.tags

    def _sdk_deleted_tags(self, name: str) -> dict[str, str] | None:
        return self._client.get_deleted_key(name).properties.tags

    def _sdk_begin_recover(self, name: str) -> LROPoller[Any]:
        return self._client.begin_recover_deleted_key(name)

    def _sdk_purge(self, name: str) -> None:
        self._client.purge_deleted_key(name)

    def _sdk_begin_delete(self, name: str) -> LROPoller[Any]:
        return self._client.begin_delete_key(name)

    def push(
        self, name: str, value: bytes, tags: dict[str, str], protect: list[bytes]
    ) -> PushResult:
        """Import ``value`` (see the module doc) unless the current version is that key with
        ``tags``. Idempotent. Final: bad value (``InvalidValue``, before any call),
        ``NotManaged``, soft-delete refusals; retryable: as :mod:`azure_errors`."""
        material = key_from_value(name, value)
        current = self.current(name, protect)
        if current is None:
            created = self.create(
                name, lambda: self._import(name, material, tags, protect), protect
            )
            if created is not None:
                return created
            current = self.recovered(name, protect)
        self.check_managed(name, current)
        version = current.properties.version
        if current_thumbprint(current) != material.thumbprint:
            return self._import(name, material, tags, protect)
        if (current.properties.tags or {}) == tags:
            return PushResult(written=False, remote_version=version)
        # Same key, other tags: update the current version in place, no new version.
        self.call(
            "UpdateKey",
            name,
            lambda: self._client.update_key_properties(name, version, tags=tags),
            protect,
        )
        return PushResult(written=True, remote_version=version)

    def _import(
        self, name: str, material: KeyMaterial, tags: dict[str, str], protect: list[bytes]
    ) -> PushResult:
        result = self.call(
            "ImportKey",
            name,
            lambda: self._client.import_key(name, material.jwk, tags=tags),
            protect,
        )
        version = result.properties.version
        log.debug(
            "imported key %s as version %s of %s", material.thumbprint, version, self.resource(name)
        )
        return PushResult(written=True, remote_version=version)
