"""refreshInterval on the time-skipping server, with the real activities and emulators.

The workflow runs on the Java time-skipping test server; its activities are the production
ones, talking to the Kubernetes emulator through the official client and to the GCP emulator
through the official SDK. Skipping an hour must re-check the store: a value changed behind our
back in GCP is restored by the refresh, and an unchanged refresh adds no version.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from kubernetes import client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import Deps, build_activities
from emulators.gcp_secret_manager import GcpSecretManagerEmulator
from emulators.kubernetes import KubernetesEmulatorServer
from emulators.stack import install_crds
from pushsecret.api.workflow import PushSecretRef, WorkflowInput
from pushsecret.digest import Digester
from pushsecret.kube import Kube, load_api_client
from pushsecret.stores import ProviderFactory
from workflows.pushsecret import PushSecretWorkflow

PROJECT = "ts-project"


@pytest.fixture(scope="module")
def parts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, GcpSecretManagerEmulator]]:
    kubeconfig: Path = tmp_path_factory.mktemp("ts") / "kubeconfig"
    with KubernetesEmulatorServer() as kube, GcpSecretManagerEmulator() as gcp:
        kube.write_kubeconfig(kubeconfig)
        install_crds(str(kubeconfig))
        yield str(kubeconfig), gcp


async def _poll(fn: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not fn():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_one_hour_refresh_rechecks_the_store(
    time_env: WorkflowEnvironment,
    parts: tuple[str, GcpSecretManagerEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubeconfig, gcp = parts
    monkeypatch.setenv("SECRETMANAGER_EMULATOR_HOST", gcp.address)
    api = load_api_client(kubeconfig)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    ns = "ts-" + uuid.uuid4().hex[:6]
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_secret(
        ns, {"metadata": {"name": "db"}, "stringData": {"password": "hourly"}}
    )
    custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1",
        ns,
        "secretstores",
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "SecretStore",
            "metadata": {"name": "gcp"},
            "spec": {"provider": {"gcpsm": {"projectID": PROJECT}}},
        },
    )
    ps = custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "app"},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRefs": [{"name": "gcp"}],
                "selector": {"secret": {"name": "db"}},
                "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": ns}}}],
            },
        },
    )
    ref = PushSecretRef(namespace=ns, name="app", uid=ps["metadata"]["uid"])
    gsm = sm.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(gcp.address))
    )
    secret_name = f"projects/{PROJECT}/secrets/{ns}"

    def latest() -> bytes | None:
        try:
            return bytes(
                gsm.access_secret_version(name=f"{secret_name}/versions/latest").payload.data
            )
        except Exception:
            return None

    kube = Kube(api)
    deps = Deps(kube=kube, digester=Digester(b"k" * 32), providers=ProviderFactory(kube))
    tq = str(uuid.uuid4())
    with ThreadPoolExecutor(8) as pool:
        async with Worker(
            time_env.client,
            task_queue=tq,
            workflows=[PushSecretWorkflow],
            activities=build_activities(deps),
            activity_executor=pool,
        ):
            handle = await time_env.client.start_workflow(
                PushSecretWorkflow.run, WorkflowInput(ref=ref), id=ref.workflow_id, task_queue=tq
            )
            await _poll(lambda: latest() == b"hourly", "the first push")

            # Someone overwrites the value in GCP. Within the hour nothing looks at it...
            gsm.add_secret_version(parent=secret_name, payload={"data": b"drifted"})
            await time_env.sleep(timedelta(minutes=50))
            assert latest() == b"drifted"
            # ...once the hour is up, the refresh re-checks the store and restores it.
            await time_env.sleep(timedelta(minutes=11))
            await _poll(lambda: latest() == b"hourly", "the refresh to restore the value")
            assert len(gcp.versions(secret_name)) == 3

            # The next hourly refresh finds nothing to change: no new version.
            synced_at = (await handle.query(PushSecretWorkflow.status)).last_synced_at
            gcp.reset_calls()
            await time_env.sleep(timedelta(minutes=61))

            async def refreshed() -> bool:
                view = await handle.query(PushSecretWorkflow.status)
                return view.last_synced_at != synced_at

            deadline = time.monotonic() + 30
            while not await refreshed():
                assert time.monotonic() < deadline, "no refresh after the second hour"
                await asyncio.sleep(0.05)
            assert len(gcp.versions(secret_name)) == 3
            assert gcp.calls["AddSecretVersion"] == 0
            assert gcp.calls["AccessSecretVersion"] >= 1  # it did look
            await handle.terminate()
