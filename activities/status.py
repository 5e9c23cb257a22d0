"""Write the PushSecret's status the way ESO shapes it."""

from __future__ import annotations

from datetime import UTC, datetime

from kubernetes.client.exceptions import ApiException
from temporalio import activity

from activities import Deps
from activities.errors import from_kube
from pushsecret.api.workflow import ACT_PATCH_STATUS, StatusPatch
from pushsecret.status import rfc3339, set_ready, synced_entry

_ATTEMPTS = 5


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
        ref = patch.ref
        for _ in range(_ATTEMPTS):
            try:
                obj = kube.get_pushsecret(ref.namespace, ref.name)
                if obj is None or obj["metadata"].get("uid") != ref.uid:
                    return False
                status = dict(obj.get("status") or {})
                before = dict(status)
                if patch.ready is not None:
                    status["conditions"] = set_ready(
                        list(status.get("conditions") or []),
                        status=patch.ready,
                        reason=patch.reason or "",
                        message=patch.message or "",
                        now=datetime.now(UTC),
                    )
                if patch.synced is not None:
                    status["syncedPushSecrets"] = {
                        store: {k: synced_entry(d) for k, d in e.items()}
                        for store, e in patch.synced.items()
                    }
                if patch.refresh_time is not None:
                    status["refreshTime"] = rfc3339(patch.refresh_time)
                if patch.synced_resource_version is not None:
                    status["syncedResourceVersion"] = patch.synced_resource_version
                if patch.observed_generation is not None:
                    status["observedGeneration"] = patch.observed_generation
                if status == before:
                    return False
                obj["status"] = status
                kube.replace_pushsecret_status(obj)
                return True
            except ApiException as err:
                if err.status == 409:
                    continue
                if err.status == 404:
                    return False
                raise from_kube(err, f"could not patch status of PushSecret {ref}") from None
        raise from_kube(
            ApiException(status=409, reason="Conflict"), f"status of PushSecret {ref} kept changing"
        )
