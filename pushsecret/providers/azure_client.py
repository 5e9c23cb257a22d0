"""Configuration, credentials and process-wide clients for the Azure Key Vault provider.

:func:`build_credential` maps ESO's ``authType`` values to real ``azure-identity`` credentials;
:func:`shared_client` gives one ``SecretClient`` per (vault URL, credential, CA bundle,
challenge verification), because a client holds a connection pool and a token cache that are
thread-safe and worth sharing. Credentials built by :func:`build_credential` are cached too,
per (auth type, tenant, client id, SHA-256 of the secret/certificate, authority, CA, identity,
token file), so equal store configurations share one credential and therefore one client.
Cached objects live until :func:`clear_client_cache`; a rotated secret adds one entry.

SDK retries are off (``retry_total=0``) for vault calls and for the token requests of the
service-principal and workload-identity credentials: the orchestrator retries with
``ProviderError.retryable``/``retry_after`` instead of the SDK sleeping up to ~10 times inside
an activity. The Key Vault challenge (one unauthenticated request per host, then a token) is
not a retry and still happens. Managed identity keeps azure-identity's retry schedule.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

from azure.core.credentials import TokenCredential
from azure.identity import (
    CertificateCredential,
    ClientAssertionCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.keyvault.secrets import SecretClient

from pushsecret.providers.base import ProviderError

__all__ = [
    "CONNECTION_TIMEOUT",
    "KNOWN_AUTHORITY_HOSTS",
    "READ_TIMEOUT",
    "AuthType",
    "AzureConfig",
    "build_credential",
    "clear_client_cache",
    "new_client",
    "shared_client",
]

AuthType = Literal["ServicePrincipal", "ManagedIdentity", "WorkloadIdentity"]
SoftDeletePolicy = Literal["Recover", "Purge", "Fail"]

CONNECTION_TIMEOUT = 10.0
READ_TIMEOUT = 30.0

# Entra authority hosts MSAL knows; any other host (Azure Stack, an emulator) must be used
# with instance discovery off, or MSAL asks login.microsoftonline.com to validate it.
KNOWN_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
        "login.microsoftonline.de",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    }
)


@dataclass(frozen=True)
class AzureConfig:
    """Everything the provider needs, already resolved from the SecretStore.

    ``credential`` is an azure-core ``TokenCredential`` (see :func:`build_credential`).
    ``ca_bundle`` is a PEM file used *instead of* the default trust store for the vault's TLS
    (``connection_verify``); concatenate it with the system bundle to add to it.
    ``verify_challenge_resource`` is False only where the vault host cannot be under the
    challenge resource's domain (emulators). ``on_soft_deleted`` decides what a push does
    when the name is deleted but recoverable; ``purge_on_delete`` makes :meth:`delete` purge
    after the soft delete (needs the purge permission; fails under purge protection).
    """

    vault_url: str
    credential: Any
    ca_bundle: str | None = None
    verify_challenge_resource: bool = True
    on_soft_deleted: SoftDeletePolicy = "Recover"
    purge_on_delete: bool = False

    def __repr__(self) -> str:  # the credential may hold a secret: never print it
        return (
            f"AzureConfig(vault_url={self.vault_url!r}, "
            f"credential=<{type(self.credential).__name__}>, ca_bundle={self.ca_bundle!r}, "
            f"verify_challenge_resource={self.verify_challenge_resource}, "
            f"on_soft_deleted={self.on_soft_deleted!r}, purge_on_delete={self.purge_on_delete})"
        )


def _invalid(message: str) -> ProviderError:
    return ProviderError(message, retryable=False, reason="InvalidCredentials")


def _digest(value: str | bytes | None) -> str:
    if value is None:
        return ""
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


_credentials: dict[tuple[Any, ...], TokenCredential] = {}
_clients: dict[tuple[str, int, str | None, bool], SecretClient] = {}
_lock = threading.Lock()


def build_credential(
    auth_type: AuthType,
    *,
    tenant_id: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    client_certificate_pem: bytes | None = None,
    authority_host: str | None = None,
    ca_bundle: str | None = None,
    identity_id: str | None = None,
    token_file: str | None = None,
    assertion: Callable[[], str] | None = None,
) -> TokenCredential:
    """A real azure-identity credential for ESO's ``authType`` (cached, see module doc).

    * ``ServicePrincipal``: ``tenant_id``, ``client_id`` and exactly one of ``client_secret``
      (``ClientSecretCredential``) or ``client_certificate_pem`` (PEM certificate + private
      key, ``CertificateCredential``).
    * ``ManagedIdentity``: ``ManagedIdentityCredential``, user-assigned when ``identity_id``
      (a client id) is given. Which endpoint it uses comes from the environment (IMDS, or
      ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` on App Service).
    * ``WorkloadIdentity``: ``ClientAssertionCredential`` over ``assertion`` (a callable that
      returns a fresh service-account token, as ESO mints for ``serviceAccountRef``), or else
      ``WorkloadIdentityCredential`` reading ``token_file``; missing values come from
      ``AZURE_TENANT_ID``/``AZURE_CLIENT_ID``/``AZURE_FEDERATED_TOKEN_FILE``.

    ``authority_host`` is the Entra authority (default: public cloud); instance discovery is
    turned off for hosts MSAL does not know. ``ca_bundle`` is the trust for token requests.
    Makes no network call. Raises a non-retryable ProviderError (``InvalidCredentials``) with
    ESO's messages for missing or conflicting settings; never quotes secret material.
    """
    key = (
        auth_type,
        tenant_id,
        client_id,
        _digest(client_secret),
        _digest(client_certificate_pem),
        authority_host,
        ca_bundle,
        identity_id,
        token_file,
        id(assertion) if assertion is not None else None,
    )
    with _lock:
        cached = _credentials.get(key)
        if cached is not None:
            return cached
        credential = _new_credential(
            auth_type,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            client_certificate_pem=client_certificate_pem,
            authority_host=authority_host,
            ca_bundle=ca_bundle,
            identity_id=identity_id,
            token_file=token_file,
            assertion=assertion,
        )
        if assertion is None:  # a callable's id can be reused once it is gone: do not cache
            _credentials[key] = credential
        return credential


def _authority_kwargs(authority_host: str | None, ca_bundle: str | None) -> dict[str, Any]:
    # Token requests of these credentials are not retried inside the SDK either: a failure
    # surfaces at once as a retryable ProviderError (see azure_errors) and the orchestrator
    # backs off. (Managed identity keeps azure-identity's IMDS retry schedule, which the IMDS
    # guidance asks for while the endpoint warms up.)
    kwargs: dict[str, Any] = {"retry_total": 0}
    if authority_host:
        kwargs["authority"] = authority_host
        host = urlparse(authority_host if "//" in authority_host else f"//{authority_host}")
        if (host.hostname or "").lower() not in KNOWN_AUTHORITY_HOSTS:
            kwargs["disable_instance_discovery"] = True
    if ca_bundle:
        kwargs["connection_verify"] = ca_bundle
    return kwargs


def _new_credential(
    auth_type: str,
    *,
    tenant_id: str | None,
    client_id: str | None,
    client_secret: str | None,
    client_certificate_pem: bytes | None,
    authority_host: str | None,
    ca_bundle: str | None,
    identity_id: str | None,
    token_file: str | None,
    assertion: Callable[[], str] | None,
) -> TokenCredential:
    common = _authority_kwargs(authority_host, ca_bundle)
    if auth_type == "ServicePrincipal":
        if not tenant_id:
            raise _invalid("missing tenantID in store config")
        if client_secret and client_certificate_pem:
            raise _invalid("both clientSecret and clientCredentials set")
        if not client_id or not (client_secret or client_certificate_pem):
            raise _invalid("missing clientID/clientSecret in store config")
        if client_secret:
            return ClientSecretCredential(tenant_id, client_id, client_secret, **common)
        try:
            return CertificateCredential(
                tenant_id, client_id, certificate_data=client_certificate_pem, **common
            )
        except (ValueError, TypeError) as exc:
            raise _invalid(
                f"failed to load the client certificate: expected a PEM certificate and its "
                f"unencrypted private key ({type(exc).__name__})"
            ) from None
    if auth_type == "ManagedIdentity":
        mi_kwargs: dict[str, Any] = {"connection_verify": ca_bundle} if ca_bundle else {}
        return ManagedIdentityCredential(client_id=identity_id or None, **mi_kwargs)
    if auth_type == "WorkloadIdentity":
        if assertion is not None:
            if not tenant_id or not client_id:
                raise _invalid("missing tenantID/clientID for workload identity")
            return ClientAssertionCredential(tenant_id, client_id, assertion, **common)
        try:
            return WorkloadIdentityCredential(
                tenant_id=tenant_id, client_id=client_id, token_file_path=token_file, **common
            )
        except ValueError:
            raise _invalid(
                "missing environment variables. AZURE_CLIENT_ID, AZURE_TENANT_ID and "
                "AZURE_FEDERATED_TOKEN_FILE must be set"
            ) from None
    raise _invalid("cannot initialize Azure Client: no valid authType was specified")


def new_client(cfg: AzureConfig) -> SecretClient:
    """A new ``SecretClient`` for ``cfg`` with SDK retries off and bounded timeouts."""
    parsed = urlparse(cfg.vault_url)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ProviderError(
            f"invalid vaultUrl {cfg.vault_url!r}: expected https://<vault>.vault.azure.net",
            retryable=False,
            reason="InvalidConfig",
        )
    return SecretClient(
        cfg.vault_url,
        cfg.credential,
        verify_challenge_resource=cfg.verify_challenge_resource,
        connection_verify=cfg.ca_bundle or True,
        retry_total=0,
        connection_timeout=CONNECTION_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


def shared_client(cfg: AzureConfig) -> SecretClient:
    """The cached client for ``cfg``'s vault, credential object, CA bundle and challenge
    verification, created on first use. Makes no call. The cache keeps the credential
    alive, so its ``id`` cannot be reused by another credential while cached."""
    key = (
        cfg.vault_url.rstrip("/"),
        id(cfg.credential),
        cfg.ca_bundle,
        cfg.verify_challenge_resource,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = new_client(cfg)
            _clients[key] = client
        return client


def clear_client_cache() -> None:
    """Close and forget every cached client and credential (tests, shutdown). Calls in
    flight on them fail; do not call this while providers are in use."""
    with _lock:
        clients = list(_clients.values())
        credentials = list(_credentials.values())
        _clients.clear()
        _credentials.clear()
    for client in clients:
        client.close()
    for credential in credentials:
        close = getattr(credential, "close", None)
        if callable(close):
            close()
