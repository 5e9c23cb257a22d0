"""The watcher's ClusterPushSecret side: ClusterPushSecret and Namespace events → fan-outs.

Any change of a ClusterPushSecret's spec, labels or annotations, and any Namespace created,
deleted or relabelled, signals the ClusterPushSecret workflows, which fan out again (the
fan-out reads the selectors; the watcher does not need to know which namespaces match).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from pushsecret.api.workflow import ClusterInput, ClusterPushSecretRef
from pushsecret.config import Settings
from starter.informer import DELETED, MODIFIED, SYNC, Obj
from workflows.clusterpushsecret import ClusterPushSecretWorkflow


class ClusterWatch:
    """Mixed into the Watcher; uses its Temporal client and settings."""

    _client: Client
    _settings: Settings
    signals_sent: int
    _clusters: dict[str, tuple[Any, ...]]
    _namespace_labels: dict[str, dict[str, str]]

    async def _on_cluster_pushsecret(self, name: str, etype: str, obj: Obj) -> None:
        md = obj.get("metadata") or {}
        seen = (
            md.get("uid") or "",
            md.get("generation"),
            md.get("labels"),
            md.get("annotations"),
            bool(md.get("deletionTimestamp")),
        )
        old = self._clusters.get(name)
        if etype == DELETED:
            self._clusters.pop(name, None)
        else:
            self._clusters[name] = seen
        if etype != SYNC and etype != DELETED and old == seen:
            return  # its own status write, or a resourceVersion bump: nothing to fan out
        await self._signal_cluster(name, seen[0])

    async def _on_namespace(self, name: str, etype: str, md: Obj) -> None:
        labels = dict(md.get("labels") or {})
        old = self._namespace_labels.get(name)
        if etype == DELETED:
            self._namespace_labels.pop(name, None)
        else:
            self._namespace_labels[name] = labels
        if etype in (SYNC, MODIFIED) and old == labels and not md.get("deletionTimestamp"):
            return
        for cps, seen in sorted(self._clusters.items()):
            await self._signal_cluster(cps, seen[0])

    async def _signal_cluster(self, name: str, uid: str) -> None:
        ref = ClusterPushSecretRef(name=name, uid=uid)
        try:
            await self._client.start_workflow(
                ClusterPushSecretWorkflow.run,
                ClusterInput(ref=ref),
                id=ref.workflow_id,
                task_queue=self._settings.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                start_signal="changed",
            )
        except WorkflowAlreadyStartedError:
            return
        self.signals_sent += 1
