"""ClusterPushSecret fan-out: one ordinary PushSecret per selected namespace (ESO §5)."""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException
from temporalio import activity

from activities import Deps
from activities.errors import from_kube
from pushsecret.api.common import LabelSelector
from pushsecret.api.duration import parse_go_duration
from pushsecret.api.pushsecret import API_VERSION, DEFAULT_REFRESH, ClusterPushSecretMetadata
from pushsecret.api.workflow import ACT_FANOUT, ClusterPushSecretRef, FanoutResult
from pushsecret.kube import Kube, Obj, api_message

_ATTEMPTS = 5


def _owned(obj: Obj, cps: Obj) -> bool:
    """Whether ``obj`` is controlled by this ClusterPushSecret (ESO's check)."""
    return any(
        ref.get("controller")
        and ref.get("apiVersion") == API_VERSION
        and ref.get("kind") == "ClusterPushSecret"
        and ref.get("name") == cps["metadata"]["name"]
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def _owner_ref(cps: Obj) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterPushSecret",
        "name": cps["metadata"]["name"],
        "uid": cps["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


class ClusterActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_FANOUT)
    def fanout(self, ref: ClusterPushSecretRef) -> FanoutResult:
        """Make the ClusterPushSecret's PushSecrets match its selectors, then write its status.

        Reads the ClusterPushSecret and Namespaces; creates, updates (only when different)
        and deletes PushSecrets it controls, never one it does not; replaces its status
        (provisioned / failed namespaces, pushSecretName, Ready as ESO). Idempotent.
        Namespace-level failures are recorded, not raised; Kubernetes 5xx/429 retry.
        """
        kube = self._d.kube
        try:
            obj = kube.get_cluster_pushsecret(ref.name)
            if obj is None or obj["metadata"].get("uid") != ref.uid:
                return FanoutResult(found=False)
            if obj["metadata"].get("deletionTimestamp"):
                # Kubernetes garbage-collects the PushSecrets through their ownerReferences.
                return FanoutResult(found=False)
            return self._fanout(kube, obj)
        except ApiException as err:
            raise from_kube(err, f"could not reconcile ClusterPushSecret {ref.name}") from None

    def _fanout(self, kube: Kube, obj: Obj) -> FanoutResult:
        # Only the fan-out's own fields are parsed here: pushSecretSpec is copied verbatim
        # (as ESO does), and each child PushSecret reports what is wrong with it.
        raw = obj.get("spec") or {}
        try:
            selectors = [
                LabelSelector.model_validate(x) for x in raw.get("namespaceSelectors") or []
            ]
            refresh_raw = raw.get("refreshTime")
            refresh = (
                parse_go_duration(refresh_raw) if refresh_raw else DEFAULT_REFRESH
            ).total_seconds()
            meta = ClusterPushSecretMetadata.model_validate(raw.get("pushSecretMetadata") or {})
        except ValueError:
            self._status(kube, obj, "", [], {}, "invalid ClusterPushSecret spec")
            return FanoutResult(found=True)
        name = raw.get("pushSecretName") or obj["metadata"]["name"]
        status = obj.get("status") or {}
        failed: dict[str, str] = {}
        old_name = status.get("pushSecretName")
        old_namespaces: list[str] = list(status.get("provisionedNamespaces") or [])
        # A namespace whose child could not be deleted last time is tried again (ESO forgets
        # it after one reconcile and leaves the child behind: Q14).
        for failure in status.get("failedNamespaces") or []:
            ns_name = failure.get("namespace") if isinstance(failure, dict) else None
            if ns_name and ns_name not in old_namespaces:
                old_namespaces.append(ns_name)
        if old_name and old_name != name:  # renamed: remove the old children first
            for ns in old_namespaces:
                err = self._delete_owned(kube, obj, ns, old_name)
                if err:
                    failed[ns] = err
            if failed:
                self._status(kube, obj, old_name, [], failed, "failed to delete push secret")
                return FanoutResult(found=True, refresh_seconds=refresh, failed=failed)
            old_namespaces = []
        targets: list[str] = []
        try:
            for sel in selectors:
                for ns_obj in kube.list_namespaces(sel.to_selector_string()):
                    ns_name = ns_obj["metadata"]["name"]
                    if ns_name not in targets and not ns_obj["metadata"].get("deletionTimestamp"):
                        targets.append(ns_name)
        except ApiException:
            self._status(kube, obj, name, old_namespaces, {}, "failed to get target Namespaces")
            raise
        for ns in old_namespaces:
            if ns not in targets:
                err = self._delete_owned(kube, obj, ns, name)
                if err:
                    failed[ns] = (
                        f"external secret in non matching namespace could not be deleted: {err}"
                    )
        provisioned = []
        raw_spec = raw.get("pushSecretSpec") or {}
        for ns in targets:
            err = self._apply(kube, obj, ns, name, raw_spec, meta.labels, meta.annotations)
            if err:
                failed[ns] = err
            else:
                provisioned.append(ns)
        self._status(kube, obj, name, provisioned, failed, None)
        return FanoutResult(
            found=True, refresh_seconds=refresh, provisioned=sorted(provisioned), failed=failed
        )

    @staticmethod
    def _delete_owned(kube: Kube, cps: Obj, ns: str, name: str) -> str | None:
        try:
            child = kube.get_pushsecret(ns, name)
            if child is not None and _owned(child, cps):
                kube.delete_pushsecret(ns, name)
        except ApiException as err:
            if err.status != 404:
                return api_message(err)
        return None

    @staticmethod
    def _apply(
        kube: Kube,
        cps: Obj,
        ns: str,
        name: str,
        spec: Obj,
        labels: dict[str, str],
        annotations: dict[str, str],
    ) -> str | None:
        """Create or update the PushSecret ``ns/name``; the failure text, or None."""
        try:
            existing = kube.get_pushsecret(ns, name)
            if existing is None:
                kube.create_pushsecret(
                    ns,
                    {
                        "apiVersion": API_VERSION,
                        "kind": "PushSecret",
                        "metadata": {
                            "name": name,
                            "namespace": ns,
                            "labels": dict(labels),
                            "annotations": dict(annotations),
                            "ownerReferences": [_owner_ref(cps)],
                        },
                        "spec": spec,
                    },
                )
                return None
            if not _owned(existing, cps):
                return "push secret already exists in namespace"
            md = existing["metadata"]
            desired_md = {
                **md,
                "labels": dict(labels),
                "annotations": dict(annotations),
                "ownerReferences": [_owner_ref(cps)],
            }
            if (existing.get("spec"), md.get("labels") or {}, md.get("annotations") or {}) == (
                spec,
                labels,
                annotations,
            ):
                return None  # nothing changed: nothing rewritten
            kube.replace_pushsecret(ns, {**existing, "metadata": desired_md, "spec": spec})
            return None
        except ApiException as err:
            return f"could not create or update push secret: {api_message(err)}"

    @staticmethod
    def _status(
        kube: Kube,
        cps: Obj,
        name: str,
        provisioned: list[str],
        failed: dict[str, str],
        error: str | None,
    ) -> None:
        """ESO's ClusterPushSecret status (condition replaced, no lastTransitionTime logic)."""
        if error is None and not failed:
            cond: dict[str, Any] = {"type": "Ready", "status": "True"}
        else:
            cond = {
                "type": "Ready",
                "status": "False",
                "message": error or "one or more namespaces failed",
            }
            if error:
                cond["reason"] = "Errored"
        status = {
            "pushSecretName": name,
            "provisionedNamespaces": sorted(provisioned),
            "failedNamespaces": [{"namespace": ns, "reason": failed[ns]} for ns in sorted(failed)],
            "conditions": [cond],
        }
        current = cps
        for _ in range(_ATTEMPTS):
            if (current.get("status") or {}) == status:
                return
            try:
                kube.replace_cluster_pushsecret_status({**current, "status": status})
                return
            except ApiException as err:
                if err.status != 409:
                    raise
                fresh = kube.get_cluster_pushsecret(current["metadata"]["name"])
                if fresh is None:
                    return
                current = fresh
