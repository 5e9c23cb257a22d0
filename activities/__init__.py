"""Temporal activities: thin, typed wrappers that do the I/O the workflow decides on.

Activities are synchronous (they call blocking SDKs) and run in the worker's thread pool, never
on its event loop. Each one is idempotent and says in its docstring what it reads, what it
writes and which errors are retryable. They return references, versions and digests only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pushsecret.digest import Digester
from pushsecret.kube import Kube
from pushsecret.stores import ProviderFactory


@dataclass(frozen=True)
class Deps:
    """What activities need from the process: built once by the worker, shared by threads."""

    kube: Kube
    digester: Digester
    providers: ProviderFactory
    controller_class: str = ""
    #: whether this worker's payloads are encrypted (generated values travel in history)
    values_encrypted: bool = False


def build_activities(deps: Deps) -> list[Callable[..., Any]]:
    """Every activity of the PushSecret workflow, bound to ``deps``."""
    from activities.cluster import ClusterActivities
    from activities.finalizer import FinalizerActivities
    from activities.generate import DisableActivities, GenerateActivities
    from activities.plan import PlanActivities
    from activities.push import PushActivities
    from activities.status import StatusActivities

    plan = PlanActivities(deps)
    push = PushActivities(deps)
    status = StatusActivities(deps)
    fin = FinalizerActivities(deps)
    cluster = ClusterActivities(deps)
    gen = GenerateActivities(deps)
    disable = DisableActivities(deps)
    return [
        gen.generate_values,
        disable.disable_versions,
        cluster.fanout,
        plan.plan,
        push.push_to_store,
        push.delete_remote_refs,
        status.patch_status,
        fin.set_finalizer,
    ]
