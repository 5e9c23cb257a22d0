"""The plan activity: what a reconcile must do, from the PushSecret and its stores."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException
from temporalio import activity

from activities import Deps
from activities.errors import from_kube
from pushsecret.api.common import ObjectMeta
from pushsecret.api.duration import parse_go_duration
from pushsecret.api.pushsecret import FINALIZER
from pushsecret.api.validation import PushSecretInvalid, parse_pushsecret, validate_pushsecret
from pushsecret.api.workflow import ACT_PLAN, MSG_NO_SOURCE, Plan, PushSecretRef
from pushsecret.entries import validate_data_to_matches_stores, validate_data_to_store_refs
from pushsecret.status import selected_sources_version, synced_resource_version
from pushsecret.stores import StoreRefError, resolve_stores

#: PushSecret annotation (outside ESO's spec): how long a rotation keeps the previous
#: generated version enabled before disabling it, as a Go duration. Unset: never disabled.
GRACE_ANNOTATION = "pushsecret.externalsecrets.io/rotation-grace-period"


class PlanActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_PLAN)
    def plan(self, ref: PushSecretRef) -> Plan:
        """Read the PushSecret, its source Secret's version and its stores; return a Plan.

        Reads only: the PushSecret, the source Secret's metadata, SecretStores /
        ClusterSecretStores. Writes nothing, so it is trivially idempotent. A PushSecret that
        is gone, or was re-created under a new uid, gives ``found=False``. Spec, source and
        store problems are returned in ``Plan.error`` / ``StoreTarget.error`` (the workflow
        reports them); only Kubernetes API failures raise, retryable for 5xx/429.
        """
        kube = self._d.kube
        try:
            obj = kube.get_pushsecret(ref.namespace, ref.name)
        except ApiException as err:
            raise from_kube(err, f"could not get PushSecret {ref}") from None
        if obj is None:
            return Plan(found=False)
        meta = ObjectMeta.model_validate(obj.get("metadata") or {})
        if meta.uid != ref.uid:
            return Plan(found=False)
        base = Plan(
            found=True,
            generation=meta.generation or 0,
            deleting=meta.deletion_timestamp is not None,
            has_finalizer=FINALIZER in meta.finalizers,
            synced_resource_version=synced_resource_version(
                meta.generation or 0, meta.labels, meta.annotations
            ),
        )
        raw_policy = (obj.get("spec") or {}).get("deletionPolicy")
        if raw_policy in ("Delete", "None"):
            base.deletion_policy = raw_policy
        try:
            ps = parse_pushsecret(obj)
        except PushSecretInvalid as err:
            base.error = "; ".join(err.messages)
            return base
        spec = ps.spec
        base.deletion_policy = spec.deletion_policy
        base.update_policy = spec.update_policy
        base.refresh_seconds = spec.refresh.total_seconds()
        base.entries = list(spec.data)
        base.data_to = list(spec.data_to)
        raw_template = (obj.get("spec") or {}).get("template")
        base.template = raw_template if isinstance(raw_template, dict) else None
        problems = validate_pushsecret(ps)
        if problems:
            base.error = "; ".join(problems)
            return base
        base.error = validate_data_to_store_refs(spec)
        if base.error is not None:
            return base
        if base.deleting:
            return base
        gen = (obj.get("spec") or {}).get("selector", {}).get("generatorRef")
        if spec.selector.generator_ref is not None and isinstance(gen, dict):
            base.generator = gen
            grace = meta.annotations.get(GRACE_ANNOTATION)
            if grace:
                try:
                    base.grace_seconds = parse_go_duration(grace).total_seconds()
                except ValueError as err:
                    base.error = f"annotation {GRACE_ANNOTATION}: {err}"
                    return base
            try:
                base.stores = resolve_stores(kube, ps, self._d.controller_class)
            except StoreRefError as err:
                base.error = str(err)
                return base
            except ApiException as err:
                raise from_kube(err, f"could not read stores of PushSecret {ref}") from None
            base.error = validate_data_to_matches_stores(
                spec, [(s.kind, s.name, s.labels) for s in base.stores if s.error is None]
            )
            return base
        sel = spec.selector.secret
        if sel is None or (not sel.name and sel.selector is None):
            base.error = "no secret selector provided"
            return base
        try:
            base.stores = resolve_stores(kube, ps, self._d.controller_class)
            if sel.name:  # a name wins over a selector, as in ESO
                base.source_secret = sel.name
                secret = kube.get_secret_meta(ref.namespace, sel.name)
                if secret is None:
                    base.error = MSG_NO_SOURCE
                    return base
                base.source_version = secret.resource_version
            else:
                assert sel.selector is not None
                metas = kube.list_secret_meta(ref.namespace, sel.selector.to_selector_string())
                base.source_selected = True
                base.source_secrets = sorted(m.name for m in metas)
                base.source_version = selected_sources_version(
                    (m.name, m.resource_version) for m in metas
                )
        except StoreRefError as err:
            base.error = str(err)
            return base
        except ApiException as err:
            raise from_kube(err, f"could not read sources of PushSecret {ref}") from None
        base.error = validate_data_to_matches_stores(
            spec, [(s.kind, s.name, s.labels) for s in base.stores if s.error is None]
        )
        return base
