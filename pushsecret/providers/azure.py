"""Azure Key Vault as a PushSecret target, with ESO's push semantics (and the fixes it needs).

This is ESO's ``providers/v1/azure/keyvault`` push side for kind ``secret`` on the official
sync ``azure.keyvault.secrets.SecretClient`` (ESO's ``useAzureSDK: true`` path, which the
Python SDK matches). Calls (after a once-per-host 401 challenge and a token request):

* push, new: ``GET /secrets/{n}/`` (404) -> ``PUT /secrets/{n}``.
* push, unchanged (value, contentType, tags and expiry as wanted): ``GET`` only.
* push, value changed: ``GET`` -> ``PUT`` (a new version with our tags/contentType/expiry).
* push, only tags/contentType/expiry changed: ``GET`` -> ``PATCH /secrets/{n}/{version}``
  (no new version), except clearing an expiry, which needs a ``PUT``.
* push onto a deleted-but-recoverable name: ``GET`` (404) -> ``PUT`` (409
  ``ObjectIsDeletedButRecoverable``) -> ``GET /deletedsecrets/{n}`` (ownership) -> per
  ``on_soft_deleted``: ``Recover``: ``POST .../recover`` + poll ``GET /secrets/{n}/``, then the
  normal compare-and-write; ``Purge``: ``DELETE /deletedsecrets/{n}`` -> ``PUT``; ``Fail``: a
  final error naming the two ways out.
* exists: ``GET /secrets/{n}/``. delete: ``GET`` -> ``DELETE /secrets/{n}`` when ours
  [-> poll ``GET /deletedsecrets/{n}`` -> ``DELETE /deletedsecrets/{n}`` with
  ``purge_on_delete``]. validate: ``GET`` of a probe name (404 is success).

Deliberate differences from ESO (each also noted where it happens):

1. Tags are compared: a push whose value is unchanged but whose tags, requested contentType
   or expiry differ updates the current version in place (``PATCH``) instead of being skipped
   (ESO never compares tags, so metadata edits wait for the next value change).
2. Soft delete (ESO #3519): a name in the deleted collection is recovered (default), purged,
   or refused clearly, per ``on_soft_deleted``, and only when the deleted secret carries our
   ``managed-by`` tag; ESO retries a 409 forever.
3. ``property`` is honoured as in our GCP provider (the secret value is a JSON document and the
   entry sets one key in it, byte-compatible with ESO's sjson), instead of being ignored (in
   ESO two entries with one remoteKey silently overwrite each other). ``delete`` still
   removes the whole secret, as ESO's does.
4. Checked before any call: the remote key (``[secret/]name`` with 1..127 of
   ``[0-9a-zA-Z-]``; ESO ignores extra ``/`` segments, we refuse them), metadata, the value's
   encoding (non-UTF-8 bytes are refused: ESO stores U+FFFD replacements), 25,600 bytes, 15 tags
   (ours included) and tag/contentType lengths.
5. ``expirationDate`` is honoured (ESO's new-SDK path drops it), and compared.
6. ``key/<name>`` and ``cert/<name>`` are pushed as ESO does, with the differences listed in
   :mod:`pushsecret.providers.azure_keys` and :mod:`pushsecret.providers.azure_certs`
   (compared by public key / leaf certificate and tags, tag-less objects refused, non-importable
   values refused before any call, ``property`` refused; ``expirationDate``/``contentType``
   are ignored for them, as in ESO).
7. A disabled current version makes push refuse (final) and exists() return False, rather than
   ESO's unclassified 403 error; delete() leaves a disabled secret alone (its tags cannot be
   read, so ownership cannot be proven) and logs a warning.
8. Unmanaged secrets are skipped by delete (ESO's new-SDK path; the legacy path errors).
9. SDK retries are off; errors are classified (see :mod:`pushsecret.providers.azure_errors`).
10. Concurrent pushes to one secret within a process wait for each other.

Errors: every failure is a :class:`ProviderError` with a message we write; see
:mod:`pushsecret.providers.azure_errors` for the HTTP mapping and retryability.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import KeyVaultSecret, SecretClient

from pushsecret.providers import azure_errors
from pushsecret.providers.azure_certs import CertificateObjects
from pushsecret.providers.azure_client import (
    AzureConfig,
    build_credential,
    shared_client,
)
from pushsecret.providers.azure_client import clear_client_cache as _clear_secret_clients
from pushsecret.providers.azure_keys import (
    KeyObjects,
    VaultObjects,
    clear_key_cert_clients,
    shared_vault_client,
)
from pushsecret.providers.azure_metadata import (
    MANAGED_BY_KEY,
    AzurePushMetadata,
    MetadataError,
    parse_azure_metadata,
)
from pushsecret.providers.base import (
    ProviderError,
    PushEntry,
    PushResult,
    RemoteRef,
    SourceSecret,
)
from pushsecret.providers.payload import (
    json_get_property,
    json_set_property,
    parse_property_path,
    property_value_text,
    whole_secret_json,
)

__all__ = [
    "MANAGED_BY_KEY",
    "MANAGED_BY_VALUE",
    "MAX_TAGS",
    "MAX_VALUE_BYTES",
    "AzureConfig",
    "AzureKeyVaultProvider",
    "build_credential",
    "clear_client_cache",
]

log = logging.getLogger(__name__)

MANAGED_BY_VALUE = "external-secrets"
MAX_VALUE_BYTES = 25600
MAX_TAGS = 15
MAX_TAG_NAME_CHARS = 512
MAX_TAG_VALUE_CHARS = 256
MAX_CONTENT_TYPE_CHARS = 255
VALIDATION_PROBE = "pushsecret-validation-probe"
DEFAULT_RECOVER_TIMEOUT = 30.0

_NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_T = TypeVar("_T")

# Striped locks: pushes to one secret in this process run one at a time (a read-modify-write
# of the current version), without a lock per name.
_STRIPES = [threading.Lock() for _ in range(64)]


def _secret_lock(vault: str, name: str) -> threading.Lock:
    digest = hashlib.sha256(f"{vault}\0{name.lower()}".encode()).hexdigest()
    return _STRIPES[int(digest[:8], 16) % len(_STRIPES)]


def clear_client_cache() -> None:
    """Close and forget every cached secret, key and certificate client and credential."""
    _clear_secret_clients()
    clear_key_cert_clients()


def _final(message: str, reason: str) -> ProviderError:
    return ProviderError(message, retryable=False, reason=reason)


def _check_size(name: str, data: bytes) -> None:
    if len(data) > MAX_VALUE_BYTES:
        raise _final(
            f"payload for Azure Key Vault secret {name} is {len(data)} bytes; Key Vault "
            f"stores at most {MAX_VALUE_BYTES}",
            "PayloadTooLarge",
        )


def _unix(when: dt.datetime | None) -> int | None:
    return None if when is None else int(when.timestamp())


@dataclass(frozen=True)
class _Desired:
    """What the pushed version must look like (value aside)."""

    tags: dict[str, str]
    content_type: str  # "" = not requested: keep the existing one
    expires_on: dt.datetime | None


class AzureKeyVaultProvider:
    """The :class:`~pushsecret.providers.base.Provider` for one Azure Key Vault store.

    Thread-safe (the SDK client is). Build it with :meth:`from_config`, which shares clients
    process-wide; passing a client directly is for tests and for callers that manage clients
    themselves (``owns_client=True`` makes :meth:`close` close it).
    """

    def __init__(
        self,
        client: SecretClient,
        *,
        on_soft_deleted: str = "Recover",
        purge_on_delete: bool = False,
        recover_timeout: float = DEFAULT_RECOVER_TIMEOUT,
        owns_client: bool = False,
        key_client: KeyClient | None = None,
        certificate_client: CertificateClient | None = None,
    ) -> None:
        if on_soft_deleted not in ("Recover", "Purge", "Fail"):
            raise _final(
                f"invalid on_soft_deleted {on_soft_deleted!r}: expected Recover, Purge or Fail",
                "InvalidConfig",
            )
        self._client = client
        self._vault = client.vault_url.rstrip("/")
        self._on_soft_deleted = on_soft_deleted
        self._purge_on_delete = purge_on_delete
        self._recover_timeout = recover_timeout
        self._owns_client = owns_client
        # key/ and cert/ entries use their own SDK clients (None: those kinds are refused).
        policy: dict[str, Any] = {
            "on_soft_deleted": on_soft_deleted,
            "purge_on_delete": purge_on_delete,
            "recover_timeout": recover_timeout,
        }
        self._objects: dict[str, VaultObjects[Any]] = {}
        if key_client is not None:
            self._objects["key"] = KeyObjects(key_client, **policy)
        if certificate_client is not None:
            self._objects["cert"] = CertificateObjects(certificate_client, **policy)

    @classmethod
    def from_config(cls, cfg: AzureConfig) -> AzureKeyVaultProvider:
        """A provider on the shared client for ``cfg`` (see :func:`shared_client`). Makes no
        call; raises a non-retryable ProviderError for an unusable vault URL."""
        return cls(
            shared_client(cfg),
            on_soft_deleted=cfg.on_soft_deleted,
            purge_on_delete=cfg.purge_on_delete,
            key_client=shared_vault_client(cfg, "keys", KeyClient),
            certificate_client=shared_vault_client(cfg, "certificates", CertificateClient),
        )

    # ---- naming and calls -----------------------------------------------------------------

    def _target(self, remote_key: str, *, push: bool) -> tuple[VaultObjects[Any] | None, str]:
        """``(handler, name)`` of ``key/<name>`` or ``cert/<name>`` (handler None for
        ``[secret/]<name>``), with the name checked; ESO's kind errors otherwise."""
        kind, sep, rest = remote_key.partition("/")
        if not sep or kind not in ("key", "cert"):
            return None, self._name(remote_key, push=push)
        objects = self._objects.get(kind)
        if objects is None:
            client = "KeyClient" if kind == "key" else "CertificateClient"
            raise _final(
                f"{kind}/ remote keys need a {client}; build the provider with from_config()",
                "InvalidConfig",
            )
        if not _NAME_RE.match(rest):
            raise _final(
                f"invalid Azure Key Vault {objects.noun} name {rest!r}: expected 1-127 "
                "characters of letters, digits and '-'",
                "InvalidRemoteKey",
            )
        return objects, rest

    def _push_object(
        self, objects: VaultObjects[Any], name: str, secret: SourceSecret, entry: PushEntry
    ) -> PushResult:
        """A ``key/`` or ``cert/`` push: checks, then the kind's compare-and-import."""
        meta = self._metadata(entry)
        if entry.remote.property:
            raise _final(
                f"property is not supported for Azure Key Vault {objects.noun} {name}: the "
                f"whole value is the {objects.noun}",
                "InvalidProperty",
            )
        if meta is not None and (meta.content_type or meta.expiration_date):
            # ESO ignores both for keys and certificates; we do too, but say so.
            log.warning(
                "contentType/expirationDate metadata is ignored for Azure Key Vault %s %s",
                objects.noun,
                name,
            )
        payload = self._payload(secret, entry)
        # Also the forms a service text could echo: trimmed, and base64 (the import body).
        protect = [*secret.data.values(), payload, payload.strip(), base64.b64encode(payload)]
        tags = self._desired(name, meta).tags
        with _secret_lock(self._vault, f"{objects.collection}/{name}"):
            return objects.push(name, payload, tags, protect)

    def _name(self, remote_key: str, *, push: bool) -> str:
        """The secret name of ``[secret/]<name>``; ESO's kind errors for other prefixes."""
        kind, sep, rest = remote_key.partition("/")
        name = rest if sep else kind
        if sep and kind != "secret":
            text = (
                f"secret type {kind} not supported"
                if push
                else (f"secret type '{kind}' is not supported")
            )
            raise _final(text, "UnsupportedKind")
        if not _NAME_RE.match(name):
            raise _final(
                f"invalid Azure Key Vault secret name {name!r}: expected 1-127 characters of "
                "letters, digits and '-'",
                "InvalidRemoteKey",
            )
        return name

    def _resource(self, name: str) -> str:
        return f"{self._vault}/secrets/{name}"

    def _call(self, op: str, name: str, fn: Callable[[], _T], protect: list[bytes]) -> _T:
        return azure_errors.call(op, self._resource(name), fn, protect=protect)

    def _current(self, name: str, protect: list[bytes]) -> KeyVaultSecret | None:
        """The current version, or None when there is none (missing or soft-deleted)."""
        try:
            return self._call("GetSecret", name, lambda: self._client.get_secret(name), protect)
        except ProviderError as err:
            if err.reason == "NotFound":
                return None
            raise

    # ---- push -----------------------------------------------------------------------------

    def push(self, secret: SourceSecret, entry: PushEntry) -> PushResult:
        """Write ``entry`` of ``secret`` to ``entry.remote.remote_key``, unless already there.

        Idempotent: an identical second push makes one GET and returns ``written=False`` with
        the current version id. Creates the secret tagged ``managed-by: external-secrets``;
        refuses one without that tag (``NotManaged``, final) or with a disabled current version
        (final). Soft-deleted names follow ``on_soft_deleted``. Retryable failures: 429 (with
        ``retry_after``), 408, 5xx, transport errors, a recover/purge still in progress.
        """
        remote = entry.remote
        objects, name = self._target(remote.remote_key, push=True)
        if objects is not None:
            return self._push_object(objects, name, secret, entry)
        meta = self._metadata(entry)
        if remote.property:
            try:
                parse_property_path(remote.property)
            except ValueError as exc:
                raise _final(
                    f"invalid property for Azure Key Vault secret {name}: {exc}",
                    "InvalidProperty",
                ) from None
        payload = self._payload(secret, entry)
        protect = [*secret.data.values(), payload]
        desired = self._desired(name, meta)
        if not remote.property:
            self._check_value(name, payload, entry.secret_key)

        with _secret_lock(self._vault, name):
            try:
                current = self._current(name, protect)
            except ProviderError as err:
                if err.reason != "SecretDisabled":
                    raise
                # ESO's legacy client re-enabled it by writing; its new-SDK client fails with
                # the bare 403. We refuse clearly: someone disabled it on purpose.
                raise _final(
                    f"cannot push to Azure Key Vault secret {self._resource(name)}: its current "
                    "version is disabled; enable it or delete the secret outside PushSecret",
                    "SecretDisabled",
                ) from None
            if current is None:
                created = self._create(name, remote.property, payload, desired, protect)
                if created is not None:
                    return created
                # Recovered from the soft-delete bin: compare with what came back.
                current = self._current(name, protect)
                if current is None:
                    raise ProviderError(
                        f"Azure Key Vault secret {name} is still being recovered",
                        retryable=True,
                        reason="Conflict",
                        retry_after=2.0,
                    )
            return self._update(name, current, remote.property, payload, desired, protect)

    def _metadata(self, entry: PushEntry) -> AzurePushMetadata | None:
        try:
            return parse_azure_metadata(entry.metadata)
        except MetadataError as exc:
            raise _final(str(exc), "InvalidMetadata") from None

    @staticmethod
    def _payload(secret: SourceSecret, entry: PushEntry) -> bytes:
        if not entry.secret_key:
            return whole_secret_json(secret.data)
        if entry.secret_key not in secret.data:
            raise _final(f"secret key {entry.secret_key} does not exist", "SecretKeyMissing")
        return secret.data[entry.secret_key]

    @staticmethod
    def _check_value(name: str, data: bytes, secret_key: str) -> None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            # ESO sends Go's string(bytes) and stores U+FFFD for every invalid byte; we refuse
            # rather than corrupt the value silently.
            raise _final(
                f"value of secret key {secret_key} is not valid UTF-8: Azure Key Vault secrets "
                "hold text; base64-encode binary data before pushing it",
                "InvalidValue",
            ) from None
        _check_size(name, data)

    @staticmethod
    def _desired(name: str, meta: AzurePushMetadata | None) -> _Desired:
        tags = dict(meta.tags or {}) if meta is not None else {}
        tags[MANAGED_BY_KEY] = MANAGED_BY_VALUE
        if len(tags) > MAX_TAGS:
            raise _final(
                f"too many tags for Azure Key Vault secret {name}: {len(tags)} including "
                f"{MANAGED_BY_KEY}; Key Vault allows {MAX_TAGS}",
                "InvalidMetadata",
            )
        for key, value in tags.items():
            if not key or len(key) > MAX_TAG_NAME_CHARS or len(value) > MAX_TAG_VALUE_CHARS:
                raise _final(
                    f"invalid tag {key[:64]!r} for Azure Key Vault secret {name}: names must be "
                    f"1-{MAX_TAG_NAME_CHARS} characters, values at most {MAX_TAG_VALUE_CHARS}",
                    "InvalidMetadata",
                )
        content_type = meta.content_type if meta is not None else ""
        if len(content_type) > MAX_CONTENT_TYPE_CHARS:
            raise _final(
                f"contentType for Azure Key Vault secret {name} is longer than "
                f"{MAX_CONTENT_TYPE_CHARS} characters",
                "InvalidMetadata",
            )
        expires = meta.expires_on() if meta is not None else None
        return _Desired(tags=tags, content_type=content_type, expires_on=expires)

    def _merged(self, name: str, original: str | None, prop: str, payload: bytes) -> str:
        """The document after setting ``prop`` (ESO's sjson semantics), size-checked."""
        document = original.encode() if original is not None else None
        try:
            merged = json_set_property(document, prop, payload)
        except ValueError as exc:
            raise _final(
                f"cannot set property {prop!r} in Azure Key Vault secret {name}: {exc}",
                "InvalidProperty",
            ) from None
        _check_size(name, merged)
        return merged.decode("utf-8")  # sjson output is valid UTF-8 (U+FFFD escapes)

    def _set(
        self,
        name: str,
        text: str,
        content_type: str | None,
        desired: _Desired,
        protect: list[bytes],
    ) -> PushResult:
        result = self._call(
            "SetSecret",
            name,
            lambda: self._client.set_secret(
                name,
                text,
                tags=desired.tags,
                content_type=content_type or None,
                expires_on=desired.expires_on,
            ),
            protect,
        )
        version = result.properties.version
        log.debug("wrote version %s of Azure Key Vault secret %s", version, self._resource(name))
        return PushResult(written=True, remote_version=version)

    def _create(
        self, name: str, prop: str, payload: bytes, desired: _Desired, protect: list[bytes]
    ) -> PushResult | None:
        """PUT a first version. None when the name was recovered from the soft-delete bin
        (the caller then compares with the recovered version)."""
        text = self._merged(name, None, prop, payload) if prop else payload.decode("utf-8")
        try:
            result = self._set(name, text, desired.content_type, desired, protect)
        except ProviderError as err:
            if err.reason != "DeletedButRecoverable":
                raise
        else:
            log.info("created Azure Key Vault secret %s", self._resource(name))
            return result
        if self._soft_deleted(name, protect) == "recovered":
            return None
        try:
            return self._set(name, text, desired.content_type, desired, protect)
        except ProviderError as err:
            if err.reason != "DeletedButRecoverable":
                raise
            # The service purges in the background: the name frees up shortly.
            raise ProviderError(
                f"Azure Key Vault secret {name} is still being purged",
                retryable=True,
                reason="Conflict",
                retry_after=2.0,
            ) from None

    def _soft_deleted(self, name: str, protect: list[bytes]) -> str:
        """Handle a name that is deleted but recoverable; ``"recovered"`` or ``"purged"``."""
        try:
            deleted = self._call(
                "GetDeletedSecret", name, lambda: self._client.get_deleted_secret(name), protect
            )
        except ProviderError as err:
            if err.reason != "NotFound":
                raise
            raise ProviderError(
                f"Azure Key Vault secret {name} was recovered or purged meanwhile",
                retryable=True,
                reason="Conflict",
            ) from None
        if (deleted.properties.tags or {}).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            raise _final(
                f"secret {name} is deleted but recoverable in Azure Key Vault {self._vault} and "
                "is not managed by external-secrets: recover or purge it outside PushSecret",
                "NotManaged",
            )
        if self._on_soft_deleted == "Fail":
            raise _final(
                f"secret {name} is deleted but recoverable in Azure Key Vault {self._vault}: "
                "recover or purge it, or set the soft-delete policy to Recover or Purge",
                "SoftDeleted",
            )
        if self._on_soft_deleted == "Purge":
            self._purge(name, protect)
            log.info("purged deleted Azure Key Vault secret %s to reuse its name", name)
            return "purged"
        poller = self._call(
            "RecoverDeletedSecret",
            name,
            lambda: self._client.begin_recover_deleted_secret(name),
            protect,
        )
        # The service recovers asynchronously; the poller GETs the secret until it is back.
        self._call("RecoverDeletedSecret", name, lambda: poller.wait(self._recover_timeout), [])
        log.info("recovered deleted Azure Key Vault secret %s", self._resource(name))
        return "recovered"

    def _purge(self, name: str, protect: list[bytes]) -> None:
        try:
            self._call(
                "PurgeDeletedSecret",
                name,
                lambda: self._client.purge_deleted_secret(name),
                protect,
            )
        except ProviderError as err:
            if err.reason == "PermissionDenied":
                raise _final(
                    f"cannot purge deleted Azure Key Vault secret {name}: forbidden (purge "
                    "protection, or no purge permission); recover it instead",
                    "PermissionDenied",
                ) from None
            if err.reason != "NotFound":
                raise

    def _update(
        self,
        name: str,
        current: KeyVaultSecret,
        prop: str,
        payload: bytes,
        desired: _Desired,
        protect: list[bytes],
    ) -> PushResult:
        props = current.properties
        if (props.tags or {}).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            raise _final(f"secret {name} not managed by external-secrets", "NotManaged")
        value = current.value
        if prop:
            try:
                stored = json_get_property(value.encode() if value is not None else None, prop)
            except ValueError as exc:
                raise _final(
                    f"cannot read property {prop!r} of Azure Key Vault secret {name}: {exc}",
                    "InvalidProperty",
                ) from None
            same_value = stored is not None and stored == property_value_text(payload)
        else:
            same_value = value == payload.decode("utf-8")
        # An omitted contentType keeps the existing one (ESO); it cannot be cleared.
        content_type = desired.content_type or props.content_type or None
        same_meta = (
            (props.tags or {}) == desired.tags
            and (props.content_type or None) == content_type
            and _unix(props.expires_on) == _unix(desired.expires_on)
        )
        if same_value and same_meta:
            return PushResult(written=False, remote_version=props.version)
        if same_value and not (props.expires_on is not None and desired.expires_on is None):
            # Metadata only: update the current version in place, no new version. (The SDK
            # cannot clear an expiry with PATCH; that case falls through to a new version.)
            self._call(
                "UpdateSecret",
                name,
                lambda: self._client.update_secret_properties(
                    name,
                    props.version,
                    content_type=content_type,
                    tags=desired.tags,
                    expires_on=desired.expires_on,
                ),
                protect,
            )
            return PushResult(written=True, remote_version=props.version)
        text = self._merged(name, value, prop, payload) if prop else payload.decode("utf-8")
        return self._set(name, text, content_type, desired, protect)

    # ---- exists / delete / validate -------------------------------------------------------

    def exists(self, ref: RemoteRef) -> bool:
        """Whether ``ref.remote_key`` has a readable current version (ESO's SecretExists).

        Read-only, one GET. False when missing, soft-deleted or disabled (ESO errors on
        disabled). ``property`` and ownership are not considered, as in ESO. ``key/`` and
        ``cert/``: one GET of the key/certificate, False when missing or deleted.
        """
        objects, name = self._target(ref.remote_key, push=False)
        if objects is not None:
            return objects.exists(name)
        try:
            return self._current(name, []) is not None
        except ProviderError as err:
            if err.reason == "SecretDisabled":
                return False
            raise

    def disable_version(self, ref: RemoteRef, version: str) -> None:
        """Set ``enabled: false`` on one earlier secret version (grace period over).

        Missing: a no-op. ``key/`` and ``cert/`` objects are left as they are (their old
        versions are not used by name in practice).
        """
        objects, name = self._target(ref.remote_key, push=False)
        if objects is not None:
            return
        try:
            self._call(
                "UpdateSecret",
                name,
                lambda: self._client.update_secret_properties(name, version, enabled=False),
                [],
            )
        except ProviderError as err:
            if err.reason in ("SecretNotFound", "NotFound"):
                return
            raise
        log.info("disabled Azure Key Vault secret version %s/%s", self._resource(name), version)

    def delete(self, ref: RemoteRef) -> None:
        """Soft-delete the whole secret (every version) if it carries our ``managed-by`` tag.

        Missing, already deleted, or not ours: a no-op success. A disabled current version is
        left alone too (its tags are unreadable, so ownership is unproven; logged as a
        warning). ``property`` is ignored, as in ESO. With ``purge_on_delete`` the deleted
        secret is then purged (waiting for the service to finish deleting it first).
        ``key/`` and ``cert/`` follow the same rules on keys/certificates.
        """
        objects, name = self._target(ref.remote_key, push=False)
        if objects is not None:
            objects.delete(name)
            return
        try:
            current = self._current(name, [])
        except ProviderError as err:
            if err.reason != "SecretDisabled":
                raise
            log.warning(
                "not deleting Azure Key Vault secret %s: its current version is disabled, so "
                "ownership cannot be checked",
                self._resource(name),
            )
            return
        if current is None:
            return
        if (current.properties.tags or {}).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            log.info("not deleting Azure Key Vault secret %s: not managed by us", name)
            return
        try:
            poller = self._call(
                "DeleteSecret", name, lambda: self._client.begin_delete_secret(name), []
            )
        except ProviderError as err:
            if err.reason in ("NotFound", "DeletedButRecoverable"):
                return  # deleted by someone else meanwhile
            raise
        log.info("deleted Azure Key Vault secret %s", self._resource(name))
        if self._purge_on_delete and poller.result().recovery_id:
            # The service deletes asynchronously; purge only once it is in the deleted bin.
            self._call("DeleteSecret", name, lambda: poller.wait(self._recover_timeout), [])
            if not poller.done():
                raise ProviderError(
                    f"Azure Key Vault secret {name} was deleted but is not purgeable yet",
                    retryable=True,
                    reason="Conflict",
                    retry_after=2.0,
                )
            self._purge(name, [])
            log.info("purged Azure Key Vault secret %s", self._resource(name))

    def validate(self) -> None:
        """Check reachability, credentials and the ``secrets/get`` permission; write nothing.

        One GET of a probe name that is not expected to exist: 404 (or finding it) proves all
        three with a permission every push needs anyway.
        """
        try:
            self._current(VALIDATION_PROBE, [])
        except ProviderError as err:
            if err.reason != "SecretDisabled":
                raise

    def close(self) -> None:
        """Release the client if this provider owns it; shared (cached) clients stay open."""
        if self._owns_client:
            self._client.close()
