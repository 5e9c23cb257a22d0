"""ClusterPushSecretWorkflow: keeps one ClusterPushSecret's PushSecrets fanned out.

Each child is an ordinary PushSecret, synced by its own PushSecretWorkflow; this workflow
only decides when to fan out again: on a ``changed`` signal (the ClusterPushSecret or a
Namespace changed), at ``refreshTime``, or after a failure's backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pushsecret.api.workflow import ACT_FANOUT, ClusterInput, ClusterState, FanoutResult

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
)


@workflow.defn(name="ClusterPushSecretWorkflow")
class ClusterPushSecretWorkflow:
    @workflow.init
    def __init__(self, inp: ClusterInput) -> None:
        self._ref = inp.ref
        self._s: ClusterState = inp.state or ClusterState()

    @workflow.signal
    def changed(self) -> None:
        """The ClusterPushSecret, or a Namespace, changed: fan out again soon."""
        self._s.pending += 1

    @workflow.query
    def status(self) -> ClusterState:
        return self._s

    @workflow.run
    async def run(self, inp: ClusterInput) -> str:
        while True:
            self._s.pending = 0
            self._s.reconciles += 1
            now = workflow.now()
            try:
                result: FanoutResult = await workflow.execute_activity(
                    ACT_FANOUT,
                    self._ref,
                    result_type=FanoutResult,
                    start_to_close_timeout=timedelta(minutes=2),
                    retry_policy=_RETRY,
                    summary=f"fan out {self._ref.name}",
                )
            except ActivityError:
                self._s.failures += 1
                self._s.retry_at = now + min(
                    timedelta(seconds=5 * 2 ** min(self._s.failures, 10)), timedelta(minutes=5)
                )
            else:
                if not result.found:
                    return "deleted"
                self._s.last, self._s.failures, self._s.retry_at = result, 0, None
                self._s.next_refresh_at = now + timedelta(seconds=result.refresh_seconds)
            deadline = min(
                d
                for d in (self._s.next_refresh_at, self._s.retry_at, now + timedelta(hours=1))
                if d is not None
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: self._s.pending > 0,
                    timeout=max(deadline - workflow.now(), timedelta(milliseconds=1)),
                )
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(ClusterInput(ref=self._ref, state=self._s))
