"""The watcher: Kubernetes events in, signal-with-start to PushSecret workflows out.

It watches PushSecrets, Secrets, SecretStores and ClusterSecretStores. For each PushSecret it
remembers what it depends on (its source Secret, its stores) so that a change to any of them
signals exactly the PushSecrets that use it, at once, instead of waiting for refreshInterval.
A periodic resync signals every PushSecret with the versions the watcher knows; the workflow
drops a resync that tells it nothing new, so resync costs a signal, not a push.

Signals carry names and versions, never data. The informer threads only enqueue; one asyncio
task sends signals in order, so a ``delete`` never overtakes the ``changed`` before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from pushsecret.api.common import LabelSelector
from pushsecret.api.pushsecret import FINALIZER
from pushsecret.api.workflow import SA_NAME, SA_NAMESPACE, Change, PushSecretRef, WorkflowInput
from pushsecret.config import Settings
from pushsecret.kube import Kube
from pushsecret.status import selected_sources_version
from starter.cluster_watch import ClusterWatch
from starter.informer import DELETED, SYNC, Informer, Obj
from workflows.pushsecret import PushSecretWorkflow

log = logging.getLogger("pushsecret.starter")


Key = tuple[str, str]  # (namespace, name)


@dataclass
class _Seen:
    """What the watcher remembers of one PushSecret (names and versions only)."""

    uid: str
    generation: int | None
    labels: dict[str, str]
    annotations: dict[str, str]
    deleting: bool
    source: str | None
    stores: set[tuple[str, str]] = field(default_factory=set)  # (kind, name or "*")
    source_selector: LabelSelector | None = None
    # templateFrom sources: ("ConfigMap" | "Secret", name) in the PushSecret's namespace
    template_refs: set[tuple[str, str]] = field(default_factory=set)

    def secrets(self) -> set[str]:
        """Every Secret (by name) whose change affects what this PushSecret pushes."""
        names = {n for kind, n in self.template_refs if kind == "Secret"}
        return names | ({self.source} if self.source else set())

    def configmaps(self) -> set[str]:
        return {n for kind, n in self.template_refs if kind == "ConfigMap"}


def _seen(obj: Obj) -> _Seen:
    md = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    sel = (spec.get("selector") or {}).get("secret") or {}
    stores: set[tuple[str, str]] = set()
    for ref in spec.get("secretStoreRefs") or []:
        kind = ref.get("kind") or "SecretStore"
        stores.add((kind, "*" if ref.get("labelSelector") is not None else ref.get("name") or ""))
    selector = None
    if isinstance(sel, dict) and not sel.get("name") and isinstance(sel.get("selector"), dict):
        try:
            selector = LabelSelector.model_validate(sel["selector"])
        except ValueError:
            selector = None  # the plan reports the invalid spec
    refs: set[tuple[str, str]] = set()
    template = spec.get("template") if isinstance(spec.get("template"), dict) else {}
    for item in (template or {}).get("templateFrom") or []:
        for kind, field_name in (("ConfigMap", "configMap"), ("Secret", "secret")):
            ref = item.get(field_name) if isinstance(item, dict) else None
            if isinstance(ref, dict) and ref.get("name"):
                refs.add((kind, ref["name"]))
    return _Seen(
        template_refs=refs,
        source_selector=selector,
        uid=md.get("uid") or "",
        generation=md.get("generation"),
        labels=dict(md.get("labels") or {}),
        annotations=dict(md.get("annotations") or {}),
        deleting=bool(md.get("deletionTimestamp")),
        source=sel.get("name") if isinstance(sel, dict) else None,
        stores=stores,
    )


class Watcher(ClusterWatch):
    """Owns the informers, the dependency index and the signal queue."""

    def __init__(self, settings: Settings, kube: Kube, client: Client) -> None:
        self._settings = settings
        self._kube = kube
        self._client = client
        self._queue: asyncio.Queue[tuple[str, str, Obj]] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._informers: list[Informer] = []
        self._pushsecrets: dict[Key, _Seen] = {}
        self._secret_rv: dict[Key, str] = {}
        self._secret_labels: dict[Key, dict[str, str]] = {}
        self._clusters: dict[str, tuple[Any, ...]] = {}
        self._namespace_labels: dict[str, dict[str, str]] = {}
        self._by_secret: dict[Key, set[Key]] = defaultdict(set)
        self._by_configmap: dict[Key, set[Key]] = defaultdict(set)
        self._configmap_rv: dict[Key, str] = {}
        self.signals_sent = 0

    # -- informers (threads) → queue --------------------------------------------------------

    def _on_event(self, resource: str, etype: str, obj: Obj) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (resource, etype, obj))

    def _build_informers(self) -> list[Informer]:
        custom = self._kube.custom
        core = self._kube.core
        ser = self._kube.api_client.sanitize_for_serialization
        group = "external-secrets.io"
        out: list[Informer] = []
        scopes: list[str | None] = list(self._settings.watch_namespaces) or [None]
        for ns in scopes:
            if ns is None:
                fns: dict[str, Any] = {
                    "pushsecrets": lambda **kw: custom.list_cluster_custom_object(
                        group, "v1alpha1", "pushsecrets", **kw
                    ),
                    "secrets": lambda **kw: core.list_secret_for_all_namespaces(**kw),
                    "configmaps": lambda **kw: core.list_config_map_for_all_namespaces(**kw),
                    "secretstores": lambda **kw: custom.list_cluster_custom_object(
                        group, "v1", "secretstores", **kw
                    ),
                }
            else:
                fns = {
                    "pushsecrets": lambda ns=ns, **kw: custom.list_namespaced_custom_object(
                        group, "v1alpha1", ns, "pushsecrets", **kw
                    ),
                    "secrets": lambda ns=ns, **kw: core.list_namespaced_secret(ns, **kw),
                    "configmaps": lambda ns=ns, **kw: core.list_namespaced_config_map(ns, **kw),
                    "secretstores": lambda ns=ns, **kw: custom.list_namespaced_custom_object(
                        group, "v1", ns, "secretstores", **kw
                    ),
                }
            for resource, fn in fns.items():
                out.append(
                    Informer(
                        resource,
                        fn,
                        self._on_event,
                        serialize=ser,
                        trim=_metadata_only if resource in ("secrets", "configmaps") else None,
                    )
                )
        out.append(
            Informer(
                "clusterpushsecrets",
                lambda **kw: custom.list_cluster_custom_object(
                    group, "v1alpha1", "clusterpushsecrets", **kw
                ),
                self._on_event,
            )
        )
        out.append(
            Informer(
                "namespaces",
                lambda **kw: core.list_namespace(**kw),
                self._on_event,
                serialize=ser,
            )
        )
        out.append(
            Informer(
                "clustersecretstores",
                lambda **kw: custom.list_cluster_custom_object(
                    group, "v1", "clustersecretstores", **kw
                ),
                self._on_event,
            )
        )
        return out

    # -- queue → signals (event loop) -------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled: informers, the event consumer and the periodic resync."""
        self._loop = asyncio.get_running_loop()
        self._informers = self._build_informers()
        for inf in self._informers:
            inf.start()
        resync = asyncio.create_task(self._resync_loop())
        try:
            while True:
                resource, etype, obj = await self._queue.get()
                try:
                    await self._handle(resource, etype, obj)
                except Exception:
                    log.exception("failed to handle %s %s", resource, etype)
        finally:
            resync.cancel()
            for inf in self._informers:
                inf.stop()

    async def _handle(self, resource: str, etype: str, obj: Obj) -> None:
        md = obj.get("metadata") or {}
        key: Key = (md.get("namespace") or "", md.get("name") or "")
        if resource == "pushsecrets":
            await self._on_pushsecret(key, etype, obj)
        elif resource == "clusterpushsecrets":
            await self._on_cluster_pushsecret(key[1], etype, obj)
        elif resource == "namespaces":
            await self._on_namespace(key[1], etype, md)
        elif resource == "secrets":
            await self._on_secret(key, etype, md)
        elif resource == "configmaps":
            await self._on_configmap(key, etype, md)
        else:
            kind = "ClusterSecretStore" if resource == "clustersecretstores" else "SecretStore"
            await self._on_store(kind, key, etype)

    async def _on_pushsecret(self, key: Key, etype: str, obj: Obj) -> None:
        old = self._pushsecrets.get(key)
        if etype == DELETED:
            self._forget(key)
            if old is not None:
                await self._signal(key, old.uid, None)
            return
        new = _seen(obj)
        self._index(key, old, new)
        self._pushsecrets[key] = new
        if new.deleting:
            if old is None or not old.deleting or etype == SYNC:
                await self._signal(key, new.uid, None)
            return
        spec = obj.get("spec") or {}
        if spec.get("deletionPolicy") == "Delete" and FINALIZER not in (
            obj["metadata"].get("finalizers") or []
        ):
            await self._add_finalizer(key, obj)
        if old is None or etype == SYNC or old.uid != new.uid:
            change = Change(
                kind="resync",
                generation=new.generation,
                source_version=self._source_version(key, new),
            )
        elif (old.generation, old.labels, old.annotations) != (
            new.generation,
            new.labels,
            new.annotations,
        ):
            change = Change(
                kind="spec",
                generation=new.generation,
                source_version=self._source_version(key, new),
            )
        else:
            return  # status, finalizer or resourceVersion only: nothing to push (ESO's predicate)
        await self._signal(key, new.uid, change)

    async def _on_secret(self, key: Key, etype: str, md: Obj) -> None:
        rv = "" if etype == DELETED else str(md.get("resourceVersion") or "")
        if self._secret_rv.get(key) == rv:
            return
        labels: dict[str, str] = dict(md.get("labels") or {})
        old_labels = self._secret_labels.get(key, labels)
        if etype == DELETED:
            self._secret_rv.pop(key, None)
            self._secret_labels.pop(key, None)
        else:
            self._secret_rv[key] = rv
            self._secret_labels[key] = labels
        targets = set(self._by_secret.get(key, ()))
        # Label-selected sources: a Secret that matches now, or matched before this change.
        for ps_key, candidate in self._pushsecrets.items():
            sel = candidate.source_selector
            if (
                ps_key[0] == key[0]
                and sel is not None
                and (sel.matches(labels) or sel.matches(old_labels))
            ):
                targets.add(ps_key)
        for ps_key in sorted(targets):
            seen = self._pushsecrets.get(ps_key)
            if seen is not None and not seen.deleting:
                change = Change(
                    kind="source",
                    detail=f"Secret/{key[1]}",
                    generation=seen.generation,
                    source_version=self._source_version(ps_key, seen)
                    if seen.source_selector
                    else rv or None,
                )
                await self._signal(ps_key, seen.uid, change)

    async def _on_store(self, kind: str, key: Key, etype: str) -> None:
        ns, name = key
        for ps_key, seen in sorted(self._pushsecrets.items()):
            if seen.deleting or (kind == "SecretStore" and ps_key[0] != ns):
                continue
            if (kind, name) in seen.stores or (kind, "*") in seen.stores:
                change = Change(kind="store", detail=f"{kind}/{name}", generation=seen.generation)
                await self._signal(ps_key, seen.uid, change)

    def _source_version(self, key: Key, seen: _Seen) -> str | None:
        """The source version as the plan computes it, from the watcher's caches."""
        if seen.source:
            return self._secret_rv.get((key[0], seen.source))
        sel = seen.source_selector
        if sel is None:
            return None
        return selected_sources_version(
            (name, rv)
            for (ns, name), rv in self._secret_rv.items()
            if ns == key[0] and sel.matches(self._secret_labels.get((ns, name), {}))
        )

    def _index(self, key: Key, old: _Seen | None, new: _Seen | None) -> None:
        """Keep Secret → PushSecrets and ConfigMap → PushSecrets in step with ``new``."""
        for name in old.secrets() if old else ():
            self._by_secret[(key[0], name)].discard(key)
        for name in old.configmaps() if old else ():
            self._by_configmap[(key[0], name)].discard(key)
        for name in new.secrets() if new else ():
            self._by_secret[(key[0], name)].add(key)
        for name in new.configmaps() if new else ():
            self._by_configmap[(key[0], name)].add(key)

    def _forget(self, key: Key) -> None:
        self._index(key, self._pushsecrets.pop(key, None), None)

    async def _on_configmap(self, key: Key, etype: str, md: Obj) -> None:
        rv = "" if etype == DELETED else str(md.get("resourceVersion") or "")
        if self._configmap_rv.get(key) == rv:
            return
        self._configmap_rv[key] = rv
        for ps_key in sorted(self._by_configmap.get(key, ())):
            seen = self._pushsecrets.get(ps_key)
            if seen is not None and not seen.deleting:
                change = Change(
                    kind="source", detail=f"ConfigMap/{key[1]}", generation=seen.generation
                )
                await self._signal(ps_key, seen.uid, change)

    async def _add_finalizer(self, key: Key, obj: Obj) -> None:
        md = obj["metadata"]
        try:
            await asyncio.to_thread(
                self._kube.patch_pushsecret_finalizers,
                key[0],
                key[1],
                [*(md.get("finalizers") or []), FINALIZER],
                md["resourceVersion"],
            )
        except Exception as err:  # the workflow adds it too; a conflict here is harmless
            log.info("could not add finalizer to %s/%s: %s", key[0], key[1], type(err).__name__)

    async def _signal(self, key: Key, uid: str, change: Change | None) -> None:
        """Signal-with-start ``changed(change)``, or ``delete`` when ``change`` is None."""
        ref = PushSecretRef(namespace=key[0], name=key[1], uid=uid)
        sa = None
        if self._settings.search_attributes:
            sa = TypedSearchAttributes(
                [SearchAttributePair(SA_NAMESPACE, key[0]), SearchAttributePair(SA_NAME, key[1])]
            )
        try:
            handle: WorkflowHandle[Any, Any] = await self._client.start_workflow(
                PushSecretWorkflow.run,
                WorkflowInput(ref=ref),
                id=ref.workflow_id,
                task_queue=self._settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                start_signal="changed" if change is not None else "delete",
                start_signal_args=[change] if change is not None else [],
                search_attributes=sa,
            )
        except WorkflowAlreadyStartedError:
            # The workflow for this uid completed (the PushSecret was deleted): nothing to do.
            return
        self.signals_sent += 1
        log.debug("signalled %s (%s)", handle.id, change.kind if change else "delete")

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.resync_seconds)
            for key, seen in sorted(self._pushsecrets.items()):
                if seen.deleting:
                    await self._signal(key, seen.uid, None)
                else:
                    await self._signal(
                        key,
                        seen.uid,
                        Change(
                            kind="resync",
                            generation=seen.generation,
                            source_version=self._source_version(key, seen),
                        ),
                    )


def _metadata_only(obj: Obj) -> Obj:
    return {"metadata": obj.get("metadata") or {}}
