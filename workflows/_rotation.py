"""Rotation: one generated value per rotation, pushed to every store (part of the workflow)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.workflow import (
        ACT_DISABLE_VERSIONS,
        ACT_GENERATE,
        SA_LAST_ROTATION,
        DisableInput,
        Generated,
        GenerateInput,
        PendingDisable,
        Plan,
        Rotation,
        RotationRecord,
        StoreKey,
        StoreOutcome,
    )

from workflows._core import _KUBE_RETRY, _MAX_ROTATIONS, _Core, _error_message


class _Rotation(_Core):
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
        self._upsert(SA_LAST_ROTATION.value_set(now))
        return self._s.rotation

    def _disables_due(self) -> bool:
        now = workflow.now()
        return any(d.due_at <= now for d in self._s.disables)

    async def _run_disables(self) -> None:
        """Disable the earlier versions whose grace period is over (one activity per store)."""
        now = workflow.now()
        keep: list[PendingDisable] = []
        for task in self._s.disables:
            store = self._s.stores.get(task.store_key)
            if task.due_at > now:
                keep.append(task)
                continue
            if store is None:
                continue  # the store left the spec: its versions are no longer ours to manage
            try:
                await workflow.execute_activity(
                    ACT_DISABLE_VERSIONS,
                    DisableInput(ref=self._ref, store=store, keys=task.keys),
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=_KUBE_RETRY,
                    summary=f"disable earlier versions in {task.store_key}",
                )
            except ActivityError:
                keep.append(task.model_copy(update={"due_at": now + timedelta(minutes=5)}))
        self._s.disables = keep

    def _record_rotation(self, outcomes: list[StoreOutcome], plan: Plan) -> None:
        """Which stores hold the current rotation's value, at which versions and digests."""
        if not self._s.rotations or self._s.rotation is None:
            return
        record = self._s.rotations[-1]
        if record.id != self._s.rotation.id:
            return
        previous = self._s.rotations[-2] if len(self._s.rotations) > 1 else None
        for o in outcomes:
            if (
                o.ok
                and plan.grace_seconds is not None
                and previous is not None
                and (o.store_key not in record.stores)
            ):
                # This store now holds the new value: its previous one stays usable for the
                # grace period, then is disabled.
                old = previous.stores.get(o.store_key, {})
                stale = [
                    StoreKey(
                        remote_key=r.data.match.remote_ref.remote_key,
                        property=r.data.match.remote_ref.property,
                        version=old.get(k),
                    )
                    for k, r in o.entries.items()
                    if old.get(k) and old.get(k) != r.remote_version
                ]
                if stale:
                    due = record.at + timedelta(seconds=plan.grace_seconds)
                    self._s.disables.append(
                        PendingDisable(store_key=o.store_key, keys=stale, due_at=due)
                    )
            if o.ok:
                record.stores[o.store_key] = {k: r.remote_version for k, r in o.entries.items()}
                record.digests.update(
                    {f"{o.store_key}:{k}": r.digest for k, r in o.entries.items()}
                )
