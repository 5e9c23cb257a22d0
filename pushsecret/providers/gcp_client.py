"""Configuration and process-wide clients for the GCP Secret Manager provider.

Channels are expensive (TLS, HTTP/2, token refresh) and thread-safe, so all providers of a
worker that talk to the same endpoint with the same identity share one
``SecretManagerServiceClient``, cached per (endpoint, plaintext?, credential identity). The
credential identity is a SHA-256 of the canonical credentials JSON, never the JSON itself, or,
for a ready-made credentials object (workload identity), that object's identity.
Cached clients live until :func:`clear_client_cache`; a key rotation adds one client.

Endpoint resolution follows Google's emulator convention: with no explicit endpoint and
``SECRETMANAGER_EMULATOR_HOST`` set, connect there over plaintext with no credentials.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from typing import Any

import google.auth
import grpc
from google.api_core.client_options import ClientOptions
from google.auth import credentials as ga_credentials
from google.auth import exceptions as auth_exceptions
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from google.oauth2 import service_account

from pushsecret.providers.base import ProviderError

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "EMULATOR_HOST_ENV",
    "GCPConfig",
    "clear_client_cache",
    "close_client",
    "resolve_endpoint",
    "shared_client",
]

EMULATOR_HOST_ENV = "SECRETMANAGER_EMULATOR_HOST"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass(frozen=True)
class GCPConfig:
    """Everything the provider needs, already resolved from the SecretStore.

    ``credentials_info`` is a service-account key JSON (what ``auth.secretRef`` points at);
    ``credentials`` is a ready google-auth ``Credentials`` object (e.g. from
    :func:`pushsecret.providers.gcp_auth.workload_identity_credentials`), used as is; at most
    one of the two may be set. Neither means Application Default Credentials.
    ``endpoint`` (``host:port``) overrides the Google or regional endpoint; ``insecure`` makes
    it a plaintext channel without credentials (emulators).
    """

    project_id: str
    location: str = ""
    credentials_info: dict[str, Any] | None = None
    endpoint: str | None = None
    insecure: bool = False
    # Compared by identity (the default for credentials objects), which is also the cache key.
    credentials: Any | None = None

    def __repr__(self) -> str:  # keep key material out of logs and tracebacks
        creds = "<set>" if self.credentials_info is not None else None
        return (
            f"GCPConfig(project_id={self.project_id!r}, location={self.location!r}, "
            f"credentials_info={creds}, endpoint={self.endpoint!r}, insecure={self.insecure}, "
            f"credentials={type(self.credentials).__name__ if self.credentials else None})"
        )


_clients: dict[tuple[str, bool, str], sm.SecretManagerServiceClient] = {}
_clients_lock = threading.Lock()


def _credentials_identity(info: dict[str, Any] | None, insecure: bool, creds: Any = None) -> str:
    if insecure:
        return "anonymous"
    if creds is not None:
        # The cached client references the object, so its id cannot be reused while cached.
        return f"object:{id(creds)}"
    if info is None:
        return "adc"
    canonical = json.dumps(info, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _load_credentials(info: dict[str, Any] | None) -> ga_credentials.Credentials:
    """Credentials with the cloud-platform scope; non-retryable ProviderError when unusable.

    ``info`` must be a service-account key (``"type": "service_account"``), the only kind a
    SecretStore's ``auth.secretRef`` holds. Other credential types are refused rather than
    loaded generically: an ``external_account`` config from a Secret could point token
    requests at arbitrary URLs or run executables (google-auth's own warning about
    ``load_credentials_from_dict``). Messages are ESO's, followed by the exception type only:
    google-auth's text can quote the key file.
    """
    if info is None:
        load_default: Any = google.auth.default  # untyped in google-auth
        try:
            creds, _ = load_default(scopes=[CLOUD_PLATFORM_SCOPE])
        except (auth_exceptions.GoogleAuthError, ValueError) as exc:
            raise ProviderError(
                f"unable to get credentials: no usable Application Default Credentials "
                f"({type(exc).__name__})",
                retryable=False,
                reason="InvalidCredentials",
            ) from None
    else:
        if info.get("type") != "service_account":
            raise ProviderError(
                "failed to process the provided JSON credentials: expected a service account "
                'key ("type": "service_account")',
                retryable=False,
                reason="InvalidCredentials",
            )
        from_info: Any = service_account.Credentials.from_service_account_info
        try:
            creds = from_info(info, scopes=[CLOUD_PLATFORM_SCOPE])
        except (auth_exceptions.GoogleAuthError, ValueError, KeyError, TypeError) as exc:
            raise ProviderError(
                f"failed to process the provided JSON credentials ({type(exc).__name__})",
                retryable=False,
                reason="InvalidCredentials",
            ) from None
    if not isinstance(creds, ga_credentials.Credentials):  # pragma: no cover - defensive
        raise ProviderError(
            "unable to get credentials", retryable=False, reason="InvalidCredentials"
        )
    return creds


def _new_client(
    endpoint: str, insecure: bool, info: dict[str, Any] | None, creds: Any = None
) -> sm.SecretManagerServiceClient:
    if insecure:
        # ClientOptions(api_endpoint=...) + AnonymousCredentials would still dial TLS, so a
        # plaintext channel is injected through the transport instead.
        transport = SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(endpoint))
        return sm.SecretManagerServiceClient(transport=transport)
    return sm.SecretManagerServiceClient(
        credentials=creds if creds is not None else _load_credentials(info),
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def resolve_endpoint(cfg: GCPConfig) -> tuple[str, bool]:
    """``(host[:port], plaintext?)``: ``cfg.endpoint``; else ``$SECRETMANAGER_EMULATOR_HOST``
    (plaintext); else ``secretmanager.{location}.rep.googleapis.com`` for regional stores;
    else ``secretmanager.googleapis.com``."""
    if cfg.endpoint:
        return cfg.endpoint, cfg.insecure
    emulator = os.environ.get(EMULATOR_HOST_ENV, "").strip()
    if emulator:
        return emulator, True
    if cfg.insecure:
        raise ProviderError(
            "an insecure GCP Secret Manager connection needs an explicit endpoint",
            retryable=False,
            reason="InvalidConfig",
        )
    if cfg.location:
        return f"secretmanager.{cfg.location}.rep.googleapis.com", False
    return "secretmanager.googleapis.com", False


def shared_client(cfg: GCPConfig) -> sm.SecretManagerServiceClient:
    """The cached client for ``cfg``'s endpoint and identity, created on first use.

    Makes no RPC. Raises a non-retryable ProviderError when the credentials cannot be loaded,
    or when both ``credentials_info`` and ``credentials`` are set.
    """
    if cfg.credentials is not None:
        if cfg.credentials_info is not None:
            raise ProviderError(
                "unable to get credentials: both a JSON key and a credentials object are set",
                retryable=False,
                reason="InvalidConfig",
            )
        if not isinstance(cfg.credentials, ga_credentials.Credentials):
            raise ProviderError(
                "unable to get credentials: not a google-auth Credentials object",
                retryable=False,
                reason="InvalidConfig",
            )
    endpoint, insecure = resolve_endpoint(cfg)
    identity = _credentials_identity(cfg.credentials_info, insecure, cfg.credentials)
    key = (endpoint, insecure, identity)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _new_client(endpoint, insecure, cfg.credentials_info, cfg.credentials)
            _clients[key] = client
        return client


def close_client(client: sm.SecretManagerServiceClient) -> None:
    """Close ``client``'s channel (the SDK's ``close`` is untyped)."""
    transport: Any = client.transport
    transport.close()


def clear_client_cache() -> None:
    """Close and forget every cached client (tests, process shutdown). Calls in flight on
    those clients fail; do not call this while providers are in use."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        close_client(client)
