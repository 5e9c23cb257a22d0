"""The watcher's informer against the Kubernetes emulator: resume, 410 Gone, relist."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from emulators.kubernetes import KubernetesApiEmulator, KubernetesEmulatorServer
from pushsecret.kube import load_api_client
from starter.informer import Informer


@pytest.fixture()
def api(tmp_path: Any) -> Iterator[client.ApiClient]:
    # A tiny event history: any watch that falls a few events behind must get 410 Gone.
    with KubernetesEmulatorServer(KubernetesApiEmulator(history_limit=3)) as server:
        kc = server.write_kubeconfig(tmp_path / "kubeconfig")
        yield load_api_client(str(kc))


def _wait(cond: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_informer_relists_after_410_and_keeps_watching(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    for ns in ("watched", "noise"):
        core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_secret("watched", {"metadata": {"name": "a"}, "stringData": {"k": "1"}})
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handler(_: str, etype: str, obj: dict[str, Any]) -> None:
        with lock:
            events.append((etype, obj["metadata"]["name"]))

    inf = Informer(
        "secrets",
        lambda **kw: core.list_namespaced_secret("watched", **kw),
        handler,
        serialize=api.sanitize_for_serialization,
        trim=lambda o: {"metadata": o["metadata"]},
        watch_timeout=1,  # the server ends each watch after a second; the informer resumes
        backoff=0.05,
    )
    inf.start()
    try:
        _wait(lambda: inf.synced.is_set(), "the first list")
        assert ("SYNC", "a") in events
        core.create_namespaced_secret("watched", {"metadata": {"name": "b"}})
        core.delete_namespaced_secret("a", "watched")
        # Traffic elsewhere pushes the watched namespace's last seen version out of the
        # history, so the next resume is answered 410 Gone and the informer relists...
        for i in range(10):
            core.create_namespaced_secret("noise", {"metadata": {"name": f"n{i}"}})
        _wait(lambda: inf.relists >= 2, "a relist after 410")
        _wait(lambda: set(inf.cache) == {("watched", "b")}, "the cache to match the server")
        # ...and keeps watching afterwards.
        core.create_namespaced_secret("watched", {"metadata": {"name": "c"}})
        _wait(lambda: ("watched", "c") in inf.cache, "a change after the relist")
        with lock:
            assert ("DELETED", "a") in events
            assert {n for _, n in events} >= {"a", "b", "c"}
        # Values never reach the cache: secrets are trimmed to metadata.
        assert "data" not in inf.cache[("watched", "b")]
    finally:
        inf.stop()
        inf.join(5)
