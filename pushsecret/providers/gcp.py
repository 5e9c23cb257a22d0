"""GCP Secret Manager as a PushSecret target, with ESO's push semantics.

This is ESO's ``providers/v1/gcp/secretmanager`` push side (``PushSecret``, ``DeleteSecret``,
``SecretExists``) on the official sync client ``google.cloud.secretmanager_v1``. RPCs:

* push, new secret: ``GetSecret`` (NOT_FOUND) -> ``CreateSecret`` (labels, annotations, topics,
  replication) -> ``AccessSecretVersion(latest)`` (NOT_FOUND) -> ``AddSecretVersion``.
* push, existing secret: ``GetSecret`` -> [``UpdateSecret`` when labels/annotations differ]
  -> ``AccessSecretVersion(latest)`` -> [``AddSecretVersion`` when the payload differs].
* exists: ``ListSecretVersions(filter=state:ENABLED, page_size=1)`` -> ``AccessSecretVersion``
  of the newest enabled version (skipped when there is none).
* delete: ``GetSecret`` -> [``DeleteSecret(etag)`` when it carries our label].
* validate: ``GetSecret`` on a probe name (NOT_FOUND means "reachable and allowed").

Deliberate differences from ESO (each one also noted where it happens):

1. Everything we can check locally is checked before the first RPC: the remote key format,
   ``metadata`` together with ``property`` (ESO checks after creating the secret), metadata
   parsing, the property path, empty and oversized payloads.
2. A new secret is created with its final labels and annotations in one ``CreateSecret``
   instead of ESO's ``CreateSecret`` + ``UpdateSecret``, so it is never visible half-labelled
   and a bad label creates nothing.
3. Property pushes refuse a remote secret without ``managed-by=external-secrets`` too (ESO's
   property builder skips that check and can silently take over someone else's secret).
4. Topics are create-time only, as in ESO, but we do not compare them afterwards, so a topic
   mismatch no longer triggers a useless ``UpdateSecret`` on every push.
5. Regional stores: ``cmekKeyName`` becomes ``Secret.customer_managed_encryption`` (ESO drops
   it silently); ``replicationLocation(s)`` is refused (regional secrets cannot replicate).
6. ``data_crc32c`` is sent with every new version, so the service rejects corrupted payloads.
7. ``exists()`` returns False (not an error) when no version is ENABLED, e.g. all disabled.
8. ``validate()`` makes one read call; ESO's GCP ``Validate`` makes none.
9. SDK retries are off (every call: ``retry=None``, ``timeout=30s``); our orchestrator
   retries using ``ProviderError.retryable`` / ``retry_after``.
10. Concurrent pushes to one secret within a process wait for each other (ESO fails fast with
    its lock-conflict error and requeues).
11. Non-UTF-8 bytes in a property value are compared as U+FFFD (how they are stored), so such
    pushes are idempotent; ESO writes a new version every time.

Error policy: every failure is a :class:`ProviderError` whose message we write (method,
resource name, gRPC code; the service's own text only for NOT_FOUND, INVALID_ARGUMENT,
FAILED_PRECONDITION and ALREADY_EXISTS, which name resources, and never when it contains a
value we were pushing). Retryable: UNAVAILABLE, RESOURCE_EXHAUSTED (reason ``RateLimited``,
``retry_after`` from ``RetryInfo``), DEADLINE_EXCEEDED, INTERNAL, ABORTED, UNKNOWN, CANCELLED,
ALREADY_EXISTS on create (a racing creator: the next attempt finds the secret), and
FAILED_PRECONDITION on ``UpdateSecret``/``DeleteSecret`` (our etag went stale because someone
changed the secret between our read and write: re-reading fixes it). Everything else is final.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import google_crc32c
from google.api_core import exceptions as gexc
from google.cloud import secretmanager_v1 as sm

from pushsecret.providers import gcp_errors
from pushsecret.providers.base import (
    ProviderError,
    PushEntry,
    PushResult,
    RemoteRef,
    SourceSecret,
)
from pushsecret.providers.gcp_client import (
    EMULATOR_HOST_ENV,
    GCPConfig,
    clear_client_cache,
    close_client,
    shared_client,
)
from pushsecret.providers.gcp_errors import VersionNotEnabled, version_number
from pushsecret.providers.gcp_metadata import GCPPushMetadata, MetadataError, parse_gcp_metadata
from pushsecret.providers.payload import (
    json_get_property,
    json_set_property,
    parse_property_path,
    property_value_text,
    whole_secret_json,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EMULATOR_HOST_ENV",
    "MANAGED_BY_KEY",
    "MANAGED_BY_VALUE",
    "GCPConfig",
    "GCPSecretManagerProvider",
    "clear_client_cache",
    "crc32c",
]

log = logging.getLogger(__name__)

MANAGED_BY_KEY = "managed-by"
MANAGED_BY_VALUE = "external-secrets"
DEFAULT_TIMEOUT = 30.0
MAX_PAYLOAD_BYTES = 65536
VALIDATION_PROBE_ID = "pushsecret-validation-probe"

_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

_T = TypeVar("_T")

# Striped locks: pushes to one secret in this process run one at a time (a read-modify-write
# of the latest version, which ESO guards with an in-process lock), without a lock per name.
_STRIPES = [threading.Lock() for _ in range(64)]


def _secret_lock(name: str) -> threading.Lock:
    return _STRIPES[int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % len(_STRIPES)]


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``: the unsigned int Secret Manager keeps in ``data_crc32c``."""
    return int(google_crc32c.value(data))


