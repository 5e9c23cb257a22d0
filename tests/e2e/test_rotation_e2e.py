"""Rotation on the local stack: a Password generator, the rotate signal, `pushsecret history`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import grpc
from temporalio.client import Client

from emulators.stack import LocalStack
from tests.e2e.conftest import PROJECT, Cluster, poll
from workflows.pushsecret import PushSecretWorkflow


async def test_rotate_signal_and_history(
    cluster: Cluster, stack: LocalStack, temporal: Client
) -> None:
    ns = cluster.namespace()
    cluster.store(ns, "gcp-a")
    cluster.store(ns, "gcp-b", project=f"{ns}-b")
    cluster.custom.create_namespaced_custom_object(
        "generators.external-secrets.io",
        "v1alpha1",
        ns,
        "passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": "pw"},
            "spec": {"length": 20},
        },
    )
    cluster.custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "rot"},
            "spec": {
                "refreshInterval": "6h",
                "secretStoreRefs": [{"name": "gcp-a"}, {"name": "gcp-b"}],
                "selector": {"generatorRef": {"kind": "Password", "name": "pw"}},
                "data": [
                    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": f"{ns}-pw"}}}
                ],
            },
        },
    )
    cluster.wait_ready(ns, "rot")
    a = f"projects/{PROJECT}/secrets/{ns}-pw"
    b = f"projects/{ns}-b/secrets/{ns}-pw"

    def latest(name: str) -> bytes:
        return bytes(cluster.gcp.access_secret_version(name=f"{name}/versions/latest").payload.data)

    first = latest(a)
    assert len(first) == 20 and latest(b) == first  # one value, in every store
    uid = cluster.get_ps(ns, "rot")["metadata"]["uid"]
    handle = temporal.get_workflow_handle(f"pushsecret/{ns}/rot/{uid}")
    await handle.signal(PushSecretWorkflow.rotate)
    poll(lambda: latest(a) != first and latest(b) == latest(a), 30, "rotation 2 in both stores")
    cluster.values.update({first.decode(), latest(a).decode()})  # for the leak scan

    out = subprocess.run(
        [sys.executable, "-m", "pushsecret.cli", "history", f"{ns}/rot"],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"PushSecret {ns}/rot (workflow pushsecret/{ns}/rot/")
    assert any(line.startswith("next rotation: ") for line in lines)
    rows = [line.split() for line in lines if line[:1].isdigit()]
    assert [(r[0], r[2]) for r in rows] == [
        ("1", "SecretStore/gcp-a"),
        ("1", "SecretStore/gcp-b"),
        ("2", "SecretStore/gcp-a"),
        ("2", "SecretStore/gcp-b"),
    ]
    assert first.decode() not in out.stdout and latest(a).decode() not in out.stdout

    # Operators can list PushSecrets by namespace, name, Ready state and last rotation.
    query = (
        f'PushSecretNamespace = "{ns}" AND PushSecretName = "rot" AND '
        'PushSecretReady = true AND PushSecretLastRotation > "2020-01-01T00:00:00Z"'
    )
    deadline = time.monotonic() + 30
    while not [w async for w in temporal.list_workflows(query)]:
        assert time.monotonic() < deadline, "the search attributes never matched"
        await asyncio.sleep(0.2)


def _generator_pushsecret(c: Cluster, ns: str, name: str, stores: list[str]) -> None:
    c.custom.create_namespaced_custom_object(
        "generators.external-secrets.io",
        "v1alpha1",
        ns,
        "passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": f"{name}-pw"},
            "spec": {"length": 24},
        },
    )
    c.custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": name},
            "spec": {
                "refreshInterval": "6h",
                "secretStoreRefs": [{"name": s} for s in stores],
                "selector": {"generatorRef": {"kind": "Password", "name": f"{name}-pw"}},
                "data": [
                    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": f"{ns}-{name}"}}}
                ],
            },
        },
    )


async def test_worker_kill_mid_rotation_generates_once(
    cluster: Cluster, stack: LocalStack, temporal: Client
) -> None:
    ns = cluster.namespace()
    cluster.store(ns, "s1")
    cluster.store(ns, "s2", project=f"{ns}-2")
    # Writes fail for a while, so the rotation's pushes are still retrying when the worker dies.
    stack.gcp.fail_next("AddSecretVersion", grpc.StatusCode.UNAVAILABLE, times=3)
    _generator_pushsecret(cluster, ns, "k", ["s1", "s2"])
    wf = f"pushsecret/{ns}/k/{poll(lambda: cluster.get_ps(ns, 'k'), 10)['metadata']['uid']}"

    async def generated() -> bool:
        try:
            events = [e async for e in temporal.get_workflow_handle(wf).fetch_history_events()]
        except Exception:
            return False
        scheduled = {
            e.event_id
            for e in events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_type.name == "generate_values"
        }
        completed = [
            e
            for e in events
            if e.HasField("activity_task_completed_event_attributes")
            and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
        ]
        return bool(completed)

    deadline = time.monotonic() + 60
    while not await generated():
        assert time.monotonic() < deadline, "the rotation never generated"
        await asyncio.sleep(0.02)
    stack.stop_process("worker", kill=True)
    stack.start_process("worker")
    cluster.wait_ready(ns, "k", timeout=90)
    one = f"projects/{PROJECT}/secrets/{ns}-k"
    two = f"projects/{ns}-2/secrets/{ns}-k"
    v1 = cluster.gcp.access_secret_version(name=f"{one}/versions/latest").payload.data
    v2 = cluster.gcp.access_secret_version(name=f"{two}/versions/latest").payload.data
    cluster.values.add(bytes(v1).decode())
    assert v1 == v2  # one value, in every store
    assert len(list(cluster.gcp.list_secret_versions(parent=one))) == 1
    view = await temporal.get_workflow_handle(wf).query(PushSecretWorkflow.status)
    assert [r.id for r in view.rotations] == [1]


async def test_continue_as_new_mid_rotation_generates_once(tmp_path: Path) -> None:
    # A stack whose server suggests continue-as-new after a few dozen events.
    with LocalStack(
        tmp_path / "can", ui=False, dynamic_config={"limit.historyCount.suggestContinueAsNew": "30"}
    ) as st:
        c = Cluster(st)
        temporal = await Client.connect(st.temporal_address, data_converter=st.data_converter())
        ns = c.namespace()
        c.store(ns, "s1")
        c.store(ns, "s2", project=f"{ns}-2")
        _generator_pushsecret(c, ns, "can", ["s1", "s2"])
        c.wait_ready(ns, "can")
        uid = c.get_ps(ns, "can")["metadata"]["uid"]
        handle = temporal.get_workflow_handle(f"pushsecret/{ns}/can/{uid}")
        first_run = (await handle.describe()).run_id
        # Spec edits (annotations) make reconciles, and the history grows past the limit.
        for i in range(8):
            before = c.get_ps(ns, "can")["status"].get("syncedResourceVersion")
            c.custom.patch_namespaced_custom_object(
                "external-secrets.io",
                "v1alpha1",
                ns,
                "pushsecrets",
                "can",
                {"metadata": {"annotations": {"edit": str(i)}}},
            )
            poll(
                lambda b=before: c.get_ps(ns, "can")["status"].get("syncedResourceVersion") != b,
                30,
                f"edit {i} to be synced",
            )
        deadline = time.monotonic() + 60
        while (await handle.describe()).run_id == first_run:
            assert time.monotonic() < deadline, "never continued as new"
            await asyncio.sleep(0.1)
        view = await handle.query(PushSecretWorkflow.status)
        assert [r.id for r in view.rotations] == [1]
        one = f"projects/{PROJECT}/secrets/{ns}-can"
        assert len(list(c.gcp.list_secret_versions(parent=one))) == 1
