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
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.pushsecret import PushSecretData
    from pushsecret.api.workflow import (
        ACT_DELETE_REMOTE,
        ACT_GENERATE,
        ACT_PATCH_STATUS,
        ACT_PLAN,
        ACT_PUSH_STORE,
        ACT_SET_FINALIZER,
        MSG_NO_SOURCE,
        Change,
        DeleteInput,
        EntryRecord,
        FinalizerInput,
        Generated,
        GenerateInput,
        Plan,
        PushInput,
        Rotation,
        RotationRecord,
        StatusPatch,
        StatusView,
        StoreOutcome,
        StoreRow,
        StoreTarget,
        WorkflowInput,
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


@workflow.defn(name="PushSecretWorkflow")
class PushSecretWorkflow:
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
            if self._due():
                if not await self._reconcile():
                    return "gone"
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._s.pending) or self._s.deleting, timeout=self._sleep_for()
                )
            if workflow.info().is_continue_as_new_suggested():
                # Handlers may still be running; finishing them first keeps their effects in
                # the state we carry over.
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(WorkflowInput(ref=self._ref, state=self._s))

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

    def _sleep_for(self) -> timedelta | None:
        deadlines = [
            d
            for d in (self._s.next_refresh_at, self._s.retry_at, self._s.next_rotation_at)
            if d is not None
        ]
        if not deadlines:
            return None
        return max(min(deadlines) - workflow.now(), timedelta(milliseconds=1))

    # -- reconcile --------------------------------------------------------------------------

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
            self._record_rotation(outcomes)
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

    async def _current_rotation(self, plan: Plan) -> Rotation | None:
        """The value to push: the current rotation's, or a new one when one is due.

        One value per rotation: a rotation is due when there is none yet, when the generator
        changed, when ``rotate`` was signalled, or (updatePolicy Replace) at the absolute
        ``next_rotation_at`` deadline, which restarts, spec edits and continue-as-new never
        move. IfNotExists generates once. Returns None when generating failed (reported).
        """
        assert plan.generator is not None
        gen_key = f"{plan.generator.get('kind')}/{plan.generator.get('name')}"
        now = workflow.now()
        current = self._s.rotation
        due = (
            current is None
            or current.generator != gen_key
            or self._s.force_rotation
            or (
                plan.update_policy == "Replace"
                and self._s.next_rotation_at is not None
                and now >= self._s.next_rotation_at
            )
        )
        if not due:
            return current
        rid = current.id + 1 if current is not None else 1
        try:
            gen: Generated = await workflow.execute_activity(
                ACT_GENERATE,
                GenerateInput(ref=self._ref, generator=plan.generator, rotation=rid),
                result_type=Generated,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=_KUBE_RETRY,
                summary=f"rotation {rid}: generate with {gen_key}",
            )
        except ActivityError as err:
            await self._report_failure(plan, _error_message(err), self._s.synced)
            return None
        self._s.rotation = Rotation(id=rid, at=now, generator=gen_key, values=gen.values)
        self._s.force_rotation = False
        refresh = timedelta(seconds=plan.refresh_seconds)
        replace = plan.update_policy == "Replace" and refresh > timedelta(0)
        self._s.next_rotation_at = now + refresh if replace else None
        self._s.rotations = [*self._s.rotations, RotationRecord(id=rid, at=now)][-_MAX_ROTATIONS:]
        return self._s.rotation

    def _record_rotation(self, outcomes: list[StoreOutcome]) -> None:
        """Which stores hold the current rotation's value, at which versions and digests."""
        if not self._s.rotations or self._s.rotation is None:
            return
        record = self._s.rotations[-1]
        if record.id != self._s.rotation.id:
            return
        for o in outcomes:
            if o.ok:
                record.stores[o.store_key] = {k: r.remote_version for k, r in o.entries.items()}
                record.digests.update(
                    {f"{o.store_key}:{k}": r.digest for k, r in o.entries.items()}
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

    async def _delete_stale(self, new_synced: dict[str, dict[str, EntryRecord]]) -> str | None:
        """Delete entries recorded before but no longer desired (deletionPolicy Delete)."""
        for store_key, old_entries in sorted(self._s.synced.items()):
            keep = new_synced.get(store_key, {})
            stale = {k: v for k, v in old_entries.items() if k not in keep}
            if not stale:
                continue
            error = await self._delete_entries(store_key, stale)
            if error is not None:
                return error
        return None

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

    async def _patch_status(self, patch: StatusPatch) -> None:
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

    async def _source_deleted(self, plan: Plan) -> None:
        """ESO's SourceDeleted: the named source Secret is gone under deletionPolicy Delete, so
        what it pushed is deleted from the stores. When the Secret comes back, the watcher's
        signal pushes it again (ESO only notices on the next PushSecret change: Q18)."""
        for store_key, entries in sorted(self._s.synced.items()):
            error = await self._delete_entries(store_key, entries)
            if error is not None:
                await self._report_failure(
                    plan, "failed to cleanup provider secrets: " + error, self._s.synced
                )
                return
            self._s.synced[store_key] = {}
        self._s.synced = {}
        self._s.last_error = MSG_SOURCE_DELETED
        await self._patch_status(
            StatusPatch(
                ref=self._ref,
                ready=False,
                reason="SourceDeleted",
                message=MSG_SOURCE_DELETED,
                synced={},
                observed_generation=plan.generation,
                stores=[],
            )
        )

    # -- deletion ---------------------------------------------------------------------------

    async def _finalize(self) -> bool:
        """Clean up after a deletion request. Returns True when the workflow may complete."""
        try:
            plan = await self._plan()
        except ActivityError as err:
            self._fail(_error_message(err))
            await self._wait_retry()
            return False
        if plan.found and not plan.deleting:
            # A late or spurious delete signal: the object is alive, keep syncing it.
            self._s.deleting = False
            return False
        if not plan.found:
            # Without our finalizer Kubernetes already removed it; under deletionPolicy None
            # that is the expected path, under Delete somebody removed the finalizer by hand.
            return True
        if plan.deletion_policy == "Delete" and plan.has_finalizer:
            for store_key, entries in sorted(self._s.synced.items()):
                error = await self._delete_entries(store_key, entries)
                if error is not None:
                    await self._report_failure(
                        plan, "Failed to Delete Secrets from Provider: " + error, self._s.synced
                    )
                    await self._wait_retry()
                    return False
                del self._s.synced[store_key]
        if plan.has_finalizer:
            await self._set_finalizer(False)
        return True

    async def _wait_retry(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(lambda: bool(self._s.pending), timeout=self._sleep_for())
        self._s.pending = []


def _as_spec(synced: dict[str, dict[str, EntryRecord]]) -> dict[str, dict[str, PushSecretData]]:
    """syncedPushSecrets as ESO shapes it: store key → status ref → the pushed entry."""
    return {store: {k: r.data for k, r in entries.items()} for store, entries in synced.items()}


__all__ = ["MSG_SYNCED", "MSG_SYNCED_IF_NOT_EXISTS", "PushSecretWorkflow"]
