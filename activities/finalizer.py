"""Add or remove our finalizer on a PushSecret."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import activity

from activities import Deps
from activities.update import update_pushsecret
from pushsecret.api.pushsecret import FINALIZER
from pushsecret.api.workflow import ACT_SET_FINALIZER, FinalizerInput
from pushsecret.kube import Obj


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
        kube, ref = self._d.kube, inp.ref

        def change(obj: Obj) -> Callable[[], object] | None:
            md = obj["metadata"]
            current: list[str] = list(md.get("finalizers") or [])
            if (FINALIZER in current) == inp.present:
                return None
            if inp.present and md.get("deletionTimestamp"):
                return None
            wanted = (
                [*current, FINALIZER] if inp.present else [f for f in current if f != FINALIZER]
            )
            return lambda: kube.patch_pushsecret_finalizers(
                ref.namespace, ref.name, wanted, md["resourceVersion"]
            )

        return update_pushsecret(kube, ref, change, "update finalizers")
