"""The base of PushSecretWorkflow: its state, and the steps every part of it uses.

Split from :mod:`workflows.pushsecret` (the loop and the reconcile),
:mod:`workflows._rotation` (generated values) and :mod:`workflows._cleanup` (deletion);
everything here is deterministic workflow code.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.pushsecret import PushSecretData
    from pushsecret.api.workflow import (
        ACT_DELETE_REMOTE,
        ACT_PATCH_STATUS,
        ACT_PLAN,
        ACT_SET_FINALIZER,
        SA_NAMESPACE,
        SA_READY,
        DeleteInput,
        EntryRecord,
        FinalizerInput,
        Plan,
        PushSecretRef,
        StatusPatch,
        StoreOutcome,
        StoreTarget,
        WorkflowState,
    )

MSG_SYNCED = "PushSecret synced successfully"
MSG_SYNCED_IF_NOT_EXISTS = (
    "PushSecret synced successfully. Existing secrets in providers unchanged."
)
MSG_SOURCE_DELETED = "source secret deleted; provider secrets cleaned up"

# Kubernetes reads and status patches: quick, retried a few times, then the workflow's own
# backoff takes over so that a flapping API server never wedges the loop.
_KUBE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
)
# Store calls: a handful of attempts inside one reconcile; a store that stays down is retried by
# the next reconcile (retry_at), recorded as failed in between, and never blocks the others.
_STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=20),
    maximum_attempts=4,
)
_MAX_BACKOFF = timedelta(minutes=5)
# Store activities heartbeat per entry: a worker that dies mid-push is noticed after this long,
# not after the whole start-to-close timeout.
_HEARTBEAT = timedelta(seconds=20)
# Keep a bounded record of pending changes; one entry per kind is enough to decide.
_MAX_PENDING = 16
# Rotation history kept in state (and shown by the status query and `pushsecret history`).
_MAX_ROTATIONS = 20


def _error_message(err: BaseException) -> str:
    """The user-facing message of an activity failure (ApplicationError messages are ours)."""
    cause = err.cause if isinstance(err, ActivityError) else err
    if isinstance(cause, ApplicationError):
        return cause.message
    return "internal error: " + type(cause).__name__ if cause else str(err)


class _Core:
    """State and shared steps; the subclasses in this package add the decisions."""

    _ref: PushSecretRef
    _s: WorkflowState

    async def _plan(self) -> Plan:
        plan: Plan = await workflow.execute_activity(
            ACT_PLAN,
            self._ref,
            result_type=Plan,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_KUBE_RETRY,
            summary=f"plan {self._ref}",
        )
        return plan

    async def _sync_finalizer(self, plan: Plan) -> None:
        want = plan.deletion_policy == "Delete"
        if want != plan.has_finalizer:
            # Releasing the finalizer when the policy goes back to None avoids ESO #3609.
            await self._set_finalizer(want)

    async def _set_finalizer(self, present: bool) -> None:
        await workflow.execute_activity(
            ACT_SET_FINALIZER,
            FinalizerInput(ref=self._ref, present=present),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
            summary=("add" if present else "remove") + " finalizer",
        )

    def _upsert(self, *updates: SearchAttributeUpdate[Any]) -> None:
        """Update search attributes, when this run was started with ours (registered)."""
        if workflow.info().typed_search_attributes.get(SA_NAMESPACE) is not None:
            workflow.upsert_search_attributes(list(updates))

    async def _patch_status(self, patch: StatusPatch) -> None:
        if patch.ready is not None:
            self._upsert(SA_READY.value_set(patch.ready))
        try:
            await workflow.execute_activity(
                ACT_PATCH_STATUS,
                patch,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_KUBE_RETRY,
                summary="patch status",
            )
        except ActivityError as err:
            # The next reconcile writes the status again; do not lose the loop over it.
            workflow.logger.warning("status patch failed: %s", _error_message(err))
            self._schedule_retry()

    async def _report_failure(
        self, plan: Plan, message: str, synced: dict[str, dict[str, EntryRecord]]
    ) -> None:
        self._s.synced = synced
        self._fail(message)
        await self._patch_status(
            StatusPatch(
                ref=self._ref,
                ready=False,
                reason="Errored",
                message=message,
                synced=_as_spec(synced),
                observed_generation=plan.generation,
                stores=list(self._s.rows.values()),
            )
        )

    def _fail(self, message: str) -> None:
        self._s.last_error = message
        self._s.failures += 1
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        backoff = timedelta(seconds=5 * 2 ** min(self._s.failures, 10))
        self._s.retry_at = workflow.now() + min(backoff, _MAX_BACKOFF)

    def _sleep_for(self) -> timedelta | None:
        deadlines = [
            d
            for d in (
                self._s.next_refresh_at,
                self._s.retry_at,
                self._s.next_rotation_at,
                *(t.due_at for t in self._s.disables),
            )
            if d is not None
        ]
        if not deadlines:
            return None
        return max(min(deadlines) - workflow.now(), timedelta(milliseconds=1))

    # -- reconcile --------------------------------------------------------------------------

    async def _wait_retry(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(lambda: bool(self._s.pending), timeout=self._sleep_for())
        self._s.pending = []

    async def _delete_entries(self, store_key: str, entries: dict[str, EntryRecord]) -> str | None:
        store = self._s.stores.get(store_key)
        if store is None:
            kind, _, name = store_key.partition("/")
            store = StoreTarget.model_validate(
                {"key": store_key, "kind": kind, "name": name, "namespace": self._ref.namespace}
            )
        try:
            await workflow.execute_activity(
                ACT_DELETE_REMOTE,
                DeleteInput(ref=self._ref, store=store, entries=entries),
                result_type=StoreOutcome,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_STORE_RETRY,
                summary=f"delete from {store_key}",  # noqa: S608 (not SQL)
            )
        except ActivityError as err:
            return _error_message(err)
        return None


def _as_spec(synced: dict[str, dict[str, EntryRecord]]) -> dict[str, dict[str, PushSecretData]]:
    """syncedPushSecrets as ESO shapes it: store key → status ref → the pushed entry."""
    return {store: {k: r.data for k, r in entries.items()} for store, entries in synced.items()}
