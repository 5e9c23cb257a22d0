"""Deletion: stale entries, a deleted source Secret, and the PushSecret's own deletion."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.workflow import EntryRecord, Plan, StatusPatch

from workflows._core import MSG_SOURCE_DELETED, _Core, _error_message


class _Cleanup(_Core):
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
