"""Optimistic read-modify-write of a PushSecret, shared by the status and finalizer activities."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client.exceptions import ApiException

from activities.errors import from_kube
from pushsecret.api.workflow import PushSecretRef
from pushsecret.kube import Kube, Obj

_ATTEMPTS = 5

#: Given the current object, return the write to make (a thunk), or None when none is needed.
Change = Callable[[Obj], Callable[[], object] | None]


def update_pushsecret(kube: Kube, ref: PushSecretRef, change: Change, what: str) -> bool:
    """Apply ``change`` to the PushSecret ``ref`` (same uid), re-reading on 409 Conflict.

    Returns True when a write was made, False when none was needed or the object (with this
    uid) is gone. Raises a retryable ApplicationError on 5xx/429 or persistent conflicts, a
    permanent one for other API errors; ``what`` names the operation in those messages.
    """
    for _ in range(_ATTEMPTS):
        try:
            obj = kube.get_pushsecret(ref.namespace, ref.name)
            if obj is None or obj["metadata"].get("uid") != ref.uid:
                return False
            write = change(obj)
            if write is None:
                return False
            write()
            return True
        except ApiException as err:
            if err.status == 409:
                continue
            if err.status == 404:
                return False
            raise from_kube(err, f"could not {what} of PushSecret {ref}") from None
    raise from_kube(ApiException(status=409, reason="Conflict"), f"{what} of PushSecret {ref}")
