"""ESO's status bookkeeping, as pure functions: the Ready condition and syncedResourceVersion."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pushsecret.api.pushsecret import PushSecretData
from pushsecret.api.workflow import StoreRow


def _go_map(m: dict[str, str]) -> str:
    # Go's %+v of a map: keys sorted, "k:v" pairs separated by spaces.
    return "map[" + " ".join(f"{k}:{m[k]}" for k in sorted(m)) + "]"


def synced_resource_version(
    generation: int, labels: dict[str, str], annotations: dict[str, str]
) -> str:
    """ESO's ``<generation>-<sha3_224 of {annotations:map[..] labels:map[..]}>``."""
    text = "{annotations:" + _go_map(annotations) + " labels:" + _go_map(labels) + "}"
    return f"{generation}-{hashlib.sha3_224(text.encode()).hexdigest()}"


def rfc3339(t: datetime) -> str:
    """Kubernetes metav1.Time: UTC, second precision."""
    aware = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_ready(
    conditions: list[dict[str, Any]],
    *,
    status: bool,
    reason: str,
    message: str,
    now: datetime,
    observed_generation: int | None = None,
) -> list[dict[str, Any]]:
    """Conditions with Ready set as ESO sets it.

    Same status, reason and message: unchanged (timestamp kept). Same status only: replaced,
    lastTransitionTime kept. Otherwise lastTransitionTime = now. Ready moves to the end.
    """
    want = "True" if status else "False"
    others = [c for c in conditions if c.get("type") != "Ready"]
    old = next((c for c in conditions if c.get("type") == "Ready"), None)
    if (
        old
        and old.get("status") == want
        and old.get("reason") == reason
        and old.get("message") == message
    ):
        new = dict(old)
    else:
        new = {"type": "Ready", "status": want, "reason": reason, "message": message}
        if old and old.get("status") == want and old.get("lastTransitionTime"):
            new["lastTransitionTime"] = old["lastTransitionTime"]
        else:
            new["lastTransitionTime"] = rfc3339(now)
    if observed_generation is not None:
        new["observedGeneration"] = observed_generation
    return [*others, new]


def synced_entry(data: PushSecretData) -> dict[str, Any]:
    """One syncedPushSecrets value as ESO serialises it (Go's omitempty on empty strings)."""
    out = data.model_dump(by_alias=True, exclude_none=True, mode="json")
    match = out.get("match") or {}
    if not match.get("secretKey"):
        match.pop("secretKey", None)
    ref = match.get("remoteRef") or {}
    if not ref.get("property"):
        ref.pop("property", None)
    return out


def store_row(row: StoreRow) -> dict[str, Any]:
    """One ``status.stores`` item: the store's last result and the versions its keys hold."""
    keys = []
    for _, k in sorted(row.keys.items()):
        key: dict[str, Any] = {"remoteKey": k.remote_key}
        if k.property:
            key["property"] = k.property
        if k.version is not None:
            key["version"] = k.version
        keys.append(key)
    out: dict[str, Any] = {"name": row.store, "ready": row.ready, "keys": keys}
    if row.message:
        out["message"] = row.message
    if row.last_sync_time is not None:
        out["lastSyncTime"] = rfc3339(row.last_sync_time)
    return out


def selected_sources_version(versions: Iterable[tuple[str, str]]) -> str:
    """The source version of a label-selected PushSecret: ``name=resourceVersion`` pairs in
    name order. The plan and the watcher must compute it alike, or resyncs stop being no-ops."""
    return ",".join(f"{name}={rv}" for name, rv in sorted(versions))
