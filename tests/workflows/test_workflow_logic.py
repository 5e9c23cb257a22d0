"""PushSecretWorkflow's decisions on the time-skipping server, with scripted activities.

This checks the workflow's logic in isolation (timers, signals, failure isolation, deletion
order); the same paths run against the real activities and emulators in tests/e2e.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from pushsecret.api.pushsecret import PushSecretData
from pushsecret.api.workflow import (
    ACT_DELETE_REMOTE,
    ACT_PATCH_STATUS,
    ACT_PLAN,
    ACT_PUSH_STORE,
    ACT_SET_FINALIZER,
    Change,
    DeleteInput,
    EntryRecord,
    FinalizerInput,
    Plan,
    PushInput,
    PushSecretRef,
    StatusPatch,
    StoreOutcome,
    StoreTarget,
    WorkflowInput,
)
from workflows.pushsecret import MSG_SYNCED, PushSecretWorkflow

ENTRY = PushSecretData.model_validate(
    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "db-password"}}}
)


@dataclass
class Script:
    """Scripted world: what plan returns, which stores fail, and every call made."""

    plan: Plan
    failing: set[str] = field(default_factory=set)
    pushes: list[PushInput] = field(default_factory=list)
    deletes: list[DeleteInput] = field(default_factory=list)
    statuses: list[StatusPatch] = field(default_factory=list)
    finalizers: list[bool] = field(default_factory=list)

    def activities(self) -> list[object]:
        @activity.defn(name=ACT_PLAN)
        async def plan(ref: PushSecretRef) -> Plan:
            return self.plan

        @activity.defn(name=ACT_PUSH_STORE)
        async def push(inp: PushInput) -> StoreOutcome:
            self.pushes.append(inp)
            if inp.store.key in self.failing:
                raise ApplicationError(
                    "could not write remote ref password to target secretstore bad: boom",
                    type="Unavailable",
                    non_retryable=True,
                )
            rec = EntryRecord(data=ENTRY, digest="hmac-sha256:x", remote_version="1")
            return StoreOutcome(store_key=inp.store.key, ok=True, entries={"db-password": rec})

        @activity.defn(name=ACT_DELETE_REMOTE)
        async def delete(inp: DeleteInput) -> StoreOutcome:
            self.deletes.append(inp)
            return StoreOutcome(store_key=inp.store.key, ok=True, entries=inp.entries)

        @activity.defn(name=ACT_PATCH_STATUS)
        async def status(patch: StatusPatch) -> bool:
            self.statuses.append(patch)
            return True

        @activity.defn(name=ACT_SET_FINALIZER)
        async def finalizer(inp: FinalizerInput) -> bool:
            self.finalizers.append(inp.present)
            self.plan = self.plan.model_copy(update={"has_finalizer": inp.present})
            return True

        return [plan, push, delete, status, finalizer]


def _store(name: str) -> StoreTarget:
    return StoreTarget(key=f"SecretStore/{name}", kind="SecretStore", name=name, namespace="ns")


def _plan(*stores: str, policy: str = "None", refresh: float = 3600.0) -> Plan:
    return Plan.model_validate(
        {
            "found": True,
            "generation": 1,
            "deletion_policy": policy,
            "refresh_seconds": refresh,
            "source_secret": "db",
            "source_version": "7",
            "entries": [ENTRY.model_dump(by_alias=True)],
            "stores": [_store(s).model_dump() for s in stores],
            "synced_resource_version": "1-abc",
        }
    )


async def _start(env: WorkflowEnvironment, tq: str) -> WorkflowHandle[PushSecretWorkflow, str]:
    ref = PushSecretRef(namespace="ns", name="ps", uid=str(uuid.uuid4()))
    return await env.client.start_workflow(
        PushSecretWorkflow.run, WorkflowInput(ref=ref), id=ref.workflow_id, task_queue=tq
    )


async def _until(env: WorkflowEnvironment, cond: object, what: str) -> None:
    # Time-skipping: each sleep advances server time instantly, so this is a bounded poll.
    for _ in range(200):
        if callable(cond) and cond():
            return
        await env.sleep(timedelta(seconds=1))
    raise AssertionError(f"never happened: {what}")


async def test_first_sync_then_refresh_after_interval(time_env: WorkflowEnvironment) -> None:
    script = Script(plan=_plan("a", "b"))
    tq = str(uuid.uuid4())
    async with Worker(
        time_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await _start(time_env, tq)
        await _until(time_env, lambda: len(script.statuses) >= 1, "first status")
        assert sorted(p.store.key for p in script.pushes) == ["SecretStore/a", "SecretStore/b"]
        first = script.statuses[0]
        assert first.ready is True and first.reason == "Synced" and first.message == MSG_SYNCED
        assert first.synced is not None and set(first.synced) == {"SecretStore/a", "SecretStore/b"}
        assert all(p.verify_remote for p in script.pushes)

        # Nothing happens before the interval; after it, a verifying refresh runs.
        await time_env.sleep(timedelta(minutes=59))
        assert len(script.pushes) == 2
        await time_env.sleep(timedelta(minutes=2))
        await _until(time_env, lambda: len(script.pushes) >= 4, "refresh after 1h")
        assert all(p.verify_remote for p in script.pushes[2:])
        assert script.pushes[3].known["db-password"].remote_version == "1"

        # A change signal syncs at once and trusts recorded digests.
        await handle.signal(PushSecretWorkflow.changed, Change(kind="source", source_version="8"))
        await _until(time_env, lambda: len(script.pushes) >= 6, "push after change")
        assert not any(p.verify_remote for p in script.pushes[4:])
        await handle.terminate()


async def test_failing_store_does_not_block_the_other(time_env: WorkflowEnvironment) -> None:
    script = Script(plan=_plan("good", "bad"), failing={"SecretStore/bad"})
    tq = str(uuid.uuid4())
    async with Worker(
        time_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await _start(time_env, tq)
        await _until(time_env, lambda: len(script.statuses) >= 1, "status")
        st = script.statuses[0]
        assert st.ready is False and st.reason == "Errored"
        assert st.message == (
            "set secret failed: could not write remote ref password to target secretstore bad: boom"
        )
        assert st.synced is not None and "SecretStore/good" in st.synced
        assert st.synced.get("SecretStore/bad", {}) == {}  # ESO keeps the failing store, empty
        rows = {r.store: r for r in st.stores or []}
        assert [r.store for r in st.stores or []] == ["SecretStore/good", "SecretStore/bad"]
        assert (
            rows["SecretStore/good"].ready
            and rows["SecretStore/good"].keys["db-password"].version == "1"
        )
        assert not rows["SecretStore/bad"].ready
        assert rows["SecretStore/bad"].message == (
            "could not write remote ref password to target secretstore bad: boom"
        )
        view = await handle.query(PushSecretWorkflow.status)
        assert view.retry_at is not None and view.last_error == st.message

        # The store recovers: the workflow's own retry deadline brings it back, no signal needed.
        script.failing.clear()
        await _until(time_env, lambda: any(s.ready for s in script.statuses), "recovery")
        ok = next(s for s in script.statuses if s.ready)
        assert ok.synced is not None and set(ok.synced) == {"SecretStore/good", "SecretStore/bad"}
        await handle.terminate()


async def test_delete_policy_deletes_recorded_refs_then_releases(
    time_env: WorkflowEnvironment,
) -> None:
    script = Script(plan=_plan("a", policy="Delete"))
    tq = str(uuid.uuid4())
    async with Worker(
        time_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await _start(time_env, tq)
        await _until(time_env, lambda: len(script.statuses) >= 1, "status")
        assert script.finalizers == [True]
        script.plan = script.plan.model_copy(update={"deleting": True})
        await handle.signal(PushSecretWorkflow.delete)
        assert await handle.result() == "deleted"
        assert [d.store.key for d in script.deletes] == ["SecretStore/a"]
        assert list(script.deletes[0].entries) == ["db-password"]
        assert script.finalizers == [True, False]


async def test_policy_none_keeps_remote_and_completes(time_env: WorkflowEnvironment) -> None:
    script = Script(plan=_plan("a"))
    tq = str(uuid.uuid4())
    async with Worker(
        time_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await _start(time_env, tq)
        await _until(time_env, lambda: len(script.statuses) >= 1, "status")
        script.plan = Plan(found=False)
        await handle.signal(PushSecretWorkflow.delete)
        assert await handle.result() == "deleted"
        assert script.deletes == [] and script.finalizers == []


async def test_refresh_interval_zero_waits_for_changes_only(time_env: WorkflowEnvironment) -> None:
    script = Script(plan=_plan("a", refresh=0))
    tq = str(uuid.uuid4())
    async with Worker(
        time_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await _start(time_env, tq)
        await _until(time_env, lambda: len(script.statuses) >= 1, "status")
        await time_env.sleep(timedelta(days=3))
        assert len(script.pushes) == 1
        # A resync that reports the versions already handled is dropped...
        await handle.signal(
            PushSecretWorkflow.changed, Change(kind="resync", generation=1, source_version="7")
        )
        await time_env.sleep(timedelta(seconds=5))
        assert len(script.pushes) == 1
        # ...one with a new source version is not.
        await handle.signal(
            PushSecretWorkflow.changed, Change(kind="resync", generation=1, source_version="9")
        )
        await _until(time_env, lambda: len(script.pushes) >= 2, "push after resync")
        await handle.terminate()


async def test_failed_refresh_backs_off_instead_of_spinning(time_env: WorkflowEnvironment) -> None:
    script = Script(plan=_plan("a"))
    tq = str(uuid.uuid4())
    async with Worker(
        time_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await _start(time_env, tq)
        await _until(time_env, lambda: len(script.statuses) >= 1, "status")
        script.failing.add("SecretStore/a")
        await time_env.sleep(timedelta(minutes=61))  # the hourly refresh runs, and fails
        await time_env.sleep(timedelta(minutes=10))
        # Backoff 10 s, 20 s, 40 s, ... (capped at 5 min): a handful of attempts in 10 minutes.
        attempts = len(script.pushes) - 1
        assert 2 <= attempts <= 12, attempts
        view = await handle.query(PushSecretWorkflow.status)
        assert view.retry_at is not None and view.next_refresh_at is not None
        await handle.terminate()
