"""From SecretStore objects to providers.

Two steps, run in different activities: :func:`resolve_stores` turns a PushSecret's
``secretStoreRefs`` into :class:`StoreTarget` records (names, spec snapshot, no credentials) for
the plan; :class:`ProviderFactory` turns one target into a live provider inside a push, reading
the store again (so a changed store applies at once) and the credentials it references.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any, Literal

from kubernetes.client.exceptions import ApiException

from pushsecret.api.common import SecretKeySelector, ServiceAccountSelector
from pushsecret.api.pushsecret import PushSecret, PushSecretStoreRef
from pushsecret.api.secretstore import (
    AzureKVProvider,
    GCPSMProvider,
    GCPWorkloadIdentity,
    SecretStoreSpec,
)
from pushsecret.api.workflow import StoreTarget
from pushsecret.kube import Kube, Obj, api_message
from pushsecret.providers.base import Provider, ProviderError

StoreKind = Literal["SecretStore", "ClusterSecretStore"]


#: Store annotations pushsecret reads (beyond ESO's spec, so ESO's CRDs accept them):
#: ``<prefix>azure-soft-deleted``: Recover (default) | Purge | Fail, what a push does when the
#: name is deleted but recoverable in Key Vault; ``<prefix>azure-purge-on-delete``: "true" to
#: purge after deleting (needs the purge permission).
ANNOTATION_PREFIX = "pushsecret.externalsecrets.io/"

#: Entra authority per ESO environmentType.
AZURE_AUTHORITIES = {
    "PublicCloud": "https://login.microsoftonline.com",
    "USGovernmentCloud": "https://login.microsoftonline.us",
    "ChinaCloud": "https://login.chinacloudapi.cn",
    "GermanCloud": "https://login.microsoftonline.de",
}


class StoreRefError(Exception):
    """A secretStoreRefs entry that cannot be resolved at all (ESO fails the reconcile)."""


def _fingerprint(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _target(kind: StoreKind, obj: Obj, namespace: str) -> StoreTarget:
    spec: dict[str, Any] = obj.get("spec") or {}
    name = obj["metadata"]["name"]
    annotations = {
        k: v
        for k, v in (obj["metadata"].get("annotations") or {}).items()
        if k.startswith(ANNOTATION_PREFIX)
    }
    try:
        provider = SecretStoreSpec.model_validate(spec).provider.provider_type()
    except ValueError:
        provider = None
    return StoreTarget(
        key=f"{kind}/{name}",
        kind=kind,
        name=name,
        namespace=namespace if kind == "SecretStore" else None,
        provider=provider,
        fingerprint=_fingerprint({"spec": spec, "annotations": annotations}),
        spec_snapshot=spec,
        annotations=annotations,
        labels=dict(obj["metadata"].get("labels") or {}),
    )


def _managed(obj: Obj, controller_class: str) -> bool:
    """ESO skips stores that name another controller class, and stores being deleted."""
    ctrl = (obj.get("spec") or {}).get("controller") or ""
    deleting = bool((obj.get("metadata") or {}).get("deletionTimestamp"))
    return (not ctrl or ctrl == controller_class) and not deleting


def resolve_stores(kube: Kube, ps: PushSecret, controller_class: str = "") -> list[StoreTarget]:
    """The stores a PushSecret targets, in spec order, each once.

    A named store that cannot be read becomes a target with ``error`` set (ESO's message),
    so that the other stores still sync. Raises :class:`StoreRefError` for a reference with
    neither name nor labelSelector. Reads only store objects.
    """
    ns = ps.metadata.namespace or "default"
    out: dict[str, StoreTarget] = {}
    for ref in ps.spec.secret_store_refs:
        for target in _resolve_ref(kube, ref, ns, controller_class):
            out.setdefault(target.key, target)
    return list(out.values())


def _resolve_ref(
    kube: Kube, ref: PushSecretStoreRef, ns: str, controller_class: str
) -> list[StoreTarget]:
    kind: StoreKind = ref.kind
    if ref.label_selector is not None:
        objs = kube.list_stores(kind, ns, ref.label_selector.to_selector_string())
        return [_target(kind, o, ns) for o in objs if _managed(o, controller_class)]
    if not ref.name:
        raise StoreRefError("refStore Name must be provided")
    try:
        obj = kube.get_store(kind, ns, ref.name)
    except ApiException as err:
        return [
            StoreTarget(
                key=f"{kind}/{ref.name}",
                kind=kind,
                name=ref.name,
                namespace=ns if kind == "SecretStore" else None,
                error=f'could not get {kind} "{ref.name}", {api_message(err)}',
            )
        ]
    return [_target(kind, obj, ns)] if _managed(obj, controller_class) else []


class ProviderFactory:
    """Builds a provider for a store target, reading the store and its credential Secrets."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._lock = threading.Lock()
        self._gcp_creds: dict[tuple[Any, ...], Any] = {}

    def live(self, store: StoreTarget) -> StoreTarget:
        """``store`` re-read now (spec and our annotations), or as recorded when it is gone."""
        try:
            obj = self._kube.get_store(store.kind, store.namespace, store.name)
        except ApiException as err:
            if err.status == 404 and store.spec_snapshot:
                return store
            raise ProviderError(
                f'could not get {store.kind} "{store.name}", {api_message(err)}',
                retryable=err.status >= 500,
                reason="StoreNotFound" if err.status == 404 else "KubernetesError",
            ) from None
        return _target(store.kind, obj, store.namespace or "default")

    def for_store(self, store: StoreTarget, namespace: str) -> Provider:
        """A provider for ``store`` used from PushSecrets in ``namespace``.

        Raises ProviderError (non-retryable unless the Kubernetes API failed) when the store
        is missing, unsupported or misconfigured.
        """
        store = self.live(store)
        try:
            spec = SecretStoreSpec.model_validate(store.spec_snapshot)
        except ValueError:
            raise ProviderError(
                f"invalid {store.kind} {store.name}: spec does not parse",
                retryable=False,
                reason="InvalidStore",
            ) from None
        ptype = spec.provider.provider_type()
        if ptype == "gcpsm" and spec.provider.gcpsm is not None:
            return self._gcp(spec.provider.gcpsm, store, namespace)
        if ptype == "azurekv" and spec.provider.azurekv is not None:
            return self._azure(spec.provider.azurekv, store, namespace)
        raise ProviderError(
            f'provider "{ptype}" of {store.kind} {store.name} is not supported',
            retryable=False,
            reason="UnsupportedProvider",
        )

    def _credential(
        self,
        store: StoreTarget,
        namespace: str,
        name: str,
        key: str | None,
        ref_namespace: str | None,
    ) -> bytes:
        if store.kind == "SecretStore":
            if ref_namespace and ref_namespace != store.namespace:
                raise ProviderError(
                    "invalid auth secret data: namespace should either be empty or match the "
                    "namespace of the SecretStore for a namespaced SecretStore",
                    retryable=False,
                    reason="InvalidStore",
                )
            secret_ns = store.namespace or namespace
        else:
            secret_ns = ref_namespace or namespace
        value = self._kube.read_secret_key(secret_ns, name, key or "")
        if value is None:
            raise ProviderError(
                f'could not read credentials: Secret "{secret_ns}/{name}" key "{key}" not found',
                retryable=False,
                reason="CredentialsNotFound",
            )
        return value

    def _gcp(self, cfg: GCPSMProvider, store: StoreTarget, namespace: str) -> Provider:
        from pushsecret.providers.gcp import GCPConfig, GCPSecretManagerProvider

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
            raw = self._credential(store, namespace, sel.name, sel.key, sel.namespace)
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
            creds = self._gcp_workload_identity(wi, store, namespace, project)
        return GCPSecretManagerProvider.from_config(
            GCPConfig(
                project_id=project,
                location=cfg.location or "",
                credentials_info=info,
                credentials=creds,
            )
        )

    def _gcp_workload_identity(
        self, wi: GCPWorkloadIdentity, store: StoreTarget, namespace: str, project: str
    ) -> Any:
        """GKE Workload Identity as ESO does it: the referenced KSA's token, exchanged at STS,
        then (with the KSA annotation ``iam.gke.io/gcp-service-account``) impersonating that
        GSA. Credentials are kept per store and KSA binding and renew themselves; a new one is
        checked at once (ESO fetches a token when it builds the client), so a refused
        identity is a clear, permanent error instead of endless retries."""
        from pushsecret.providers.gcp_auth import (
            GCP_SA_ANNOTATION,
            refresh_credentials,
            workload_identity_credentials,
        )

        ref = wi.service_account_ref
        sa_ns, annotations = self._service_account(store, namespace, ref)
        gsa = annotations.get(GCP_SA_ANNOTATION)
        cluster = (
            wi.cluster_project_id or project,
            wi.cluster_location or "",
            wi.cluster_name or "",
        )
        key = (store.key, sa_ns, ref.name, tuple(ref.audiences), gsa, cluster)
        with self._lock:
            cached = self._gcp_creds.get(key)
        if cached is not None:
            return cached
        kube, name = self._kube, ref.name
        creds = workload_identity_credentials(
            project_number_or_id=cluster[0],
            cluster_location=cluster[1],
            cluster_name=cluster[2],
            gsa_email=gsa,
            audiences=list(ref.audiences),
            token_source=lambda auds: kube.service_account_token(sa_ns, name, auds),
        )
        refresh_credentials(creds)
        with self._lock:
            return self._gcp_creds.setdefault(key, creds)

    def _service_account(
        self, store: StoreTarget, namespace: str, ref: ServiceAccountSelector
    ) -> tuple[str, dict[str, str]]:
        """Where a store's serviceAccountRef lives, and its annotations (ESO's rules)."""
        if store.kind == "SecretStore" and ref.namespace and ref.namespace != store.namespace:
            raise ProviderError(
                "invalid service account reference: namespace should either be empty or match "
                "the namespace of the SecretStore for a namespaced SecretStore",
                retryable=False,
                reason="InvalidStore",
            )
        sa_ns = (store.namespace if store.kind == "SecretStore" else ref.namespace) or namespace
        try:
            sa = self._kube.get_service_account(sa_ns, ref.name)
        except ApiException as err:
            raise ProviderError(
                f'could not get ServiceAccount "{sa_ns}/{ref.name}": {api_message(err)}',
                retryable=err.status >= 500,
                reason="KubernetesError",
            ) from None
        if sa is None:
            raise ProviderError(
                f'ServiceAccount "{sa_ns}/{ref.name}" not found',
                retryable=False,
                reason="ServiceAccountNotFound",
            )
        annotations: dict[str, str] = (sa.get("metadata") or {}).get("annotations") or {}
        return sa_ns, annotations

    def _azure(self, cfg: AzureKVProvider, store: StoreTarget, namespace: str) -> Provider:
        """Key Vault: credentials per ESO's authType, TLS and authority from process config.

        ``AZURE_AUTHORITY_HOST`` (azure-identity's own variable) overrides the authority of
        the store's environmentType; ``PUSHSECRET_AZURE_CA_BUNDLE`` is the trust for the vault
        and token endpoints; ``PUSHSECRET_AZURE_VERIFY_CHALLENGE_RESOURCE=0`` allows a vault
        host outside the challenge resource's domain (private endpoints with custom names).
        """
        from pushsecret.providers.azure import AzureKeyVaultProvider
        from pushsecret.providers.azure_client import AzureConfig, build_credential

        auth = cfg.auth_secret_ref

        def read(sel: SecretKeySelector | None) -> str | None:
            if sel is None:
                return None
            return self._credential(store, namespace, sel.name, sel.key, sel.namespace).decode()

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
        if cfg.auth_type == "WorkloadIdentity" and cfg.service_account_ref is not None:
            client_id, tenant, assertion = self._azure_workload_identity(
                cfg, store, namespace, client_id, tenant
            )
        credential = build_credential(
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

    def _azure_workload_identity(
        self,
        cfg: AzureKVProvider,
        store: StoreTarget,
        namespace: str,
        client_id: str | None,
        tenant: str | None,
    ) -> tuple[str | None, str | None, Callable[[], str]]:
        """ESO's WorkloadIdentity with serviceAccountRef: the KSA's annotations name the app
        (``azure.workload.identity/client-id``, ``.../tenant-id``) unless the store does, and
        each token request mints a fresh KSA token for audience api://AzureADTokenExchange."""
        ref = cfg.service_account_ref
        assert ref is not None
        sa_ns, ann = self._service_account(store, namespace, ref)
        sa_client = ann.get("azure.workload.identity/client-id")
        if client_id and sa_client:
            raise ProviderError(
                "multiple clientID found. Check secretRef and serviceAccountRef",
                retryable=False,
                reason="InvalidStore",
            )
        audiences = ["api://AzureADTokenExchange", *(ref.audiences or [])]
        kube, name = self._kube, ref.name
        return (
            client_id or sa_client,
            tenant or ann.get("azure.workload.identity/tenant-id"),
            lambda: kube.service_account_token(sa_ns, name, audiences),
        )
