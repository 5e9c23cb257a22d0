"""The contract every secret store provider implements.

A provider is built for one store (one SecretStore / ClusterSecretStore, already resolved into
plain configuration) and is used from a worker thread: its methods block and may be called
concurrently from several threads, so implementations must be thread-safe.

Secret values are handed to a provider as bytes and never leave it: results carry only remote
version ids and flags, and every error message a provider raises is written by us and names
keys and stores, never values or response bodies that could echo them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RemoteRef:
    """Where an entry lives in a store: ``remoteKey`` and an optional ``property`` inside it."""

    remote_key: str
    property: str = ""


@dataclass(frozen=True)
class SourceSecret:
    """The (templated, key-converted) source Secret as the provider sees it.

    ``data`` holds the decoded values. It is never logged, never put in an exception and never
    returned to a workflow.
    """

    name: str
    namespace: str
    data: dict[str, bytes]
    type: str = "Opaque"
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushEntry:
    """One ``data[]`` entry of a PushSecret, as the provider needs it.

    ``secret_key == ""`` means a whole-secret push. ``metadata`` is the entry's raw
    ``metadata`` JSON (``PushSecretMetadata`` envelope) or ``None``.
    """

    remote: RemoteRef
    secret_key: str = ""
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class PushResult:
    """What a push did: ``written`` is False when the store already held the payload."""

    written: bool
    remote_version: str | None = None


class ProviderError(Exception):
    """A store operation failed. The message is safe to show in status, events and logs.

    ``retryable`` tells the caller whether trying again can help (UNAVAILABLE, 429, 5xx,
    timeouts) or not (validation, permission, a remote secret we do not manage).
    ``retry_after`` is the delay the service asked for, in seconds, when it said so.
    ``reason`` is a short machine-readable class such as ``NotManaged`` or ``Unavailable``.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        reason: str = "ProviderError",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.reason = reason
        self.retry_after = retry_after


class Provider(Protocol):
    """A secret store, as PushSecret uses it (ESO's push-side ``SecretsClient``).

    Every method is idempotent: calling it twice with the same input leaves the store as one
    call would. Every method raises :class:`ProviderError` (and nothing else) on failure.
    """

    def push(self, secret: SourceSecret, entry: PushEntry) -> PushResult:
        """Write ``entry`` of ``secret`` to the store, unless the store already holds it.

        Creates the remote secret when missing (marked as managed by us), refuses to write
        to a remote secret that exists but is not managed by us, and writes a new version only
        when the payload differs from the current one.
        """
        ...

    def exists(self, ref: RemoteRef) -> bool:
        """Whether the store holds a readable current value at ``ref`` (for IfNotExists)."""
        ...

    def delete(self, ref: RemoteRef) -> None:
        """Delete what we pushed at ``ref``. Missing or not-managed-by-us is a no-op success."""
        ...

    def disable_version(self, ref: RemoteRef, version: str) -> None:
        """Disable one earlier version at ``ref`` (the end of a rotation's grace period).

        Idempotent: a version that is missing, already disabled or destroyed is left as is.
        Stores without versions do nothing.
        """
        ...

    def validate(self) -> None:
        """Check the store configuration without writing anything; raise when unusable."""
        ...

    def close(self) -> None:
        """Release connections. The provider is not used afterwards."""
        ...
