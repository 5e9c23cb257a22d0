"""Process settings for the worker and the watcher, from environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pushsecret.api.workflow import DEFAULT_TASK_QUEUE


def _env_list(name: str) -> list[str]:
    return [p.strip() for p in os.environ.get(name, "").split(",") if p.strip()]


@dataclass(frozen=True)
class Settings:
    """Where Temporal is, what to watch, and how.

    ``TEMPORAL_ADDRESS`` (``localhost:7233``), ``TEMPORAL_NAMESPACE`` (``default``),
    ``PUSHSECRET_TASK_QUEUE`` (``pushsecret``), ``PUSHSECRET_WATCH_NAMESPACES`` (comma list,
    empty = all), ``PUSHSECRET_RESYNC_SECONDS`` (300), ``PUSHSECRET_CONTROLLER_CLASS`` (stores
    naming another controller are ignored, as in ESO), ``PUSHSECRET_SEARCH_ATTRIBUTES`` (1: set
    the PushSecretNamespace / PushSecretName search attributes, which must be registered on
    the Temporal namespace), ``PUSHSECRET_ACTIVITY_THREADS`` (16).
    """

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = DEFAULT_TASK_QUEUE
    watch_namespaces: list[str] = field(default_factory=list)
    resync_seconds: float = 300.0
    controller_class: str = ""
    search_attributes: bool = True
    activity_threads: int = 16

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            temporal_address=env.get("TEMPORAL_ADDRESS", cls.temporal_address),
            temporal_namespace=env.get("TEMPORAL_NAMESPACE", cls.temporal_namespace),
            task_queue=env.get("PUSHSECRET_TASK_QUEUE", cls.task_queue),
            watch_namespaces=_env_list("PUSHSECRET_WATCH_NAMESPACES"),
            resync_seconds=float(env.get("PUSHSECRET_RESYNC_SECONDS", cls.resync_seconds)),
            controller_class=env.get("PUSHSECRET_CONTROLLER_CLASS", ""),
            search_attributes=env.get("PUSHSECRET_SEARCH_ATTRIBUTES", "1") not in ("0", "false"),
            activity_threads=int(env.get("PUSHSECRET_ACTIVITY_THREADS", cls.activity_threads)),
        )
