"""Add or remove our finalizer on a PushSecret."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException
from temporalio import activity

from activities import Deps
from activities.errors import from_kube
from pushsecret.api.pushsecret import FINALIZER
from pushsecret.api.workflow import ACT_SET_FINALIZER, FinalizerInput

_ATTEMPTS = 5


class FinalizerActivities:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    @activity.defn(name=ACT_SET_FINALIZER)
    def set_finalizer(self, inp: FinalizerInput) -> bool:
        """Make ``pushsecret.externalsecrets.io/finalizer`` present or absent.

        Reads the PushSecret, patches metadata.finalizers guarded by resourceVersion (other
        controllers' finalizers are kept), retries on 409. Idempotent: returns False when
        nothing had to change or the object (with this uid) is gone. Adding to an object being
        deleted is refused by the API server and skipped here. Errors: 5xx/429 retry.
        """
        kube = self._d.kube
        ref = inp.ref
        for _ in range(_ATTEMPTS):
            try:
                obj = kube.get_pushsecret(ref.namespace, ref.name)
                if obj is None or obj["metadata"].get("uid") != ref.uid:
                    return False
                md = obj["metadata"]
                current: list[str] = list(md.get("finalizers") or [])
                if (FINALIZER in current) == inp.present:
                    return False
                if inp.present and md.get("deletionTimestamp"):
                    return False
                wanted = (
                    [*current, FINALIZER] if inp.present else [f for f in current if f != FINALIZER]
                )
                kube.patch_pushsecret_finalizers(
                    ref.namespace, ref.name, wanted, md["resourceVersion"]
                )
                return True
            except ApiException as err:
                if err.status == 409:
                    continue
                if err.status == 404:
                    return False
                raise from_kube(err, f"could not update finalizers of PushSecret {ref}") from None
        raise from_kube(
            ApiException(status=409, reason="Conflict"),
            f"finalizers of PushSecret {ref} kept changing",
        )
