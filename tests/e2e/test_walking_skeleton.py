"""The walking skeleton end to end: Kubernetes API → watcher → Temporal → activities → GCP.

Every test drives the official clients against the local stack (the real Temporal dev server,
the Kubernetes and GCP emulators, and the worker and watcher as separate processes) and polls
with generous deadlines; none of them sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import time

from kubernetes.client.exceptions import ApiException
from temporalio.client import Client, WorkflowExecutionStatus

from pushsecret.api.pushsecret import FINALIZER
from tests.e2e.conftest import Cluster, poll


def _wf_id(c: Cluster, ns: str, name: str) -> str:
    return f"pushsecret/{ns}/{name}/{c.get_ps(ns, name)['metadata']['uid']}"


def test_push_reaches_store_and_status_is_synced(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "s3cr3t-first-value"})
    cluster.store(ns)
    cluster.pushsecret(ns, "app", secret="db")

    cond = cluster.wait_ready(ns, "app")
    assert cond["reason"] == "Synced"
    assert cond["message"] == "PushSecret synced successfully"
    assert cond["lastTransitionTime"]
    assert cluster.remote(f"{ns}-app") == b"s3cr3t-first-value"
    status = cluster.get_ps(ns, "app")["status"]
    assert status["refreshTime"]
    assert status["syncedResourceVersion"].startswith("1-")
    assert status["syncedPushSecrets"] == {
        "SecretStore/gcp": {
            f"{ns}-app": {
                "match": {"secretKey": "password", "remoteRef": {"remoteKey": f"{ns}-app"}},
                "conversionStrategy": "None",
            }
        }
    }
    [row] = status["stores"]
    assert row["name"] == "SecretStore/gcp" and row["ready"] is True and row["lastSyncTime"]
    assert row["keys"] == [{"remoteKey": f"{ns}-app", "version": "1"}]
    events = poll(lambda: cluster.core.list_namespaced_event(ns).items, 30, "an event")
    assert [(e.type, e.reason, e.message, e.involved_object.name) for e in events] == [
        ("Normal", "Synced", "PushSecret synced successfully", "app")
    ]
    secret = cluster.gcp.get_secret(name=f"projects/e2e-project/secrets/{ns}-app")
    assert secret.labels["managed-by"] == "external-secrets"


def test_source_change_reaches_store_without_waiting_for_refresh(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "v1-value"})
    cluster.store(ns)
    cluster.pushsecret(ns, "app", secret="db", refreshInterval="1h")
    cluster.wait_ready(ns, "app")
    assert cluster.remote(f"{ns}-app") == b"v1-value"

    started = time.monotonic()
    cluster.set_secret(ns, "db", {"password": "v2-value"})
    poll(lambda: cluster.remote(f"{ns}-app") == b"v2-value", 30, "the new value in GCP")
    assert time.monotonic() - started < 30  # the refresh interval is an hour
    assert len(cluster.versions(f"{ns}-app")) == 2


def test_refresh_with_nothing_changed_adds_no_version(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "steady"})
    cluster.store(ns)
    cluster.pushsecret(ns, "app", secret="db", refreshInterval="1s")
    cluster.wait_ready(ns, "app")
    first = cluster.get_ps(ns, "app")["status"]["refreshTime"]
    # refreshTime has second precision: two later values prove at least two more refreshes.
    seen = {first}
    poll(
        lambda: seen.add(cluster.get_ps(ns, "app")["status"]["refreshTime"]) or len(seen) >= 3,
        30,
        "two more refreshes",
    )
    assert len(cluster.versions(f"{ns}-app")) == 1


async def test_delete_policy_delete_removes_remote_and_completes(
    cluster: Cluster, temporal: Client
) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "to-be-deleted"})
    cluster.store(ns)
    cluster.pushsecret(ns, "app", secret="db", deletionPolicy="Delete")
    cluster.wait_ready(ns, "app")
    poll(
        lambda: FINALIZER in (cluster.get_ps(ns, "app")["metadata"].get("finalizers") or []),
        30,
        "our finalizer",
    )
    wf = _wf_id(cluster, ns, "app")
    assert cluster.remote_exists(f"{ns}-app")

    cluster.custom.delete_namespaced_custom_object(
        "external-secrets.io", "v1alpha1", ns, "pushsecrets", "app"
    )
    poll(lambda: _gone(cluster, ns, "app"), 60, "the PushSecret to be gone")
    assert not cluster.remote_exists(f"{ns}-app")
    await _completed(temporal, wf)


async def test_delete_policy_none_keeps_remote(cluster: Cluster, temporal: Client) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "to-be-kept"})
    cluster.store(ns)
    cluster.pushsecret(ns, "app", secret="db")
    cluster.wait_ready(ns, "app")
    wf = _wf_id(cluster, ns, "app")
    cluster.custom.delete_namespaced_custom_object(
        "external-secrets.io", "v1alpha1", ns, "pushsecrets", "app"
    )
    poll(lambda: _gone(cluster, ns, "app"), 60, "the PushSecret to be gone")

    await _completed(temporal, wf)
    assert cluster.remote(f"{ns}-app") == b"to-be-kept"


def test_missing_store_is_reported_then_converges(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "waits-for-store"})
    cluster.pushsecret(ns, "app", secret="db", store="late")
    cond = cluster.wait_ready(ns, "app", status="False")
    assert cond["reason"] == "Errored"
    assert cond["message"] == (
        'could not get SecretStore "late", secretstores.external-secrets.io "late" not found'
    )
    cluster.store(ns, "late")
    cluster.wait_ready(ns, "app", timeout=60)
    assert cluster.remote(f"{ns}-app") == b"waits-for-store"
    # One event per change of the condition, not one per reconcile (ESO floods: Q19).
    events = poll(
        lambda: len(evs := cluster.core.list_namespaced_event(ns).items) >= 2 and evs,
        30,
        "two events",
    )
    assert sorted((e.type, e.reason) for e in events) == [
        ("Normal", "Synced"),
        ("Warning", "Errored"),
    ]


def test_missing_secret_is_reported_then_converges(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.pushsecret(ns, "app", secret="later")
    cond = cluster.wait_ready(ns, "app", status="False")
    assert cond["reason"] == "Errored"
    assert cond["message"] == "could not get source secret"
    cluster.secret(ns, "later", {"password": "arrived-late"})
    cluster.wait_ready(ns, "app", timeout=60)
    assert cluster.remote(f"{ns}-app") == b"arrived-late"


def test_missing_key_is_reported(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"user": "admin"})
    cluster.pushsecret(ns, "app", secret="db")
    cond = cluster.wait_ready(ns, "app", status="False")
    assert cond["message"] == "set secret failed: secret key password does not exist"


def _gone(c: Cluster, ns: str, name: str) -> bool:
    try:
        c.get_ps(ns, name)
    except ApiException as err:
        return err.status == 404
    return False


async def _completed(temporal: Client, wf: str, timeout: float = 60) -> None:
    """Poll until the workflow has completed (it finishes just after releasing the object)."""
    deadline = time.monotonic() + timeout
    while (await temporal.get_workflow_handle(wf).describe()).status != (
        WorkflowExecutionStatus.COMPLETED
    ):
        assert time.monotonic() < deadline, f"workflow {wf} did not complete"
        await asyncio.sleep(0.1)


def test_one_failing_store_does_not_block_the_other(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.secret(ns, "db", {"password": "two-stores"})
    cluster.store(ns, "good")
    # A store whose credentials Secret does not exist: every push to it fails, permanently.
    cluster.custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1",
        ns,
        "secretstores",
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "bad"},
            "spec": {
                "provider": {
                    "gcpsm": {
                        "projectID": "other",
                        "auth": {
                            "secretRef": {
                                "secretAccessKeySecretRef": {
                                    "name": "missing-sa",
                                    "key": "key.json",
                                }
                            }
                        },
                    }
                }
            },
        },
    )
    cluster.pushsecret(ns, "app", secret="db", secretStoreRefs=[{"name": "bad"}, {"name": "good"}])
    cond = cluster.wait_ready(ns, "app", status="False")
    assert cond["message"] == (
        "set secret failed: could not get secrets client for store bad: could not read "
        f'credentials: Secret "{ns}/missing-sa" key "key.json" not found'
    )
    assert cluster.remote(f"{ns}-app") == b"two-stores"  # the good store is in sync
    status = cluster.get_ps(ns, "app")["status"]
    rows = {r["name"]: r for r in status["stores"]}
    assert list(rows) == ["SecretStore/bad", "SecretStore/good"]
    assert rows["SecretStore/good"]["ready"] is True
    assert rows["SecretStore/bad"]["ready"] is False
    assert "missing-sa" in rows["SecretStore/bad"]["message"]
    assert f"{ns}-app" in status["syncedPushSecrets"]["SecretStore/good"]

    # A change still reaches the good store at once, while the bad one keeps failing.
    cluster.set_secret(ns, "db", {"password": "two-stores-v2"})
    poll(
        lambda: cluster.remote(f"{ns}-app") == b"two-stores-v2", 30, "the change in the good store"
    )


def test_source_deleted_under_delete_policy_cleans_up_then_repushes(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "will-vanish"})
    cluster.pushsecret(ns, "app", secret="db", deletionPolicy="Delete")
    cluster.wait_ready(ns, "app")
    assert cluster.remote_exists(f"{ns}-app")
    cluster.core.delete_namespaced_secret("db", ns)
    cond = cluster.wait_ready(ns, "app", status="False")
    assert (cond["reason"], cond["message"]) == (
        "SourceDeleted",
        "source secret deleted; provider secrets cleaned up",
    )
    assert not cluster.remote_exists(f"{ns}-app")
    assert cluster.get_ps(ns, "app")["status"]["syncedPushSecrets"] == {}
    events = poll(
        lambda: [
            e for e in cluster.core.list_namespaced_event(ns).items if e.reason == "SourceDeleted"
        ],
        30,
        "the SourceDeleted event",
    )
    assert events[0].type == "Normal"
    # Unlike ESO (Q18), the Secret coming back is pushed at once.
    cluster.secret(ns, "db", {"password": "came-back"})
    cluster.wait_ready(ns, "app")
    assert cluster.remote(f"{ns}-app") == b"came-back"
