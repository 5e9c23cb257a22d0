"""The whole local stack for end-to-end tests: dev server, emulators, worker and watcher."""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
import pytest_asyncio
from google.api_core import exceptions as gexc
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from temporalio.client import Client

from emulators.stack import LocalStack
from pushsecret.kube import load_api_client

T = TypeVar("T")
GROUP = "external-secrets.io"
PROJECT = "e2e-project"


def poll(fn: Callable[[], T | None], timeout: float = 60.0, what: str = "condition") -> T:
    """Call ``fn`` until it returns something truthy; fail after a generous deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (ApiException, gexc.GoogleAPICallError) as err:
            last = err
        else:
            if last:
                return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class Cluster:
    """The official clients pointed at the stack, and shortcuts for the test objects."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        #: every value written into a Secret, for the leak scan
        self.values: set[str] = set()
        api = load_api_client(str(stack.kubeconfig))
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.gcp = sm.SecretManagerServiceClient(
            transport=SecretManagerServiceGrpcTransport(
                channel=grpc.insecure_channel(stack.gcp_address)
            )
        )

    def namespace(self) -> str:
        ns = "e2e-" + uuid.uuid4().hex[:8]
        self.core.create_namespace({"metadata": {"name": ns}})
        return ns

    def secret(self, ns: str, name: str, data: dict[str, str]) -> None:
        self.values.update(data.values())
        self.core.create_namespaced_secret(
            ns, {"metadata": {"name": name}, "stringData": data, "type": "Opaque"}
        )

    def set_secret(self, ns: str, name: str, data: dict[str, str]) -> None:
        self.values.update(data.values())
        enc = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        self.core.patch_namespaced_secret(name, ns, {"data": enc})

    def store(self, ns: str, name: str = "gcp", project: str = PROJECT) -> None:
        self.custom.create_namespaced_custom_object(
            GROUP,
            "v1",
            ns,
            "secretstores",
            {
                "apiVersion": f"{GROUP}/v1",
                "kind": "SecretStore",
                "metadata": {"name": name},
                "spec": {"provider": {"gcpsm": {"projectID": project}}},
            },
        )

    def pushsecret(
        self,
        ns: str,
        name: str,
        *,
        secret: str,
        store: str = "gcp",
        data: list[dict[str, Any]] | None = None,
        **spec: Any,
    ) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": name},
            "spec": {
                "secretStoreRefs": [{"name": store, "kind": "SecretStore"}],
                "selector": {"secret": {"name": secret}},
                "data": data
                if data is not None
                else [
                    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": f"{ns}-{name}"}}}
                ],
                **spec,
            },
        }
        obj: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, "v1alpha1", ns, "pushsecrets", body
        )
        return obj

    def get_ps(self, ns: str, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, "v1alpha1", ns, "pushsecrets", name
        )
        return obj

    def ready(self, ns: str, name: str) -> dict[str, Any] | None:
        """The Ready condition, or None when there is none yet."""
        for c in (self.get_ps(ns, name).get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready":
                cond: dict[str, Any] = c
                return cond
        return None

    def wait_ready(
        self, ns: str, name: str, status: str = "True", timeout: float = 60.0
    ) -> dict[str, Any]:
        return poll(
            lambda: (c := self.ready(ns, name)) and c["status"] == status and c,
            timeout,
            f"{ns}/{name} Ready={status}",
        )

    def remote(self, secret_id: str, version: str = "latest") -> bytes:
        resp = self.gcp.access_secret_version(
            name=f"projects/{PROJECT}/secrets/{secret_id}/versions/{version}"
        )
        return bytes(resp.payload.data)

    def versions(self, secret_id: str) -> list[sm.SecretVersion]:
        return list(self.gcp.list_secret_versions(parent=f"projects/{PROJECT}/secrets/{secret_id}"))

    def remote_exists(self, secret_id: str) -> bool:
        try:
            self.gcp.get_secret(name=f"projects/{PROJECT}/secrets/{secret_id}")
        except gexc.NotFound:
            return False
        return True


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    # PUSHSECRET_E2E_STATE_DIR keeps the stack's logs (worker.log, watcher.log) for a post-mortem.
    keep = os.environ.get("PUSHSECRET_E2E_STATE_DIR")
    state: Path = Path(keep) if keep else tmp_path_factory.mktemp("stack")
    with LocalStack(state, ui=False, resync_seconds=10) as s:
        yield s


@pytest.fixture(scope="session")
def cluster(stack: LocalStack) -> Cluster:
    return Cluster(stack)


@pytest_asyncio.fixture(scope="session")
async def temporal(stack: LocalStack) -> Client:
    return await Client.connect(stack.temporal_address, data_converter=stack.data_converter())
