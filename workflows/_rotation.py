"""Rotation: one generated value per rotation, pushed to every store (part of the workflow)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.workflow import (
        ACT_GENERATE,
        SA_LAST_ROTATION,
        Generated,
        GenerateInput,
        Plan,
        Rotation,
        RotationRecord,
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
