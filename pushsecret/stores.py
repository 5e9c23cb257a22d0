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

from pushsecret.api.common import ServiceAccountSelector
from pushsecret.api.pushsecret import PushSecret, PushSecretStoreRef
from pushsecret.api.secretstore import (
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
        self.kube = self._kube = kube

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
        if store.kind == "ClusterSecretStore" and spec.conditions:
            self._check_conditions(store, spec, namespace)
        ptype = spec.provider.provider_type()
        if ptype == "gcpsm" and spec.provider.gcpsm is not None:
            from pushsecret.store_gcp import build_gcp

            return build_gcp(self, spec.provider.gcpsm, store, namespace)
        if ptype == "azurekv" and spec.provider.azurekv is not None:
            from pushsecret.store_azure import build_azure

            return build_azure(self, spec.provider.azurekv, store, namespace)
        raise ProviderError(
            f'provider "{ptype}" of {store.kind} {store.name} is not supported',
            retryable=False,
            reason="UnsupportedProvider",
        )

    def _check_conditions(self, store: StoreTarget, spec: SecretStoreSpec, namespace: str) -> None:
        """ESO's ClusterSecretStore ``conditions``: the PushSecret's namespace must match one."""
        try:
            labels = self._kube.namespace_labels(namespace)
        except ApiException as err:
            raise ProviderError(
                f'failed to get a namespace "{namespace}": {api_message(err)}',
                retryable=err.status >= 500,
                reason="KubernetesError",
            ) from None
        if not spec.allows_namespace(namespace, labels):
            raise ProviderError(
                f'using cluster store "{store.name}" is not allowed from namespace '
                f'"{namespace}": denied by spec.condition',
                retryable=False,
                reason="StoreNotAllowed",
            )

    def credential(
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

    def service_account(
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
