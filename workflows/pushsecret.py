"""PushSecretWorkflow: one durable, long-running workflow per PushSecret object.

The workflow owns the sync loop of one PushSecret: plan (read the spec and its stores), push to
every store concurrently, patch the status, then sleep until a ``changed`` signal, the refresh
deadline or a retry deadline. On ``delete`` it cleans up according to ``deletionPolicy`` and
completes. All I/O happens in activities; this module only decides.

It keeps every piece of mutable state in one :class:`WorkflowState` so that continue-as-new
carries it whole (a flag kept outside it would be lost with the old run).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.workflow import (
        ACT_PUSH_STORE,
        MSG_NO_SOURCE,
        Change,
        EntryRecord,
        Generated,
        Plan,
        PushInput,
        StatusPatch,
        StatusView,
        StoreOutcome,
        StoreRow,
        StoreTarget,
        WorkflowInput,
        WorkflowState,
    )

from workflows._cleanup import _Cleanup
from workflows._core import (
    _HEARTBEAT,
    _MAX_PENDING,
    _STORE_RETRY,
    MSG_SOURCE_DELETED,
    MSG_SYNCED,
    MSG_SYNCED_IF_NOT_EXISTS,
    _as_spec,
    _error_message,
)
from workflows._rotation import _Rotation


@workflow.defn(name="PushSecretWorkflow")
class PushSecretWorkflow(_Rotation, _Cleanup):
    """Keeps one PushSecret's stores in sync until the PushSecret is deleted."""

    @workflow.init
    def __init__(self, inp: WorkflowInput) -> None:
        self._ref = inp.ref
        self._s: WorkflowState = inp.state or WorkflowState()

    # -- messages ---------------------------------------------------------------------------

    @workflow.signal
    def changed(self, change: Change) -> None:
        """Something the PushSecret depends on changed; reconcile soon."""
        if len(self._s.pending) < _MAX_PENDING:
            self._s.pending.append(change)

    @workflow.signal
    def rotate(self) -> None:
        """Generate a new value now (generator PushSecrets), whatever the rotation schedule."""
        self._s.force_rotation = True
        if len(self._s.pending) < _MAX_PENDING:
            self._s.pending.append(Change(kind="manual", detail="rotate"))

    @workflow.signal
    def delete(self) -> None:
        """The PushSecret is being deleted (deletionTimestamp set) or is gone."""
        self._s.deleting = True

    @workflow.query
    def status(self) -> StatusView:
        """What the workflow last synced: references, digests and versions, never values."""
        return StatusView(
            ref=self._ref,
            deleting=self._s.deleting,
            reconciles=self._s.reconciles,
            next_refresh_at=self._s.next_refresh_at,
            retry_at=self._s.retry_at,
            last_error=self._s.last_error,
            last_synced_at=self._s.last_synced_at,
            synced=self._s.synced,
            stores=list(self._s.rows.values()),
            next_rotation_at=self._s.next_rotation_at,
            rotations=self._s.rotations,
        )

    # -- main loop --------------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: WorkflowInput) -> str:
        while True:
            if self._s.deleting:
                if await self._finalize():
                    return "deleted"
                continue
            if self._disables_due():
                await self._run_disables()
                continue
            if self._due():
                if not await self._reconcile():
                    return "gone"
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._s.pending) or self._s.deleting,
                    timeout=self._sleep_for(),
                    timeout_summary=self._wake_reason(),
                )
            if workflow.info().is_continue_as_new_suggested():
                # Handlers may still be running; finishing them first keeps their effects in
                # the state we carry over.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(WorkflowInput(ref=self._ref, state=self._s))

    def _wake_reason(self) -> str:
        """The UI label of the timer the loop sleeps on: what the nearest deadline is for."""
        named = [
            (self._s.retry_at, "retry after failure"),
            (self._s.next_rotation_at, "next rotation"),
            (self._s.next_refresh_at, "refresh"),
            *((t.due_at, f"grace period ends in {t.store_key}") for t in self._s.disables),
        ]
        due = [(at, label) for at, label in named if at is not None]
        return min(due, key=lambda d: d[0])[1] if due else "wait for a change"

    def _due(self) -> bool:
        """Whether a reconcile should run now; drops resyncs that report nothing new."""
        self._s.pending = [c for c in self._s.pending if not self._stale_resync(c)]
        now = workflow.now()
        return (
            bool(self._s.pending)
            or self._s.reconciles == 0
            or (self._s.next_refresh_at is not None and now >= self._s.next_refresh_at)
            or (self._s.retry_at is not None and now >= self._s.retry_at)
            or (self._s.next_rotation_at is not None and now >= self._s.next_rotation_at)
        )

    def _stale_resync(self, c: Change) -> bool:
        return (
            c.kind == "resync"
            and self._s.reconciles > 0
            and self._s.last_error is None
            and c.generation == self._s.generation
            and c.source_version == self._s.source_version
        )

    async def _reconcile(self) -> bool:
        """One pass of plan → push → status. Returns False when the PushSecret is gone."""
        changes, self._s.pending = self._s.pending, []
        started = workflow.now()
        # A timed refresh is the drift safety net: ask the stores. A change-driven pass trusts
        # the recorded digests for entries whose input did not change.
        verify_remote = not changes or any(c.kind in ("resync", "manual") for c in changes)
        self._s.reconciles += 1
        # The refresh deadline is consumed here and set again from the plan, so that a failing
        # pass can never leave a past deadline behind (which would spin the loop).
        self._s.next_refresh_at = None
        try:
            plan = await self._plan()
        except ActivityError as err:
            self._fail(_error_message(err))
            return True
        if not plan.found:
            return False
        refresh = timedelta(seconds=plan.refresh_seconds)
        self._s.next_refresh_at = started + refresh if refresh > timedelta(0) else None
        self._s.generation = plan.generation
        self._s.source_version = plan.source_version
        self._s.deletion_policy = plan.deletion_policy
        if plan.deleting:
            self._s.deleting = True
            return True
        await self._sync_finalizer(plan)
        if (
            plan.error == MSG_NO_SOURCE
            and plan.source_secret
            and plan.deletion_policy == "Delete"
            and any(self._s.synced.values())
        ):
            await self._source_deleted(plan)
            return True
        if plan.error is not None:
            await self._report_failure(plan, plan.error, self._s.synced)
            return True

        if plan.source_selected and not plan.source_secrets:
            # ESO: a selector matching no Secret is "Synced" with nothing pushed and nothing
            # deleted (a selector that briefly matches nothing must not wipe the stores). We
            # keep our records, so the stores are still cleaned up if the PushSecret goes.
            await self._report_synced(plan, started, {})
            return True
        generated = None
        if plan.generator is not None:
            rotation = await self._current_rotation(plan)
            if rotation is None:
                return True
            generated = Generated(values=rotation.values)
        targets = [s for s in plan.stores if s.error is None]
        outcomes = await asyncio.gather(
            *(self._push(plan, store, verify_remote, generated) for store in targets)
        )
        if plan.generator is not None:
            self._record_rotation(outcomes, plan)
        for store in targets:
            self._s.stores[store.key] = store
        self._update_rows(plan, outcomes, started)
        new_synced = {o.store_key: o.entries for o in outcomes if o.ok}
        # Store resolution errors are shown verbatim, as ESO does; push errors get its prefix.
        errors = [s.error for s in plan.stores if s.error] + [
            o.error if o.error == MSG_NO_SOURCE else "set secret failed: " + o.error
            for o in outcomes
            if o.error
        ]
        if errors:
            # ESO's partial-failure rule: keep what was pushed plus everything recorded before,
            # so that nothing we own is forgotten (and later left undeleted).
            merged = {k: dict(v) for k, v in self._s.synced.items()}
            for o in outcomes:
                merged.setdefault(o.store_key, {}).update(o.entries)
            await self._report_failure(plan, errors[0], merged)
            return True

        if plan.deletion_policy == "Delete":
            stale_error = await self._delete_stale(new_synced)
            if stale_error is not None:
                await self._report_failure(
                    plan, "Failed to Delete Secrets from Provider: " + stale_error, self._s.synced
                )
                return True
        self._s.synced = new_synced
        await self._report_synced(plan, started, new_synced)
        return True

    async def _report_synced(
        self, plan: Plan, started: datetime, synced: dict[str, dict[str, EntryRecord]]
    ) -> None:
        self._s.failures = 0
        self._s.retry_at = None
        self._s.last_error = None
        self._s.last_synced_at = started
        message = MSG_SYNCED_IF_NOT_EXISTS if plan.update_policy == "IfNotExists" else MSG_SYNCED
        await self._patch_status(
            StatusPatch(
                ref=self._ref,
                ready=True,
                reason="Synced",
                message=message,
                synced=_as_spec(synced),
                refresh_time=started,
                synced_resource_version=plan.synced_resource_version,
                observed_generation=plan.generation,
                stores=list(self._s.rows.values()),
            )
        )

    def _update_rows(self, plan: Plan, outcomes: list[StoreOutcome], started: datetime) -> None:
        """One row per store of this plan: its last result, in spec order."""
        by_key = {o.store_key: o for o in outcomes}
        rows: dict[str, StoreRow] = {}
        for store in plan.stores:
            old = self._s.rows.get(store.key)
            outcome = by_key.get(store.key)
            if outcome is not None and outcome.ok:
                rows[store.key] = StoreRow(
                    store=store.key,
                    ready=True,
                    last_sync_time=started,
                    keys=StoreRow.keys_of(outcome.entries),
                )
                continue
            keys = dict(old.keys) if old else {}
            if outcome is not None:
                keys.update(StoreRow.keys_of(outcome.entries))
            rows[store.key] = StoreRow(
                store=store.key,
                ready=False,
                message=store.error or (outcome.error if outcome else None),
                last_sync_time=old.last_sync_time if old else None,
                keys=keys,
            )
        self._s.rows = rows

    async def _push(
        self, plan: Plan, store: StoreTarget, verify_remote: bool, generated: Generated | None
    ) -> StoreOutcome:
        """Push every entry to one store; a failure is returned, not raised."""
        inp = PushInput(
            ref=self._ref,
            store=store,
            source_secret=plan.source_secret or "",
            source_selected=plan.source_selected,
            source_secrets=plan.source_secrets,
            entries=plan.entries,
            data_to=plan.data_to,
            template=plan.template,
            generated=generated,
            update_policy=plan.update_policy,
            known=self._s.synced.get(store.key, {}),
            verify_remote=verify_remote,
        )
        summary = f"push to {store.key}"
        if generated is not None and self._s.rotation is not None:
            summary = f"rotation {self._s.rotation.id}: {summary}"
        try:
            outcome: StoreOutcome = await workflow.execute_activity(
                ACT_PUSH_STORE,
                inp,
                result_type=StoreOutcome,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_STORE_RETRY,
                summary=summary,
            )
            return outcome
        except ActivityError as err:
            outcome = StoreOutcome(store_key=store.key, ok=False, error=_error_message(err))
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.details:
                # A permanent failure after some entries were written reports those entries,
                # so that they stay recorded (and are deleted later under deletionPolicy Delete).
                partial = StoreOutcome.model_validate(cause.details[0])
                outcome.entries = partial.entries
            return outcome


__all__ = ["MSG_SOURCE_DELETED", "MSG_SYNCED", "MSG_SYNCED_IF_NOT_EXISTS", "PushSecretWorkflow"]
