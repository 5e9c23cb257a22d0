"""Azure Key Vault stores: from an ``azurekv`` provider spec to a provider (credentials).

``AZURE_AUTHORITY_HOST`` (azure-identity's own variable) overrides the authority of the
store's environmentType; ``PUSHSECRET_AZURE_CA_BUNDLE`` is the trust for the vault and token
endpoints; ``PUSHSECRET_AZURE_VERIFY_CHALLENGE_RESOURCE=0`` allows a vault host outside the
challenge resource's domain. Store annotations choose the soft-delete behaviour.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pushsecret.api.common import SecretKeySelector
from pushsecret.api.secretstore import AzureKVProvider
from pushsecret.api.workflow import StoreTarget
from pushsecret.providers.azure import AzureKeyVaultProvider
from pushsecret.providers.azure_client import AzureConfig, build_credential
from pushsecret.providers.base import Provider, ProviderError

if TYPE_CHECKING:
    from pushsecret.stores import ProviderFactory

# Workload-identity credentials, per store and ServiceAccount binding (see build_azure).
_lock = threading.Lock()
_wi_credentials: dict[tuple[object, ...], Any] = {}

#: Store annotations read here (outside ESO's spec, so ESO's CRDs accept them).
ANNOTATION_PREFIX = "pushsecret.externalsecrets.io/"

#: Entra authority per ESO environmentType.
AZURE_AUTHORITIES = {
    "PublicCloud": "https://login.microsoftonline.com",
    "USGovernmentCloud": "https://login.microsoftonline.us",
    "ChinaCloud": "https://login.chinacloudapi.cn",
    "GermanCloud": "https://login.microsoftonline.de",
}


def build_azure(
    factory: ProviderFactory, cfg: AzureKVProvider, store: StoreTarget, namespace: str
) -> Provider:
    """Key Vault: credentials per ESO's authType, TLS and authority from process config.

    ``AZURE_AUTHORITY_HOST`` (azure-identity's own variable) overrides the authority of
    the store's environmentType; ``PUSHSECRET_AZURE_CA_BUNDLE`` is the trust for the vault
    and token endpoints; ``PUSHSECRET_AZURE_VERIFY_CHALLENGE_RESOURCE=0`` allows a vault
    host outside the challenge resource's domain (private endpoints with custom names).
    """
    auth = cfg.auth_secret_ref

    def read(sel: SecretKeySelector | None) -> str | None:
        if sel is None:
            return None
        return factory.credential(store, namespace, sel.name, sel.key, sel.namespace).decode()

    tenant = cfg.tenant_id or read(auth.tenant_id if auth else None)
    authority = os.environ.get("AZURE_AUTHORITY_HOST") or AZURE_AUTHORITIES.get(
        cfg.environment_type
    )
    if cfg.environment_type == "AzureStackCloud" and cfg.custom_cloud_config:
        authority = str(cfg.custom_cloud_config.get("activeDirectoryEndpoint") or authority)
    ca_bundle = os.environ.get("PUSHSECRET_AZURE_CA_BUNDLE") or None
    cert = read(auth.client_certificate if auth else None)
    client_id = read(auth.client_id if auth else None)
    assertion = None
    cached = None
    wi_key: tuple[object, ...] = ()
    if cfg.auth_type == "WorkloadIdentity" and cfg.service_account_ref is not None:
        client_id, tenant, assertion, binding = _workload_identity(
            factory, cfg, store, namespace, client_id, tenant
        )
        # One credential per store and binding: it caches its token and mints a KSA token
        # only when that expires (a new one per push would exchange tokens on every push).
        wi_key = (store.key, client_id, tenant, authority, ca_bundle, *binding)
        with _lock:
            cached = _wi_credentials.get(wi_key)
    credential = cached or build_credential(
        cfg.auth_type,
        tenant_id=tenant,
        client_id=client_id,
        client_secret=read(auth.client_secret if auth else None),
        client_certificate_pem=cert.encode() if cert is not None else None,
        authority_host=authority,
        ca_bundle=ca_bundle,
        identity_id=cfg.identity_id,
        assertion=assertion,
    )
    if wi_key:
        with _lock:
            credential = _wi_credentials.setdefault(wi_key, credential)
    policy = store.annotations.get(ANNOTATION_PREFIX + "azure-soft-deleted", "Recover")
    if policy not in ("Recover", "Purge", "Fail"):
        raise ProviderError(
            f"annotation {ANNOTATION_PREFIX}azure-soft-deleted must be Recover, Purge or "
            f"Fail, not {policy!r}",
            retryable=False,
            reason="InvalidStore",
        )
    return AzureKeyVaultProvider.from_config(
        AzureConfig(
            vault_url=cfg.vault_url,
            credential=credential,
            ca_bundle=ca_bundle,
            verify_challenge_resource=os.environ.get(
                "PUSHSECRET_AZURE_VERIFY_CHALLENGE_RESOURCE", "1"
            )
            not in ("0", "false"),
            on_soft_deleted=policy,  # type: ignore[arg-type]
            purge_on_delete=store.annotations.get(ANNOTATION_PREFIX + "azure-purge-on-delete")
            == "true",
        )
    )


def _workload_identity(
    factory: ProviderFactory,
    cfg: AzureKVProvider,
    store: StoreTarget,
    namespace: str,
    client_id: str | None,
    tenant: str | None,
) -> tuple[str | None, str | None, Callable[[], str], tuple[str, ...]]:
    """ESO's WorkloadIdentity with serviceAccountRef: the KSA's annotations name the app
    (``azure.workload.identity/client-id``, ``.../tenant-id``) unless the store does, and
    each token request mints a fresh KSA token for audience api://AzureADTokenExchange."""
    ref = cfg.service_account_ref
    assert ref is not None
    sa_ns, ann = factory.service_account(store, namespace, ref)
    sa_client = ann.get("azure.workload.identity/client-id")
    if client_id and sa_client:
        raise ProviderError(
            "multiple clientID found. Check secretRef and serviceAccountRef",
            retryable=False,
            reason="InvalidStore",
        )
    audiences = ["api://AzureADTokenExchange", *(ref.audiences or [])]
    kube, name = factory.kube, ref.name
    return (
        client_id or sa_client,
        tenant or ann.get("azure.workload.identity/tenant-id"),
        lambda: kube.service_account_token(sa_ns, name, audiences),
        (sa_ns, name, *audiences),
    )
