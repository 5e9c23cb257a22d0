"""The emulator's state: objects, resourceVersions, the event history, watchers and controllers.

:class:`Store` implements the API server's storage semantics independently of HTTP: one global
resourceVersion counter (one increment and one watch event per write; no-op writes change
nothing), preconditions, status subresource isolation, generation, finalizers and graceful
deletion, namespace termination, CRD registration and cleanup, and owner-reference garbage
collection. It is not thread-safe: call it from one thread (the emulator's event loop).
"""

from __future__ import annotations

import collections
import copy
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from emulators import kube_controllers, kube_rules
from emulators.kube_types import (
    BUILTINS,
    CRDS,
    NAMESPACES,
    ApiError,
    JsonObj,
    ResourceType,
    bad_request,
    from_storage,
    to_storage,
    version_key,
)
from emulators.kube_watch import Deliver, Event, EventLog, Matcher, Storage

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (namespace or "", name)
_SERVER_FIELDS = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "name",
    "namespace",
)


def _meta(obj: JsonObj) -> JsonObj:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


class Store:
    """All objects of all resources; see the module docstring for the semantics."""

    def __init__(self, history_limit: int = 10_000) -> None:
        self.types: dict[tuple[str, str, str], ResourceType] = {}
        self._objects: dict[Storage, dict[Key, JsonObj]] = collections.defaultdict(dict)
        self._storage_version: dict[Storage, str] = {}
        self._rv = 0
        self.events = EventLog(history_limit)
        # How controller work (namespace/CRD cleanup, garbage collection) is run: at once by
        # default; the emulator defers it a little, as those controllers are asynchronous.
        self.defer: Callable[[Callable[[], None]], None] = lambda fn: fn()
        for rt in BUILTINS:
            self._register(rt, storage_version=rt.version if rt.storage_group is None else None)
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.create(NAMESPACES, None, {"metadata": {"name": name}})

    @property
    def resource_version(self) -> str:
        return str(self._rv)

    def _register(self, rt: ResourceType, storage_version: str | None) -> None:
        self.types[(rt.group, rt.version, rt.plural)] = rt
        if storage_version is not None:
            self._storage_version[rt.storage] = (
                f"{rt.group}/{storage_version}" if rt.group else storage_version
            )

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def resolve(self, resource: str) -> ResourceType:
        """``"v1/secrets"`` or ``"external-secrets.io/v1alpha1/pushsecrets"`` -> its type."""
        parts = resource.strip("/").split("/")
        key = ("", *parts) if len(parts) == 2 else tuple(parts)
        found = self.types.get(key) if len(key) == 3 else None
        if found is None:
            raise KeyError(f"the resource {resource!r} is not served")
        return found

    def type_of(self, obj: JsonObj) -> ResourceType:
        """The served type of an object by its apiVersion and kind."""
        api_version, kind = str(obj.get("apiVersion", "")), obj.get("kind")
        group, _, version = api_version.rpartition("/")
        for rt in self.types.values():
            if (rt.group, rt.version, rt.kind) == (group, version, kind):
                return rt
        raise KeyError(f"no served resource for apiVersion {api_version!r} kind {kind!r}")

    def groups(self) -> dict[str, list[str]]:
        """Served groups and their versions, the preferred version first."""
        found: dict[str, set[str]] = collections.defaultdict(set)
        for group, version, _ in self.types:
            found[group].add(version)
        return {group: sorted(vs, key=version_key) for group, vs in sorted(found.items())}

    # --------------------------------------------------------------------------- reads

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> JsonObj:
        obj = self._objects[rt.storage].get((namespace or "", name))
        if obj is None:
            raise rt.not_found(name)
        return from_storage(rt, obj)

    def items(self, rt: ResourceType, namespace: str | None, matches: Matcher) -> list[JsonObj]:
        """The stored (unconverted, read-only) objects matching, ordered by namespace and name."""
        bucket = self._objects[rt.storage]
        return [
            bucket[key]
            for key in sorted(bucket)
            if (namespace is None or key[0] == namespace) and matches(bucket[key])
        ]

    def stored(self, rt: ResourceType, namespace: str | None, name: str) -> JsonObj | None:
        """The stored (unconverted, read-only) object, or None."""
        return self._objects[rt.storage].get((namespace or "", name))

    def served_by(self, crd_name: str) -> list[ResourceType]:
        return [rt for rt in self.types.values() if rt.crd == crd_name]

    def all_objects(self) -> Iterator[tuple[ResourceType, JsonObj]]:
        """Every stored object (a snapshot), with one of the types serving its storage."""
        seen: set[Storage] = set()
        for rt in list(self.types.values()):
            if rt.storage_group is None and rt.storage not in seen:
                seen.add(rt.storage)
                yield from ((rt, obj) for obj in list(self._objects[rt.storage].values()))

    # --------------------------------------------------------------------------- watch

    def watch(
        self, rt: ResourceType, since: str | None, matches: Matcher, deliver: Deliver
    ) -> Callable[[], None]:
        """Deliver current state (or history after ``since``), then live events; returns unwatch.

        ``since`` empty/"0"/None: ADDED for each current object first. Otherwise every event
        after that resourceVersion; 410 Expired if the history no longer reaches back that far.
        """
        if since in (None, "", "0"):
            for obj in self.items(rt, None, matches):
                deliver("ADDED", obj)
        else:
            try:
                start = int(str(since))
            except ValueError:
                raise bad_request(f'invalid resource version "{since}"') from None
            self.events.replay(rt.storage, start, matches, deliver)
        return self.events.subscribe(rt.storage, matches, deliver)

    # --------------------------------------------------------------------------- writes

    def _commit(self, rt: ResourceType, kind: str, obj: JsonObj, old: JsonObj | None) -> JsonObj:
        self._rv += 1
        _meta(obj)["resourceVersion"] = str(self._rv)
        meta = obj["metadata"]
        bucket, key = self._objects[rt.storage], (meta.get("namespace", ""), meta["name"])
        if kind == "DELETED":
            bucket.pop(key, None)
        else:
            bucket[key] = obj
        self.events.append(Event(self._rv, rt.storage, kind, obj, old))
        return obj

    def create(
        self, rt: ResourceType, namespace: str | None, body: Any, dry_run: bool = False
    ) -> JsonObj:
        """POST: 201 semantics; the object comes back in ``rt``'s version."""
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        obj = to_storage(rt, body, self._storage_version[rt.storage])
        meta = _meta(obj)
        if rt.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match the "
                    "namespace sent on the request"
                )
            meta["namespace"] = namespace
            ns = self._objects[NAMESPACES.storage].get(("", str(namespace)))
            if ns is None:
                raise NAMESPACES.not_found(str(namespace))
            if _meta(ns).get("deletionTimestamp"):
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{rt.plural} "{meta.get("name", "")}" is '
                    f"forbidden: unable to create new content in namespace {namespace} "
                    "because it is being terminated",
                    rt.details(meta.get("name", "")),
                )
        else:
            meta.pop("namespace", None)
        crd = self._objects[CRDS.storage].get(("", rt.crd)) if rt.crd else None
        if crd is not None and crd["metadata"].get("deletionTimestamp"):
            raise ApiError(
                405,
                "MethodNotAllowed",
                "create not allowed while custom resource definition is terminating",
                rt.details(meta.get("name", "")),
            )
        kube_rules.name_new_object(rt, meta)
        name = meta["name"]
        if (namespace or "", name) in self._objects[rt.storage]:
            raise rt.already_exists(name)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = kube_rules.now()
        if rt.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        kube_rules.on_create(rt, obj)
        kube_rules.normalise(rt, obj, None)
        if dry_run:
            return from_storage(rt, obj)
        self._commit(rt, "ADDED", obj, None)
        if rt is CRDS:
            self._install_crd(obj)
        return from_storage(rt, obj)

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        change: Callable[[JsonObj], Any],
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> JsonObj:
        """PUT/PATCH: ``change`` maps the current object (in ``rt``'s version) to the new one."""
        key = (namespace or "", name)
        old = self._objects[rt.storage].get(key)
        if old is None:
            raise rt.not_found(name)
        candidate = change(from_storage(rt, old))
        if not isinstance(candidate, dict):
            raise bad_request("the request body must be a JSON object")
        new = to_storage(rt, candidate, self._storage_version[rt.storage])
        meta, old_meta = _meta(new), old["metadata"]
        if meta.get("name") not in (None, "", name):
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name "
                f"on the URL ({name})"
            )
        if rt.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise bad_request(
                "the namespace of the provided object does not match the namespace "
                "sent on the request"
            )
        if meta.get("resourceVersion") and meta["resourceVersion"] != old_meta["resourceVersion"]:
            raise rt.conflict(name)
        if subresource in ("status", "finalize"):
            section = "status" if subresource == "status" else "spec"
            value = new.get(section)
            new = copy.deepcopy(old)
            if subresource == "finalize":
                new["spec"] = {
                    **(new.get("spec") or {}),
                    "finalizers": (value or {}).get("finalizers") or [],
                }
            elif value is None:
                new.pop("status", None)
            else:
                new["status"] = value
            meta = new["metadata"]
        elif rt.has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            if rt is NAMESPACES:  # spec.finalizers only change through /finalize
                new["spec"] = copy.deepcopy(old.get("spec") or {})
        meta.pop("selfLink", None)
        for field in _SERVER_FIELDS:
            if field in old_meta:
                meta[field] = old_meta[field]
            else:
                meta.pop(field, None)
        kube_rules.normalise(rt, new, old)
        if rt.tracks_generation and self._spec(rt, new) != self._spec(rt, old):
            meta["generation"] = int(old_meta.get("generation", 0)) + 1
        if old_meta.get("deletionTimestamp"):
            kube_rules.check_no_new_finalizers(rt, name, old_meta, meta)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if new == old or dry_run:  # a no-op write changes nothing, not even the resourceVersion
            return from_storage(rt, new)
        if meta.get("deletionTimestamp") and not self.blocked(rt, new):
            # Like the real registry, the update that releases the last finalizer is not written:
            # the object is deleted as it was stored (so the DELETED event still shows it).
            self._finish_delete(rt, old)
            return from_storage(rt, new)
        self._commit(rt, "MODIFIED", new, old)
        if rt is CRDS:
            self._install_crd(new)
        return from_storage(rt, new)

    @staticmethod
    def _spec(rt: ResourceType, obj: JsonObj) -> JsonObj:
        """Everything whose change bumps metadata.generation."""
        return {
            k: v
            for k, v in obj.items()
            if k not in ("metadata", "apiVersion", "kind") and not (k == "status" and rt.has_status)
        }

    @staticmethod
    def blocked(rt: ResourceType, obj: JsonObj) -> bool:
        """Whether a finalizer still holds an object that is being deleted."""
        if obj["metadata"].get("finalizers"):
            return True
        return rt is NAMESPACES and bool((obj.get("spec") or {}).get("finalizers"))

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        options: JsonObj | None = None,
        dry_run: bool = False,
    ) -> tuple[bool, JsonObj]:
        """DELETE; returns (deleted now, the object or a Success Status)."""
        obj = self._objects[rt.storage].get((namespace or "", name))
        if obj is None:
            raise rt.not_found(name)
        pre = (options or {}).get("preconditions") or {}
        meta = obj["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if pre.get(field) and pre[field] != meta.get(field):
                raise rt.conflict(
                    name,
                    f"Precondition failed: {label} in precondition: "
                    f"{pre[field]}, {label} in object meta: {meta.get(field)}",
                )
        if self.blocked(rt, obj):
            if meta.get("deletionTimestamp") or dry_run:
                return False, from_storage(rt, obj)
            new = copy.deepcopy(obj)
            new["metadata"].update(deletionTimestamp=kube_rules.now(), deletionGracePeriodSeconds=0)
            if rt is NAMESPACES:
                new["status"] = {**(new.get("status") or {}), "phase": "Terminating"}
            self._commit(rt, "MODIFIED", new, obj)
            self._schedule(rt, new)
            current = self._objects[rt.storage].get((namespace or "", name))
            return current is None, from_storage(rt, current or new)
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {**rt.details(name), "uid": meta.get("uid")},
        }
        if not dry_run:
            self._finish_delete(rt, obj)
        return True, status

    def _finish_delete(self, rt: ResourceType, obj: JsonObj) -> None:
        self._commit(rt, "DELETED", copy.deepcopy(obj), obj)
        if rt is CRDS:
            for served in self.served_by(obj["metadata"]["name"]):
                del self.types[(served.group, served.version, served.plural)]
                self.events.close(served.storage)
        self._schedule(rt, obj)

    def _schedule(self, rt: ResourceType, obj: JsonObj) -> None:
        """Let the controllers react to ``obj`` being deleted or marked for deletion."""

        def run() -> None:
            try:
                kube_controllers.reconcile(self, rt, obj)
            except ApiError as exc:  # the world moved on meanwhile; a later event retries
                log.debug("controller for %s gave up: %s", rt.qualified, exc.message)

        self.defer(run)

    def _install_crd(self, crd: JsonObj) -> None:
        """(Re-)register the resources a CRD serves; all versions share one storage."""
        name = crd["metadata"]["name"]
        for old in [t for t in self.types.values() if t.crd == name]:
            del self.types[(old.group, old.version, old.plural)]
        storage = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
        for rt in kube_rules.crd_types(crd):
            self._register(rt, storage_version=storage)
