"""Rotation with a Password generator on the time-skipping server, with the real activities.

The seed's example: a PushSecret whose source is a Password generator, refreshInterval 6h,
pushing to two stores. Each rotation must produce exactly one value that every store holds; a
store that is unavailable for several rotation periods gets the current value when it comes
back, and no extra value is generated for it; IfNotExists generates once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from kubernetes import client
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import Deps, build_activities
from emulators.gcp_secret_manager import GcpSecretManagerEmulator
from emulators.kubernetes import KubernetesEmulatorServer
from emulators.stack import install_crds
from pushsecret.api.workflow import Change, PushSecretRef, WorkflowInput
from pushsecret.codec import data_converter, new_key_document, parse_keys
from pushsecret.digest import Digester
from pushsecret.kube import Kube, load_api_client
from pushsecret.stores import ProviderFactory
from tests.conftest import BIN
from workflows.pushsecret import PushSecretWorkflow

G = "external-secrets.io"


@pytest_asyncio.fixture()
async def rot_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test: these tests skip a day and more, and sharing one
    server between them made later tests' sleeps time out intermittently (seen, not yet
    understood). Starting one takes about 0.1 s."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=data_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="module")
def parts(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, GcpSecretManagerEmulator]]:
    kubeconfig: Path = tmp_path_factory.mktemp("rot") / "kubeconfig"
    with KubernetesEmulatorServer() as kube, GcpSecretManagerEmulator() as gcp:
        kube.write_kubeconfig(kubeconfig)
        install_crds(str(kubeconfig))
        yield str(kubeconfig), gcp


def _store(custom: Any, ns: str, name: str, project: str) -> None:
    custom.create_namespaced_custom_object(
        G,
        "v1",
        ns,
        "secretstores",
        {
            "apiVersion": f"{G}/v1",
            "kind": "SecretStore",
            "metadata": {"name": name},
            "spec": {"provider": {"gcpsm": {"projectID": project}}},
        },
    )


def _values(gcp: GcpSecretManagerEmulator, name: str) -> list[bytes]:
    try:
        return [data for _, _, data in sorted(gcp.versions(name))]
    except Exception:
        return []


async def _encrypted_client(env: WorkflowEnvironment, codec: Any) -> Client:
    """A client of the same test server with the payload codec (its own connection)."""
    return await Client.connect(
        env.client.service_client.config.target_host, data_converter=data_converter(codec)
    )


@contextlib.asynccontextmanager
async def _running(
    env: WorkflowEnvironment, api: Any, ref: PushSecretRef
) -> AsyncIterator[WorkflowHandle[PushSecretWorkflow, str]]:
    """The real worker (activities on the emulators, values encrypted) and the workflow of
    ``ref`` started on it; terminated afterwards. Generated values travel through history,
    so the client carries the payload codec, as production requires."""
    enc = await _encrypted_client(env, parse_keys(new_key_document()))
    kube = Kube(api)
    deps = Deps(
        kube=kube,
        digester=Digester(b"r" * 32),
        providers=ProviderFactory(kube),
        values_encrypted=True,
    )
    tq = str(uuid.uuid4())
    with ThreadPoolExecutor(8) as pool:
        async with Worker(
            enc,
            task_queue=tq,
            workflows=[PushSecretWorkflow],
            activities=build_activities(deps),
            activity_executor=pool,
        ):
            handle = await enc.start_workflow(
                PushSecretWorkflow.run, WorkflowInput(ref=ref), id=ref.workflow_id, task_queue=tq
            )
            yield handle
            await handle.terminate()


async def _until(cond: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not (await cond() if asyncio.iscoroutinefunction(cond) else cond()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_seed_rotation_example(
    rot_env: WorkflowEnvironment,
    parts: tuple[str, GcpSecretManagerEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubeconfig, gcp = parts
    monkeypatch.setenv("SECRETMANAGER_EMULATOR_HOST", gcp.address)
    api = load_api_client(kubeconfig)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    ns = "rot-" + uuid.uuid4().hex[:6]
    p1, p2 = f"{ns}-one", f"{ns}-two"
    core.create_namespace({"metadata": {"name": ns}})
    custom.create_namespaced_custom_object(
        "generators.external-secrets.io",
        "v1alpha1",
        ns,
        "passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": "db-password"},
            "spec": {
                "length": 32,
                "digits": 5,
                "symbols": 5,
                "noUpper": False,
                "allowRepeat": True,
            },
        },
    )
    _store(custom, ns, "store-one", p1)  # store-two does not exist yet: that store "fails"
    ps = custom.create_namespaced_custom_object(
        G,
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": f"{G}/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "rotating"},
            "spec": {
                "refreshInterval": "6h",
                "updatePolicy": "Replace",
                "secretStoreRefs": [{"name": "store-one"}, {"name": "store-two"}],
                "selector": {
                    "generatorRef": {
                        "apiVersion": "generators.external-secrets.io/v1alpha1",
                        "kind": "Password",
                        "name": "db-password",
                    }
                },
                "data": [
                    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "db-password"}}}
                ],
            },
        },
    )
    ref = PushSecretRef(namespace=ns, name="rotating", uid=ps["metadata"]["uid"])
    one, two = f"projects/{p1}/secrets/db-password", f"projects/{p2}/secrets/db-password"

    async with _running(rot_env, api, ref) as handle:
        await _until(lambda: len(_values(gcp, one)) == 1, "rotation 1 in store one")
        first = _values(gcp, one)[0]
        assert len(first) == 32

        # Two more rotation periods while store two is missing: one value each.
        for n in (2, 3):
            await rot_env.sleep(timedelta(hours=6, minutes=1))
            await _until(lambda n=n: len(_values(gcp, one)) == n, f"rotation {n}")
        values = _values(gcp, one)
        assert len(set(values)) == 3  # three rotations, three different values
        view = await handle.query(PushSecretWorkflow.status)
        assert [r.id for r in view.rotations] == [1, 2, 3]
        assert set(view.rotations[-1].stores) == {"SecretStore/store-one"}

        # Store two appears: it receives the current value, and nothing new is generated.
        _store(custom, ns, "store-two", p2)

        await handle.signal(PushSecretWorkflow.changed, Change(kind="store"))
        await _until(lambda: _values(gcp, two) == [values[-1]], "store two to catch up")
        view = await handle.query(PushSecretWorkflow.status)
        assert [r.id for r in view.rotations] == [1, 2, 3]
        assert set(view.rotations[-1].stores) == {
            "SecretStore/store-one",
            "SecretStore/store-two",
        }
        assert len(_values(gcp, one)) == 3

        # The next period: one new value, the same in both stores.
        await rot_env.sleep(timedelta(hours=6, minutes=1))
        await _until(
            lambda: len(_values(gcp, one)) == 4 and len(_values(gcp, two)) == 2,
            "rotation 4 in both stores",
        )
        assert _values(gcp, one)[-1] == _values(gcp, two)[-1]
        # No value in the history's payloads without the codec.
        history = await rot_env.client.get_workflow_handle(ref.workflow_id).fetch_history()
        text = history.to_json()
        for v in _values(gcp, one):
            assert v.decode() not in text


async def test_if_not_exists_generates_once(
    rot_env: WorkflowEnvironment,
    parts: tuple[str, GcpSecretManagerEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubeconfig, gcp = parts
    monkeypatch.setenv("SECRETMANAGER_EMULATOR_HOST", gcp.address)
    api = load_api_client(kubeconfig)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    ns = "once-" + uuid.uuid4().hex[:6]
    core.create_namespace({"metadata": {"name": ns}})
    custom.create_namespaced_custom_object(
        "generators.external-secrets.io",
        "v1alpha1",
        ns,
        "uuids",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "UUID",
            "metadata": {"name": "id"},
            "spec": {},
        },
    )
    _store(custom, ns, "s", ns)
    ps = custom.create_namespaced_custom_object(
        G,
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": f"{G}/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "once"},
            "spec": {
                "refreshInterval": "1h",
                "updatePolicy": "IfNotExists",
                "secretStoreRefs": [{"name": "s"}],
                "selector": {"generatorRef": {"kind": "UUID", "name": "id"}},
                "data": [{"match": {"secretKey": "uuid", "remoteRef": {"remoteKey": "id"}}}],
            },
        },
    )
    ref = PushSecretRef(namespace=ns, name="once", uid=ps["metadata"]["uid"])
    async with _running(rot_env, api, ref) as handle:
        name = f"projects/{ns}/secrets/id"
        await _until(lambda: len(_values(gcp, name)) == 1, "the first value")
        await rot_env.sleep(timedelta(hours=12))
        view = await handle.query(PushSecretWorkflow.status)
        assert [r.id for r in view.rotations] == [1]
        assert view.next_rotation_at is None
        assert len(_values(gcp, name)) == 1


async def test_grace_period_keeps_then_disables_the_previous_version(
    rot_env: WorkflowEnvironment,
    parts: tuple[str, GcpSecretManagerEmulator],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubeconfig, gcp = parts
    monkeypatch.setenv("SECRETMANAGER_EMULATOR_HOST", gcp.address)
    api = load_api_client(kubeconfig)
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    ns = "grace-" + uuid.uuid4().hex[:6]
    core.create_namespace({"metadata": {"name": ns}})
    custom.create_namespaced_custom_object(
        "generators.external-secrets.io",
        "v1alpha1",
        ns,
        "passwords",
        {
            "apiVersion": "generators.external-secrets.io/v1alpha1",
            "kind": "Password",
            "metadata": {"name": "pw"},
            "spec": {},
        },
    )
    _store(custom, ns, "s", ns)
    ps = custom.create_namespaced_custom_object(
        G,
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": f"{G}/v1alpha1",
            "kind": "PushSecret",
            "metadata": {
                "name": "graceful",
                "annotations": {"pushsecret.externalsecrets.io/rotation-grace-period": "1h"},
            },
            "spec": {
                "refreshInterval": "6h",
                "secretStoreRefs": [{"name": "s"}],
                "selector": {"generatorRef": {"kind": "Password", "name": "pw"}},
                "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "pw"}}}],
            },
        },
    )
    ref = PushSecretRef(namespace=ns, name="graceful", uid=ps["metadata"]["uid"])
    name = f"projects/{ns}/secrets/pw"

    def states() -> list[str]:
        return [state for _, state, _ in sorted(gcp.versions(name))]

    async with _running(rot_env, api, ref):
        await _until(lambda: len(_values(gcp, name)) == 1, "rotation 1")
        await rot_env.sleep(timedelta(hours=6, minutes=1))
        await _until(lambda: len(_values(gcp, name)) == 2, "rotation 2")
        assert states() == ["ENABLED", "ENABLED"]  # the old password still works
        await rot_env.sleep(timedelta(minutes=30))
        assert states() == ["ENABLED", "ENABLED"]
        await rot_env.sleep(timedelta(minutes=31))
        await _until(lambda: states() == ["DISABLED", "ENABLED"], "the old version disabled")
