"""From SecretStore objects to providers.

Two steps, run in different activities: :func:`resolve_stores` turns a PushSecret's
``secretStoreRefs`` into :class:`StoreTarget` records (names, spec snapshot, no credentials) for
the plan; :class:`ProviderFactory` turns one target into a live provider inside a push, reading
the store again (so a changed store applies at once) and the credentials it references.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from kubernetes.client.exceptions import ApiException

from pushsecret.api.pushsecret import PushSecret, PushSecretStoreRef
from pushsecret.api.secretstore import GCPSMProvider, SecretStoreSpec
from pushsecret.api.workflow import StoreTarget
from pushsecret.kube import Kube, Obj, api_message
from pushsecret.providers.base import Provider, ProviderError

StoreKind = Literal["SecretStore", "ClusterSecretStore"]


class StoreRefError(Exception):
    """A secretStoreRefs entry that cannot be resolved at all (ESO fails the reconcile)."""


def _fingerprint(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _target(kind: StoreKind, obj: Obj, namespace: str) -> StoreTarget:
    spec: dict[str, Any] = obj.get("spec") or {}
    name = obj["metadata"]["name"]
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
        fingerprint=_fingerprint(spec),
        spec_snapshot=spec,
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

    def spec_for(self, store: StoreTarget) -> dict[str, Any]:
        """The store's live spec, or the recorded snapshot when the store is gone."""
        try:
            obj = self._kube.get_store(store.kind, store.namespace, store.name)
        except ApiException as err:
            if err.status == 404 and store.spec_snapshot:
                return dict(store.spec_snapshot)
            raise ProviderError(
                f'could not get {store.kind} "{store.name}", {api_message(err)}',
                retryable=err.status >= 500,
                reason="StoreNotFound" if err.status == 404 else "KubernetesError",
            ) from None
        spec: dict[str, Any] = obj.get("spec") or {}
        return spec

    def for_store(self, store: StoreTarget, namespace: str) -> Provider:
        """A provider for ``store`` used from PushSecrets in ``namespace``.

        Raises ProviderError (non-retryable unless the Kubernetes API failed) when the store
        is missing, unsupported or misconfigured.
        """
        try:
            spec = SecretStoreSpec.model_validate(self.spec_for(store))
        except ValueError:
            raise ProviderError(
                f"invalid {store.kind} {store.name}: spec does not parse",
                retryable=False,
                reason="InvalidStore",
            ) from None
        ptype = spec.provider.provider_type()
        if ptype == "gcpsm" and spec.provider.gcpsm is not None:
            return self._gcp(spec.provider.gcpsm, store, namespace)
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
        return GCPSecretManagerProvider.from_config(
            GCPConfig(project_id=project, location=cfg.location or "", credentials_info=info)
        )