# --------------------------------------------------------------------------------------------
# The provider
# --------------------------------------------------------------------------------------------


class GCPSecretManagerProvider:
    """The :class:`~pushsecret.providers.base.Provider` for one GCP Secret Manager store.

    Thread-safe (the SDK client is). Build it with :meth:`from_config`, which shares clients
    process-wide; passing a client directly is for tests and for callers that manage channels
    themselves (``owns_client=True`` makes :meth:`close` close it).
    """

    def __init__(
        self,
        client: sm.SecretManagerServiceClient,
        *,
        project_id: str,
        location: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        owns_client: bool = False,
    ) -> None:
        if not project_id:
            raise ProviderError(
                "unable to find ProjectID in storeSpec", retryable=False, reason="InvalidConfig"
            )
        self._client = client
        self._project = project_id
        self._location = location
        self._timeout = timeout
        self._owns_client = owns_client

    @classmethod
    def from_config(
        cls, cfg: GCPConfig, *, timeout: float = DEFAULT_TIMEOUT
    ) -> GCPSecretManagerProvider:
        """A provider on the shared client for ``cfg``.

        Endpoint: ``cfg.endpoint``; else ``$SECRETMANAGER_EMULATOR_HOST`` (plaintext,
        anonymous); else the regional endpoint when ``cfg.location`` is set; else Google's.
        Raises a non-retryable ProviderError for unusable credentials or configuration;
        otherwise makes no call (credentials are used lazily, :meth:`validate` checks them).
        """
        if not cfg.project_id:
            raise ProviderError(
                "unable to find ProjectID in storeSpec", retryable=False, reason="InvalidConfig"
            )
        return cls(
            shared_client(cfg), project_id=cfg.project_id, location=cfg.location, timeout=timeout
        )

    # ---- naming ---------------------------------------------------------------------------

    @property
    def _parent(self) -> str:
        if self._location:
            return f"projects/{self._project}/locations/{self._location}"
        return f"projects/{self._project}"

    def _name(self, remote_key: str) -> str:
        """``projects/p[/locations/l]/secrets/<remoteKey>``; the key is checked locally so a
        ``/`` can never address a different resource."""
        if not (0 < len(remote_key) <= 255 and set(remote_key) <= _ID_CHARS):
            raise ProviderError(
                f"invalid GCP secret name {remote_key!r}: expected 1-255 characters of "
                "letters, digits, '_' and '-'",
                retryable=False,
                reason="InvalidRemoteKey",
            )
        return f"{self._parent}/secrets/{remote_key}"

    def _call(
        self,
        method: str,
        resource: str,
        fn: Callable[..., _T],
        request: dict[str, Any],
        *,
        protect: Iterable[bytes] = (),
        conflict_retryable: bool = False,
    ) -> _T:
        return gcp_errors.call(
            method,
            resource,
            fn,
            request,
            timeout=self._timeout,
            protect=protect,
            conflict_retryable=conflict_retryable,
        )

    # ---- push -----------------------------------------------------------------------------

    def push(self, secret: SourceSecret, entry: PushEntry) -> PushResult:
        """Write ``entry`` of ``secret`` as a new version of ``entry.remote.remote_key``.

        Idempotent: a second identical push makes no write and returns ``written=False`` with
        the current latest version. Creates the secret (labelled ``managed-by:
        external-secrets``) when missing; refuses one that lacks that label, for whole and
        property pushes alike (``NotManaged``, final). Reconciles labels/annotations from the
        metadata (``Replace``: exactly spec labels + ours, annotations exactly spec;
        ``Merge``: existing labels win over spec labels). Refuses a latest version that is
        DISABLED or DESTROYED (final). Retryable failures: see the module docstring.
        """
        remote = entry.remote
        name = self._name(remote.remote_key)
        if remote.property and entry.metadata is not None:
            # ESO only notices after CreateSecret has already run; we refuse before any call.
            raise ProviderError(
                "cannot specify metadata and property at the same time",
                retryable=False,
                reason="InvalidMetadata",
            )
        meta = self._metadata(entry)
        if remote.property:
            try:
                parse_property_path(remote.property)
            except ValueError as exc:
                raise ProviderError(
                    f"invalid property for GCP secret {remote.remote_key}: {exc}",
                    retryable=False,
                    reason="InvalidProperty",
                ) from None
        payload = self._payload(secret, entry)
        protect = [*secret.data.values(), payload]
        if not remote.property:
            self._check_size(name, payload)

        with _secret_lock(name):
            current = self._get_or_create(name, remote, meta, protect)
            latest_name, original = self._latest(name, protect)
            if remote.property:
                if original is not None:
                    stored = self._property_lookup(name, original, remote.property)
                    if stored is not None and stored == property_value_text(payload):
                        return PushResult(written=False, remote_version=latest_name)
                try:
                    data = json_set_property(original, remote.property, payload)
                except ValueError as exc:
                    raise ProviderError(
                        f"cannot set property {remote.property!r} in GCP secret {name}: {exc}",
                        retryable=False,
                        reason="InvalidProperty",
                    ) from None
                self._check_size(name, data)
            else:
                if original is not None and original == payload:
                    return PushResult(written=False, remote_version=latest_name)
                data = payload
            version = self._call(
                "AddSecretVersion",
                name,
                self._client.add_secret_version,
                {"parent": name, "payload": {"data": data, "data_crc32c": crc32c(data)}},
                protect=protect,
            )
        number = version_number(version.name)
        log.debug("added version %s to GCP secret %s (created=%s)", number, name, current)
        return PushResult(written=True, remote_version=number)

    def _metadata(self, entry: PushEntry) -> GCPPushMetadata | None:
        try:
            meta = parse_gcp_metadata(entry.metadata)
        except MetadataError as exc:
            raise ProviderError(str(exc), retryable=False, reason="InvalidMetadata") from None
        if meta is not None and self._location and meta.replica_locations():
            raise ProviderError(
                "replicationLocation(s) cannot be used with a regional GCP store "
                f"(location {self._location!r}): regional secrets live only in their location",
                retryable=False,
                reason="InvalidMetadata",
            )
        return meta

    @staticmethod
    def _payload(secret: SourceSecret, entry: PushEntry) -> bytes:
        if not entry.secret_key:
            return whole_secret_json(secret.data)
        if entry.secret_key not in secret.data:
            raise ProviderError(
                f"secret key {entry.secret_key} does not exist",
                retryable=False,
                reason="SecretKeyMissing",
            )
        value = secret.data[entry.secret_key]
        if not value and not entry.remote.property:
            # The service rejects empty payloads ("Field [payload] is required."); fail before
            # creating an empty secret that would then never get a version.
            raise ProviderError(
                f"secret key {entry.secret_key} is empty: GCP Secret Manager cannot store an "
                "empty value",
                retryable=False,
                reason="EmptyValue",
            )
        return value

    @staticmethod
    def _check_size(name: str, data: bytes) -> None:
        if len(data) > MAX_PAYLOAD_BYTES:
            raise ProviderError(
                f"payload for GCP secret {name} is {len(data)} bytes; Secret Manager stores "
                f"at most {MAX_PAYLOAD_BYTES}",
                retryable=False,
                reason="PayloadTooLarge",
            )

    def _get_or_create(
        self,
        name: str,
        remote: RemoteRef,
        meta: GCPPushMetadata | None,
        protect: list[bytes],
    ) -> bool:
        """Make sure ``name`` exists, is ours and carries the wanted labels/annotations.
        Returns True when it was created by this call."""
        try:
            existing = self._call(
                "GetSecret", name, self._client.get_secret, {"name": name}, protect=protect
            )
        except ProviderError as err:
            if err.reason != "NotFound":
                raise
            existing = None

        if existing is None:
            labels, annotations = self._desired(meta, remote.property, {}, {})
            self._call(
                "CreateSecret",
                name,
                self._client.create_secret,
                {
                    "parent": self._parent,
                    "secret_id": remote.remote_key,
                    "secret": self._new_secret(meta, labels, annotations),
                },
                protect=protect,
            )
            log.info("created GCP secret %s", name)
            return True

        current_labels = dict(existing.labels)
        if current_labels.get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            # ESO's whole-secret message. ESO's property path skips this check; we do not.
            raise ProviderError(
                f"secret {remote.remote_key} is not managed by external secrets",
                retryable=False,
                reason="NotManaged",
            )
        current_annotations = dict(existing.annotations)
        labels, annotations = self._desired(
            meta, remote.property, current_labels, current_annotations
        )
        if labels != current_labels or annotations != current_annotations:
            self._call(
                "UpdateSecret",
                name,
                self._client.update_secret,
                {
                    "secret": {
                        "name": name,
                        "etag": existing.etag,
                        "labels": labels,
                        "annotations": annotations,
                    },
                    "update_mask": {"paths": ["labels", "annotations"]},
                },
                protect=protect,
                conflict_retryable=True,
            )
        return False

    @staticmethod
    def _desired(
        meta: GCPPushMetadata | None,
        prop: str,
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> tuple[dict[str, str], dict[str, str]]:
        """ESO's builders. Whole: spec labels (+ existing ones on top with Merge) + ours, and
        exactly the spec annotations. Property: existing labels + ours, existing
        annotations."""
        if prop:
            return {**labels, MANAGED_BY_KEY: MANAGED_BY_VALUE}, dict(annotations)
        spec_labels = dict(meta.labels or {}) if meta is not None else {}
        if meta is not None and meta.merge_policy == "Merge":
            spec_labels.update(labels)  # existing values win, as in ESO
        spec_labels[MANAGED_BY_KEY] = MANAGED_BY_VALUE
        spec_annotations = dict(meta.annotations or {}) if meta is not None else {}
        return spec_labels, spec_annotations

    def _new_secret(
        self,
        meta: GCPPushMetadata | None,
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> dict[str, Any]:
        secret: dict[str, Any] = {"labels": labels, "annotations": annotations}
        if meta is not None and meta.topics:
            secret["topics"] = [{"name": topic} for topic in meta.topics]
        cmek = meta.cmek_key_name if meta is not None else ""
        if self._location:
            # Regional secrets take no replication; their CMEK is a top-level field.
            if cmek:
                secret["customer_managed_encryption"] = {"kms_key_name": cmek}
            return secret
        encryption = {"customer_managed_encryption": {"kms_key_name": cmek}} if cmek else {}
        locations = meta.replica_locations() if meta is not None else ()
        if locations:
            replicas = [{"location": loc, **encryption} for loc in locations]
            secret["replication"] = {"user_managed": {"replicas": replicas}}
        else:
            secret["replication"] = {"automatic": encryption}
        return secret

    def _latest(self, name: str, protect: list[bytes]) -> tuple[str | None, bytes | None]:
        """(version number, data) of ``latest``; (None, None) when there is no version."""
        try:
            response = self._call(
                "AccessSecretVersion",
                name,
                self._client.access_secret_version,
                {"name": f"{name}/versions/latest"},
                protect=protect,
            )
        except ProviderError as err:
            if err.reason == "NotFound":
                return None, None
            raise
        except VersionNotEnabled as state:
            raise ProviderError(
                f"cannot push to GCP secret {name}: its latest version "
                f"({state.version or 'latest'}) is {state.state}; "
                + (
                    "enable it or add a newer version"
                    if state.state == "DISABLED"
                    else "add a newer version or delete the secret"
                )
                + " outside PushSecret",
                retryable=False,
                reason="LatestVersionNotEnabled",
            ) from None
        return version_number(response.name), bytes(response.payload.data)

    @staticmethod
    def _property_lookup(name: str, document: bytes, prop: str) -> str | None:
        try:
            return json_get_property(document, prop)
        except ValueError as exc:
            raise ProviderError(
                f"cannot read property {prop!r} of GCP secret {name}: {exc}",
                retryable=False,
                reason="InvalidProperty",
            ) from None

    # ---- exists / delete / validate -------------------------------------------------------

    def exists(self, ref: RemoteRef) -> bool:
        """Whether ``ref.remote_key`` has an accessible ENABLED version (ESO's SecretExists).

        Read-only. False when the secret is missing, has no versions or none is ENABLED (ESO
        raises for the last case). ``property`` and ownership are not considered, as in ESO.
        """
        name = self._name(ref.remote_key)
        try:
            pager = self._call(
                "ListSecretVersions",
                name,
                self._client.list_secret_versions,
                # Versions come newest first, so one item is the newest ENABLED version.
                {"parent": name, "filter": "state:ENABLED", "page_size": 1},
            )
            newest = self._first(pager, name)
        except ProviderError as err:
            if err.reason == "NotFound":
                return False
            raise
        if newest is None:
            return False
        try:
            self._call(
                "AccessSecretVersion",
                newest.name,
                self._client.access_secret_version,
                {"name": newest.name},
            )
        except ProviderError as err:
            if err.reason == "NotFound":
                return False
            raise
        except VersionNotEnabled:
            return False  # disabled between our list and access
        return True

    def _first(self, pager: Any, name: str) -> Any:
        # Iterating a pager can fetch further pages, each an RPC that may fail on its own.
        try:
            return next(iter(pager), None)
        except gexc.GoogleAPICallError as exc:
            raise gcp_errors.error_from("ListSecretVersions", name, exc) from None

    def delete(self, ref: RemoteRef) -> None:
        """Delete the whole remote secret (every version, irreversibly) if it is ours.

        Missing, or not labelled ``managed-by: external-secrets``: a no-op success. ``property``
        is ignored, as in ESO: deleting a property entry deletes the entire secret. The delete
        carries the etag we read, so a concurrent change fails it (retryable) rather than
        deleting something we did not look at.
        """
        name = self._name(ref.remote_key)
        try:
            existing = self._call("GetSecret", name, self._client.get_secret, {"name": name})
        except ProviderError as err:
            if err.reason == "NotFound":
                return
            raise
        if dict(existing.labels).get(MANAGED_BY_KEY) != MANAGED_BY_VALUE:
            log.info("not deleting GCP secret %s: it is not managed by external-secrets", name)
            return
        try:
            self._call(
                "DeleteSecret",
                name,
                self._client.delete_secret,
                {"name": name, "etag": existing.etag},
                conflict_retryable=True,
            )
        except ProviderError as err:
            if err.reason != "NotFound":  # deleted by someone else meanwhile: done
                raise
        log.info("deleted GCP secret %s", name)

    def disable_version(self, ref: RemoteRef, version: str) -> None:
        """DisableSecretVersion ``version`` of ``ref`` (a rotation's grace period is over).

        Missing, already disabled or destroyed: a no-op (FAILED_PRECONDITION / NOT_FOUND).
        Transient errors are retryable, as everywhere.
        """
        name = f"{self._name(ref.remote_key)}/versions/{version}"
        try:
            self._call(
                "DisableSecretVersion", name, self._client.disable_secret_version, {"name": name}
            )
        except ProviderError as err:
            if err.reason in ("NotFound", "FailedPrecondition"):
                return
            raise
        log.info("disabled GCP secret version %s", name)

    def validate(self) -> None:
        """Check reachability, credentials and ``secretmanager.secrets.get`` permission.

        One ``GetSecret`` on a probe name that is not expected to exist: NOT_FOUND (or
        finding it) proves all three with a permission every push needs anyway. We prefer
        this to ``ListSecrets``, which needs ``secretmanager.secrets.list``, a permission
        pushing does not. Writes nothing.
        """
        name = f"{self._parent}/secrets/{VALIDATION_PROBE_ID}"
        try:
            self._call("GetSecret", name, self._client.get_secret, {"name": name})
        except ProviderError as err:
            if err.reason != "NotFound":
                raise

    def close(self) -> None:
        """Release the client if this provider owns it; shared (cached) clients stay open."""
        if self._owns_client:
            close_client(self._client)
