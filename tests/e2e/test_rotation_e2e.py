"""Rotation on the local stack: a Password generator, the rotate signal, `pushsecret history`."""

from __future__ import annotations

import subprocess
import sys

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
