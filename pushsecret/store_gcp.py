"""GCP Secret Manager stores: from a ``gcpsm`` provider spec to a provider (credentials).

Credentials follow ESO's order: a service-account key Secret (``auth.secretRef``), GKE
Workload Identity (``auth.workloadIdentity``), then Application Default Credentials.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from pushsecret.api.secretstore import GCPSMProvider, GCPWorkloadIdentity
from pushsecret.api.workflow import StoreTarget
from pushsecret.providers.base import Provider, ProviderError
from pushsecret.providers.gcp import GCPConfig, GCPSecretManagerProvider
from pushsecret.providers.gcp_auth import (
    GCP_SA_ANNOTATION,
    refresh_credentials,
    workload_identity_credentials,
)

if TYPE_CHECKING:
    from pushsecret.stores import ProviderFactory

# Workload-identity credentials renew themselves: keep one per store and KSA binding.
_lock = threading.Lock()
_creds: dict[tuple[Any, ...], Any] = {}


def build_gcp(
    factory: ProviderFactory, cfg: GCPSMProvider, store: StoreTarget, namespace: str
) -> Provider:
    """GCP Secret Manager for ``store``: project, location and credentials (ESO's order:
    secretRef service-account key, then workloadIdentity, then ADC)."""
    project = cfg.project_id
    wi = cfg.auth.workload_identity if cfg.auth else None
    if not project and wi is not None:
        project = wi.cluster_project_id
    if not project:
        raise ProviderError(
            "unable to find ProjectID in storeSpec", retryable=False, reason="InvalidStore"
        )
    info: dict[str, Any] | None = None
    sref = cfg.auth.secret_ref if cfg.auth else None
    if sref is not None and sref.secret_access_key_secret_ref is not None:
        sel = sref.secret_access_key_secret_ref
        raw = factory.credential(store, namespace, sel.name, sel.key, sel.namespace)
        try:
            info = json.loads(raw)
        except ValueError:
            raise ProviderError(
                "failed to process the provided JSON credentials",
                retryable=False,
                reason="InvalidCredentials",
            ) from None
    creds = None
    if info is None and wi is not None:  # ESO's order: secretRef, then workloadIdentity
        creds = _workload_identity(factory, wi, store, namespace, project)
    return GCPSecretManagerProvider.from_config(
        GCPConfig(
            project_id=project,
            location=cfg.location or "",
            credentials_info=info,
            credentials=creds,
        )
    )


def _workload_identity(
    factory: ProviderFactory,
    wi: GCPWorkloadIdentity,
    store: StoreTarget,
    namespace: str,
    project: str,
) -> Any:
    """GKE Workload Identity as ESO does it: the referenced KSA's token, exchanged at STS,
    then (with the KSA annotation ``iam.gke.io/gcp-service-account``) impersonating that
    GSA. Credentials are kept per store and KSA binding and renew themselves; a new one is
    checked at once (ESO fetches a token when it builds the client), so a refused
    identity is a clear, permanent error instead of endless retries."""
    ref = wi.service_account_ref
    sa_ns, annotations = factory.service_account(store, namespace, ref)
    gsa = annotations.get(GCP_SA_ANNOTATION)
    cluster = (
        wi.cluster_project_id or project,
        wi.cluster_location or "",
        wi.cluster_name or "",
    )
    key = (store.key, sa_ns, ref.name, tuple(ref.audiences), gsa, cluster)
    with _lock:
        cached = _creds.get(key)
    if cached is not None:
        return cached
    kube, name = factory.kube, ref.name
    creds = workload_identity_credentials(
        project_number_or_id=cluster[0],
        cluster_location=cluster[1],
        cluster_name=cluster[2],
        gsa_email=gsa,
        audiences=list(ref.audiences),
        token_source=lambda auds: kube.service_account_token(sa_ns, name, auds),
    )
    refresh_credentials(creds)
    with _lock:
        return _creds.setdefault(key, creds)
