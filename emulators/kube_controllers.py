"""The controllers a real control plane runs next to the API server, reduced to what matters here.

* namespace lifecycle: a Terminating namespace has its contents deleted, then its ``kubernetes``
  finalizer dropped, and is removed once empty;
* CRD cleanup: a deleting CRD has all its custom resources deleted, then its
  ``customresourcecleanup.apiextensions.k8s.io`` finalizer dropped;
* garbage collection: dependents whose last owner (by ownerReferences uid) is gone are deleted;
  with other owners left, only the dangling reference is dropped.

:func:`reconcile` runs after an object is deleted or marked for deletion (the store defers it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from emulators.kube_types import CRD_FINALIZER, CRDS, NAMESPACES, JsonObj, ResourceType

if TYPE_CHECKING:
    from emulators.kube_store import Store


def reconcile(store: Store, rt: ResourceType, obj: JsonObj) -> None:
    """React to ``obj`` (of type ``rt``) having been deleted or marked for deletion."""

    meta = obj["metadata"]
    current = store.stored(rt, meta.get("namespace"), meta["name"])
    if current is None or current["metadata"].get("uid") != meta.get("uid"):
        _collect_garbage(store, rt, obj)
    elif rt is NAMESPACES:
        for item_rt, item in list(store.all_objects()):
            item_meta = item["metadata"]
            if (
                item_rt.namespaced
                and item_meta.get("namespace") == meta["name"]
                and not item_meta.get("deletionTimestamp")
            ):
                store.delete(item_rt, meta["name"], item_meta["name"])
    elif rt is CRDS:
        for served in store.served_by(meta["name"])[:1]:
            for item in store.items(served, None, lambda _: True):
                if not item["metadata"].get("deletionTimestamp"):
                    store.delete(
                        served, item["metadata"].get("namespace"), item["metadata"]["name"]
                    )
    # Whatever was deleted may have been the last thing holding its namespace or its CRD.
    if rt is NAMESPACES:
        _finalize_namespace(store, meta["name"])
    elif rt.namespaced:
        _finalize_namespace(store, str(meta.get("namespace", "")))
    if rt is CRDS:
        _finalize_crd(store, meta["name"])
    elif rt.crd is not None:
        _finalize_crd(store, rt.crd)


def _collect_garbage(store: Store, owner_rt: ResourceType, owner: JsonObj) -> None:
    uid, namespace = owner["metadata"].get("uid"), owner["metadata"].get("namespace")
    for rt, dep in list(store.all_objects()):
        meta = dep["metadata"]
        refs = meta.get("ownerReferences") or []
        if not any(ref.get("uid") == uid for ref in refs):
            continue
        if owner_rt.namespaced and meta.get("namespace") != namespace:
            continue  # owner references never cross namespaces
        rest = [ref for ref in refs if ref.get("uid") != uid]
        if rest:
            store.update(rt, meta.get("namespace"), meta["name"], _with_owners(rest))
        else:
            store.delete(rt, meta.get("namespace"), meta["name"])


def _with_owners(refs: list[JsonObj]) -> Callable[[JsonObj], JsonObj]:
    return lambda obj: {**obj, "metadata": {**obj["metadata"], "ownerReferences": refs}}


def _finalize_namespace(store: Store, name: str) -> None:

    ns = store.stored(NAMESPACES, None, name)
    if ns is None or not ns["metadata"].get("deletionTimestamp"):
        return
    if any(
        rt.namespaced and obj["metadata"].get("namespace") == name
        for rt, obj in store.all_objects()
    ):
        return
    if (ns.get("spec") or {}).get("finalizers"):
        store.update(
            NAMESPACES,
            None,
            name,
            lambda o: {**o, "spec": {"finalizers": []}},
            subresource="finalize",
        )


def _finalize_crd(store: Store, name: str) -> None:

    crd = store.stored(CRDS, None, name)
    if crd is None or not crd["metadata"].get("deletionTimestamp"):
        return
    served = store.served_by(name)
    if served and store.items(served[0], None, lambda _: True):
        return
    finalizers = crd["metadata"].get("finalizers") or []
    if CRD_FINALIZER in finalizers:
        rest = [f for f in finalizers if f != CRD_FINALIZER]
        store.update(
            CRDS, None, name, lambda o: {**o, "metadata": {**o["metadata"], "finalizers": rest}}
        )
