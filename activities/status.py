"""Write the PushSecret's status the way ESO shapes it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from kubernetes.client.exceptions import ApiException
from temporalio import activity

from activities import Deps
from activities.update import update_pushsecret
from pushsecret.api.workflow import ACT_PATCH_STATUS, StatusPatch
from pushsecret.kube import Obj
from pushsecret.status import rfc3339, set_ready, store_row, synced_entry


def _apply(patch: StatusPatch, status: Obj) -> Obj:
    """The status after ``patch`` (a new dict; ``status`` is not modified)."""
    out = dict(status)
    if patch.ready is not None:
        out["conditions"] = set_ready(
            list(out.get("conditions") or []),
            status=patch.ready,
            reason=patch.reason or "",
            message=patch.message or "",
            now=datetime.now(UTC),
        )
    if patch.synced is not None:
        out["syncedPushSecrets"] = {
            store: {k: synced_entry(d) for k, d in e.items()} for store, e in patch.synced.items()
        }
    if patch.refresh_time is not None:
        out["refreshTime"] = rfc3339(patch.refresh_time)
    if patch.synced_resource_version is not None:
        out["syncedResourceVersion"] = patch.synced_resource_version
    if patch.observed_generation is not None:
        out["observedGeneration"] = patch.observed_generation
    if patch.stores is not None:
        out["stores"] = [store_row(r) for r in patch.stores]
    return out


class StatusActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_PATCH_STATUS)
    def patch_status(self, patch: StatusPatch) -> bool:
        """Set the Ready condition, syncedPushSecrets, refreshTime and friends on /status.

        Reads the PushSecret and replaces its status subresource guarded by resourceVersion,
        re-reading on a 409 (a concurrent writer), so the result is as if applied once.
        Skips the write when nothing changes, and returns whether it wrote. A PushSecret
        that is gone or has a new uid is left alone. Errors: Kubernetes 5xx/429 retry.
        """
        kube = self._d.kube

        written: list[Obj] = []

        def change(obj: Obj) -> Callable[[], object] | None:
            before = dict(obj.get("status") or {})
            after = _apply(patch, before)
            if after == before:
                return None

            def write() -> None:
                kube.replace_pushsecret_status({**obj, "status": after})
                if _ready(before) != _ready(after):
                    written.append(obj)

            return write

        wrote = update_pushsecret(kube, patch.ref, change, "patch status")
        if written and patch.ready is not None:
            self._event(written[0], patch)
        return wrote

    def _event(self, obj: Obj, patch: StatusPatch) -> None:
        """ESO's Synced / Errored event, once per change of the Ready condition (ESO emits
        one on every successful reconcile, which floods busy namespaces: #Q19)."""
        try:
            self._d.kube.emit_event(
                obj,
                "Normal" if patch.ready or patch.reason == "SourceDeleted" else "Warning",
                patch.reason or ("Synced" if patch.ready else "Errored"),
                patch.message or "",
            )
        except ApiException as err:  # an event is best effort; the status is what counts
            activity.logger.warning("could not record an event: %s", err.status)


def _ready(status: Obj) -> tuple[object, object, object] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status"), c.get("reason"), c.get("message")
    return None
