"""Crashes and outages: the worker killed mid-run, a store failing for a while."""

from __future__ import annotations

import grpc
from temporalio.client import Client

from emulators.stack import LocalStack
from tests.e2e.conftest import Cluster, poll


def test_worker_sigkill_mid_run_still_converges(cluster: Cluster, stack: LocalStack) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    names = [f"app-{i}" for i in range(8)]
    for name in names:
        cluster.secret(ns, f"src-{name}", {"password": f"kill-test-{name}"})
    for name in names:
        cluster.pushsecret(ns, name, secret=f"src-{name}")
    # Kill as soon as the first one is synced: the others are mid-flight (planned, pushing or
    # waiting to write status) when the worker dies.
    poll(
        lambda: any((cluster.ready(ns, n) or {}).get("status") == "True" for n in names),
        60,
        "a first PushSecret to sync",
    )
    stack.stop_process("worker", kill=True)
    # While it is down, a change arrives; it must not be lost either.
    cluster.set_secret(ns, "src-app-0", {"password": "changed-while-down"})
    stack.start_process("worker")
    for name in names:
        cluster.wait_ready(ns, name, timeout=90)
    poll(lambda: cluster.remote(f"{ns}-app-0") == b"changed-while-down", 60, "the change")
    for name in names[1:]:
        assert cluster.remote(f"{ns}-{name}") == f"kill-test-{name}".encode()


def test_store_outage_is_retried_and_reported(cluster: Cluster, stack: LocalStack) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "survives-outage"})
    # The next pushes fail as if the service were down; retries exhaust one reconcile's
    # attempts, then the workflow's own backoff brings it back.
    stack.gcp.fail_next("AddSecretVersion", grpc.StatusCode.UNAVAILABLE, times=6)
    cluster.pushsecret(ns, "app", secret="db")
    cond = cluster.wait_ready(ns, "app", status="False", timeout=90)
    assert cond["reason"] == "Errored"
    assert cond["message"].startswith(
        "set secret failed: could not write remote ref password to target secretstore gcp: "
    )
    cluster.wait_ready(ns, "app", timeout=120)
    assert cluster.remote(f"{ns}-app") == b"survives-outage"


async def test_periodic_resync_restarts_a_lost_workflow(
    cluster: Cluster, stack: LocalStack, temporal: Client
) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "resync-restores"})
    cluster.pushsecret(ns, "app", secret="db")
    cluster.wait_ready(ns, "app")
    uid = cluster.get_ps(ns, "app")["metadata"]["uid"]
    handle = temporal.get_workflow_handle(f"pushsecret/{ns}/app/{uid}")
    first = (await handle.describe()).run_id
    # An operator terminates the workflow and someone overwrites the remote value: no
    # Kubernetes event will ever say so. The watcher's resync starts a new run, whose first
    # pass checks the store and restores the value.
    await handle.terminate(reason="test: lost workflow")
    cluster.gcp.add_secret_version(
        parent=f"projects/e2e-project/secrets/{ns}-app", payload={"data": b"overwritten"}
    )
    poll(lambda: cluster.remote(f"{ns}-app") == b"resync-restores", 60, "the resync to restore it")
    assert (
        await temporal.get_workflow_handle(f"pushsecret/{ns}/app/{uid}").describe()
    ).run_id != first
