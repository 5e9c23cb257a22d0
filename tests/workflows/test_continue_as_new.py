"""Continue-as-new on the real dev server, and replay of the histories it produced.

The dev server is told to suggest continue-as-new after a few dozen events, so a handful of
signals walk the workflow through several runs. State must survive each hop (what was synced,
the refresh deadline, the reconcile count) and no signal may be lost across it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from pushsecret.api.workflow import Change, PushSecretRef, WorkflowInput
from pushsecret.codec import data_converter
from tests.conftest import BIN
from tests.workflows.test_workflow_logic import Script, _plan
from workflows.pushsecret import PushSecretWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


@pytest_asyncio.fixture(scope="module")
async def local_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=data_converter(),
        ui=False,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_state_survives_continue_as_new(local_env: WorkflowEnvironment) -> None:
    script = Script(plan=_plan("a", "b"))
    tq = str(uuid.uuid4())
    ref = PushSecretRef(namespace="ns", name="can", uid=str(uuid.uuid4()))
    async with Worker(
        local_env.client,
        task_queue=tq,
        workflows=[PushSecretWorkflow],
        activities=script.activities(),
    ):
        handle = await local_env.client.start_workflow(
            PushSecretWorkflow.run, WorkflowInput(ref=ref), id=ref.workflow_id, task_queue=tq
        )
        first_run = (await handle.describe()).run_id
        for _ in range(400):  # the first pass, before any signal (a signal would be folded in)
            if script.statuses:
                break
            await local_env.sleep(0.05)
        for i in range(12):
            await handle.signal(
                PushSecretWorkflow.changed, Change(kind="source", source_version=str(100 + i))
            )

            # Every signal is handled: the count of reconciles only grows, across runs.
            async def caught_up(n: int = i) -> bool:
                view = await handle.query(PushSecretWorkflow.status)
                return view.reconciles >= n + 2

            for _ in range(400):
                if await caught_up():
                    break
                await local_env.sleep(0.05)
            else:
                raise AssertionError(f"signal {i} was not handled")
        desc = await handle.describe()
        assert desc.run_id != first_run, "the workflow never continued as new"
        view = await handle.query(PushSecretWorkflow.status)
        assert view.reconciles >= 13
        assert set(view.synced) == {"SecretStore/a", "SecretStore/b"}
        assert view.next_refresh_at is not None

        # Replay every run's history with today's code: it must be deterministic.
        histories: list[WorkflowHistory] = []
        async for wf in local_env.client.list_workflows(f'WorkflowId = "{ref.workflow_id}"'):
            histories.append(
                await local_env.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            )
        assert len(histories) >= 2
        await handle.terminate()
    if os.environ.get("PUSHSECRET_RECORD_HISTORIES"):
        # Record the oldest run (sync, refreshes, signals, continue-as-new) for future replays.
        out = HISTORIES / "pushsecret_continue_as_new.json"
        oldest = histories[-1]
        out.write_text(
            json.dumps(
                {"workflow_id": oldest.workflow_id, "history": oldest.to_json_dict()}, indent=1
            )
            + "\n"
        )
    replayer = Replayer(workflows=[PushSecretWorkflow], data_converter=data_converter())
    for h in histories:
        await replayer.replay_workflow(h)


async def test_committed_histories_still_replay() -> None:
    """Histories recorded by earlier versions must replay: a failure means a breaking change."""
    files = sorted(HISTORIES.glob("*.json"))
    assert files, "no committed histories"
    replayer = Replayer(workflows=[PushSecretWorkflow], data_converter=data_converter())
    for f in files:
        data = json.loads(f.read_text())
        history = WorkflowHistory.from_json(data["workflow_id"], data["history"])
        await replayer.replay_workflow(history)
