"""The Kubernetes API emulator against the official ``kubernetes`` client and ``kubectl``.

Every assertion is documented Kubernetes behaviour (status codes, Status reasons and messages,
resourceVersion/generation rules, watch semantics), so a test failing here means the emulator
drifted from the real API server, not that the test needs updating.
"""

from __future__ import annotations

import base64
import json
import queue
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from emulators.kubernetes import KubernetesApiEmulator, KubernetesEmulatorServer, serve

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
WIDGETS = ("example.com", "v1", "widgets")


def widget_crd() -> dict[str, Any]:
    """widgets.example.com: v1 (storage) and v1beta1, status subresource, a printer column."""

    def version(name: str, storage: bool) -> dict[str, Any]:
        return {
            "name": name,
            "served": True,
            "storage": storage,
            "subresources": {"status": {}},
            "schema": {
                "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            },
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {
                    "name": "Ready",
                    "type": "string",
                    "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                },
            ],
        }

    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wd"],
                "categories": ["examples"],
            },
            "versions": [version("v1", True), version("v1beta1", False)],
        },
    }


PUSHSECRET_CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: pushsecrets.external-secrets.io
    spec:
      group: external-secrets.io
      scope: Namespaced
      names: {kind: PushSecret, listKind: PushSecretList, plural: pushsecrets,
              singular: pushsecret, shortNames: [ps], categories: [external-secrets]}
      versions:
      - name: v1alpha1
        served: true
        storage: true
        subresources: {status: {}}
        schema:
          openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    """)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubernetesEmulatorServer]:
    with KubernetesEmulatorServer(KubernetesApiEmulator(controller_delay=0.05)) as srv:
        api = client.ApiextensionsV1Api(_api_client(srv, tmp_path_factory.mktemp("kc")))
        api.create_custom_resource_definition(widget_crd())
        yield srv


def _api_client(srv: KubernetesEmulatorServer, directory: Path) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(
        str(srv.write_kubeconfig(directory / "kubeconfig")), client_configuration=cfg
    )
    return client.ApiClient(cfg)


@pytest.fixture(scope="module")
def kubeconfig(server: KubernetesEmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server.write_kubeconfig(tmp_path_factory.mktemp("kubectl") / "config")


@pytest.fixture(scope="module")
def api(server: KubernetesEmulatorServer, kubeconfig: Path) -> client.ApiClient:
    return _api_client(server, kubeconfig.parent)


@pytest.fixture
def v1(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def crs(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


@pytest.fixture
def ns(v1: client.CoreV1Api) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    v1.create_namespace({"metadata": {"name": name}})
    return name


def status_of(exc: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.value.body)
    assert body["kind"] == "Status" and body["code"] == exc.value.status
    return body


def poll(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def get_json(api: Any, path: str) -> Any:
    """A raw GET (the typed client would hide the list's kind/apiVersion)."""
    with urllib.request.urlopen(api.api_client.configuration.host + path, timeout=10) as resp:
        return json.load(resp)


def widget(name: str, size: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size},
        **extra,
    }


class Collector:
    """Runs a watch stream in a thread; events land in a queue the test polls."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.watch = watch.Watch()
        kwargs.setdefault("timeout_seconds", 20)
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        try:
            for event in self.watch.stream(fn, *args, **kwargs):
                self.events.put((event["type"], event["raw_object"]))
        except Exception:
            if not self.watch._stop:  # stop() shuts the socket down under the reader
                raise

    def take(self, count: int, timeout: float = 10.0) -> list[tuple[str, str]]:
        """The next ``count`` events as (type, name)."""
        got = [self.events.get(timeout=timeout) for _ in range(count)]
        return [(kind, obj["metadata"]["name"]) for kind, obj in got]

    def close(self) -> None:
        self.watch.stop()


# ----------------------------------------------------------------------------- 1. resourceVersion


def test_resource_version_conflict_and_lists(v1: client.CoreV1Api, crs: Any, ns: str) -> None:
    created = v1.create_namespaced_secret(ns, {"metadata": {"name": "db"}, "data": {}})
    rv = created.metadata.resource_version
    assert rv.isdigit()
    fresh = v1.patch_namespaced_secret("db", ns, {"metadata": {"labels": {"a": "1"}}})
    assert int(fresh.metadata.resource_version) > int(rv)
    stale = {"metadata": {"name": "db", "resourceVersion": rv}, "data": {}}
    with pytest.raises(ApiException) as exc:
        v1.replace_namespaced_secret("db", ns, stale)
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (409, "Conflict")
    assert body["message"] == (
        'Operation cannot be fulfilled on secrets "db": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    with pytest.raises(ApiException) as exc:
        v1.patch_namespaced_secret("db", ns, {"metadata": {"resourceVersion": rv}})
    assert status_of(exc)["reason"] == "Conflict"

    crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", widget("w1"))
    w1 = crs.get_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", "w1")
    crs.patch_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", "w1", {"spec": {"size": 2}})
    with pytest.raises(ApiException) as exc:
        crs.replace_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", "w1", w1)
    assert status_of(exc)["message"].startswith(
        'Operation cannot be fulfilled on widgets.example.com "w1": the object has been modified'
    )
    listed = crs.list_namespaced_custom_object(*WIDGETS[:2], ns, "widgets")
    assert (listed["kind"], listed["apiVersion"]) == ("WidgetList", "example.com/v1")
    assert int(listed["metadata"]["resourceVersion"]) >= int(
        listed["items"][0]["metadata"]["resourceVersion"]
    )
    secret_list = get_json(v1, f"/api/v1/namespaces/{ns}/secrets")
    assert (secret_list["kind"], secret_list["apiVersion"]) == ("SecretList", "v1")
    assert secret_list["metadata"]["resourceVersion"].isdigit()


# ----------------------------------------------------------------------------- 2. metadata


def test_uid_timestamp_and_generation_rules(v1: client.CoreV1Api, crs: Any, ns: str) -> None:
    args = (*WIDGETS[:2], ns, "widgets", "gen")
    obj = crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", widget("gen"))
    meta = obj["metadata"]
    assert uuid.UUID(meta["uid"]) and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    obj = crs.patch_namespaced_custom_object(*args, {"metadata": {"labels": {"x": "y"}}})
    assert obj["metadata"]["generation"] == 1, "metadata changes do not bump generation"
    obj = crs.patch_namespaced_custom_object_status(*args, {"status": {"phase": "Ready"}})
    assert obj["metadata"]["generation"] == 1, "status changes do not bump generation"
    obj = crs.patch_namespaced_custom_object(*args, {"spec": {"size": 5}})
    assert obj["metadata"]["generation"] == 2
    same = crs.patch_namespaced_custom_object(*args, {"spec": {"size": 5}})
    assert same["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"], (
        "a no-op write changes nothing"
    )
    secret = v1.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "data": {"a": "YQ=="}})
    assert secret.metadata.generation is None, "Secrets carry no generation"
    secret = v1.patch_namespaced_secret("s", ns, {"data": {"a": "Yg=="}})
    assert secret.metadata.generation is None and secret.data == {"a": "Yg=="}


# ----------------------------------------------------------------------------- 3. create/errors


def test_create_status_codes_and_error_messages(v1: client.CoreV1Api, crs: Any, ns: str) -> None:
    _, code, _ = crs.create_namespaced_custom_object_with_http_info(
        *WIDGETS[:2], ns, "widgets", widget("w")
    )
    assert code == 201
    stored = crs.get_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", "w")
    assert stored["metadata"]["namespace"] == ns, "namespace comes from the URL"
    with pytest.raises(ApiException) as exc:
        crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", widget("w"))
    body = status_of(exc)
    assert (exc.value.status, body["reason"]) == (409, "AlreadyExists")
    assert body["message"] == 'widgets.example.com "w" already exists'
    v1.create_namespaced_secret(ns, {"metadata": {"name": "db"}})
    with pytest.raises(ApiException) as exc:
        v1.create_namespaced_secret(ns, {"metadata": {"name": "db"}})
    assert status_of(exc)["message"] == 'secrets "db" already exists'
    with pytest.raises(ApiException) as exc:
        v1.read_namespaced_secret("nope", ns)
    body = status_of(exc)
    assert (exc.value.status, body["reason"], body["message"]) == (
        404,
        "NotFound",
        'secrets "nope" not found',
    )
    with pytest.raises(ApiException) as exc:
        crs.get_namespaced_custom_object("external-secrets.io", "v1", ns, "secretstores", "x")
    assert exc.value.status == 404
    with pytest.raises(ApiException) as exc:
        crs.delete_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", "test-store")
    assert status_of(exc)["message"] == 'widgets.example.com "test-store" not found'
    with pytest.raises(ApiException) as exc:
        v1.create_namespaced_secret("no-such-ns", {"metadata": {"name": "db"}})
    assert status_of(exc)["message"] == 'namespaces "no-such-ns" not found'
    with pytest.raises(ApiException) as exc:
        v1.create_namespaced_secret(ns, {"metadata": {"name": "Bad_Name"}})
    assert (exc.value.status, status_of(exc)["reason"]) == (422, "Invalid")


# ----------------------------------------------------------------------------- 4. PUT and PATCH


def test_replace_and_the_three_patch_types(v1: client.CoreV1Api, crs: Any, ns: str) -> None:
    args = (*WIDGETS[:2], ns, "widgets", "p")
    obj = crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", widget("p"))
    obj["spec"] = {"size": 9}
    replaced = crs.replace_namespaced_custom_object(*args, obj)
    assert replaced["spec"] == {"size": 9}
    merged = crs.patch_namespaced_custom_object(*args, {"spec": {"color": "red", "size": None}})
    assert merged["spec"] == {"color": "red"}, "merge patch: null deletes, maps merge"
    rv = merged["metadata"]["resourceVersion"]
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
        {"op": "replace", "path": "/spec/color", "value": "blue"},
    ]
    patched = crs.patch_namespaced_custom_object(
        *args, ops, _content_type="application/json-patch+json"
    )
    assert patched["spec"]["color"] == "blue"
    with pytest.raises(ApiException) as exc:
        crs.patch_namespaced_custom_object(*args, ops, _content_type="application/json-patch+json")
    assert exc.value.status == 422, "a failed JSON patch test op is 422, like kopf expects"
    with pytest.raises(ApiException) as exc:
        crs.patch_namespaced_custom_object(
            *args, {"spec": {}}, _content_type="application/strategic-merge-patch+json"
        )
    assert exc.value.status == 415, "custom resources do not take strategic merge patch"

    # Strategic merge patch (the client's default for dict bodies on core kinds) merges
    # metadata.finalizers as a set instead of replacing the list.
    v1.create_namespaced_config_map(
        ns, {"metadata": {"name": "cm", "finalizers": ["a/x"]}, "data": {"k": "v"}}
    )
    cm = v1.patch_namespaced_config_map(
        "cm", ns, {"metadata": {"finalizers": ["b/y"]}, "data": {"k2": "v2"}}
    )
    assert cm.metadata.finalizers == ["a/x", "b/y"] and cm.data == {"k": "v", "k2": "v2"}
    cm = v1.patch_namespaced_config_map(
        "cm", ns, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a/x", "b/y"]}}
    )
    assert cm.metadata.finalizers is None
    cm.data = {"only": "this"}
    cm = v1.replace_namespaced_config_map("cm", ns, cm)
    assert cm.data == {"only": "this"}


# ----------------------------------------------------------------------------- 5. Secrets


def test_secret_string_data_is_folded_into_data(v1: client.CoreV1Api, ns: str) -> None:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    s = v1.create_namespaced_secret(
        ns,
        {
            "metadata": {"name": "s"},
            "data": {"a": b64("old")},
            "stringData": {"a": "new", "b": "two"},
        },
    )
    assert s.data == {"a": b64("new"), "b": b64("two")} and s.string_data is None
    assert s.type == "Opaque"
    s = v1.patch_namespaced_secret("s", ns, {"stringData": {"c": "three"}})
    assert s.data == {"a": b64("new"), "b": b64("two"), "c": b64("three")}
    s = v1.replace_namespaced_secret(
        "s", ns, {"metadata": {"name": "s"}, "stringData": {"only": "x"}}
    )
    assert s.data == {"only": b64("x")} and s.string_data is None
    with pytest.raises(ApiException) as exc:
        v1.patch_namespaced_secret("s", ns, {"type": "kubernetes.io/tls"})
    assert status_of(exc)["message"].endswith(
        'type: Invalid value: "kubernetes.io/tls": field is immutable'
    )


# ----------------------------------------------------------------------------- 6. status


def test_status_subresource_isolation(crs: Any, ns: str) -> None:
    args = (*WIDGETS[:2], ns, "widgets", "st")
    created = crs.create_namespaced_custom_object(
        *WIDGETS[:2], ns, "widgets", widget("st", status={"phase": "Ignored"})
    )
    assert "status" not in created, "status on create is dropped"
    crs.patch_namespaced_custom_object_status(*args, {"status": {"phase": "Ready"}})
    main = crs.patch_namespaced_custom_object(
        *args, {"spec": {"size": 3}, "status": {"phase": "Hacked"}}
    )
    assert main["status"] == {"phase": "Ready"} and main["spec"]["size"] == 3
    obj = crs.get_namespaced_custom_object_status(*args)
    obj["spec"]["size"] = 100
    obj["metadata"]["labels"] = {"sneaky": "yes"}
    obj["status"] = {"phase": "Done"}
    status = crs.replace_namespaced_custom_object_status(*args, obj)
    assert status["status"] == {"phase": "Done"}
    assert status["spec"]["size"] == 3 and "labels" not in status["metadata"]
    stale = dict(obj, metadata={**obj["metadata"], "resourceVersion": "1"})
    with pytest.raises(ApiException) as exc:
        crs.replace_namespaced_custom_object_status(*args, stale)
    assert status_of(exc)["reason"] == "Conflict"


# ----------------------------------------------------------------------------- 7. finalizers


def test_finalizers_hold_deletion(crs: Any, ns: str) -> None:
    args = (*WIDGETS[:2], ns, "widgets", "fin")
    obj = widget("fin")
    obj["metadata"]["finalizers"] = ["example.com/cleanup"]
    crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", obj)
    events = Collector(crs.list_namespaced_custom_object, *WIDGETS[:2], ns, "widgets")
    try:
        assert events.take(1) == [("ADDED", "fin")]
        held = crs.delete_namespaced_custom_object(*args)
        assert held["metadata"]["deletionTimestamp"]
        assert held["metadata"]["deletionGracePeriodSeconds"] == 0
        assert events.take(1) == [("MODIFIED", "fin")]
        assert crs.get_namespaced_custom_object(*args)["metadata"]["deletionTimestamp"]
        with pytest.raises(ApiException) as exc:
            crs.patch_namespaced_custom_object(
                *args, {"metadata": {"finalizers": ["example.com/cleanup", "late/one"]}}
            )
        body = status_of(exc)
        assert (exc.value.status, body["reason"]) == (422, "Invalid")
        assert (
            "Forbidden: no new finalizers can be added if the object is being deleted"
            in body["message"]
        )
        crs.patch_namespaced_custom_object(*args, {"metadata": {"finalizers": None}})
        assert events.take(1) == [("DELETED", "fin")]
        with pytest.raises(ApiException) as exc:
            crs.get_namespaced_custom_object(*args)
        assert exc.value.status == 404
    finally:
        events.close()


# ----------------------------------------------------------------------------- 8. selectors


def test_label_and_field_selectors(v1: client.CoreV1Api, ns: str) -> None:
    labels = {"a": {"env": "prod", "tier": "web"}, "b": {"env": "dev"}, "c": {}}
    for name, lab in labels.items():
        v1.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": lab}})

    def names(**kwargs: Any) -> list[str]:
        return [i.metadata.name for i in v1.list_namespaced_config_map(ns, **kwargs).items]

    assert names(label_selector="env=prod") == ["a"]
    assert names(label_selector="env==dev") == ["b"]
    assert names(label_selector="env!=prod") == ["b", "c"]
    assert names(label_selector="env in (prod, dev)") == ["a", "b"]
    assert names(label_selector="env notin (prod)") == ["b", "c"]
    assert names(label_selector="env") == ["a", "b"]
    assert names(label_selector="!env") == ["c"]
    assert names(label_selector="env in (prod,dev),!tier") == ["b"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b") == ["a", "c"]
    page = v1.list_namespaced_config_map(ns, limit=2)
    assert [i.metadata.name for i in page.items] == ["a", "b"]
    assert page.metadata.remaining_item_count == 1 and page.metadata._continue
    rest = v1.list_namespaced_config_map(ns, limit=2, _continue=page.metadata._continue)
    assert [i.metadata.name for i in rest.items] == ["c"] and not rest.metadata._continue
    everywhere = v1.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}")
    assert sorted(i.metadata.name for i in everywhere.items) == ["a", "b", "c"]
    with pytest.raises(ApiException) as exc:
        names(label_selector="env in prod")
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        names(field_selector="spec.nope=1")
    assert status_of(exc)["message"] == "field label not supported: spec.nope"

    events = Collector(v1.list_namespaced_config_map, ns, label_selector="env=prod")
    try:
        assert events.take(1) == [("ADDED", "a")]
        v1.patch_namespaced_config_map("b", ns, {"metadata": {"labels": {"env": "prod"}}})
        assert events.take(1) == [("ADDED", "b")], "entering the selector is ADDED"
        v1.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"env": "qa"}}})
        assert events.take(1) == [("DELETED", "a")], "leaving the selector is DELETED"
        v1.patch_namespaced_config_map("c", ns, {"data": {"x": "y"}})  # never matches
        v1.delete_namespaced_config_map("b", ns)
        assert events.take(1) == [("DELETED", "b")]
    finally:
        events.close()


# ----------------------------------------------------------------------------- 9. watch


def test_watch_resume_delivers_exactly_the_later_events(v1: client.CoreV1Api, ns: str) -> None:
    first = v1.create_namespaced_config_map(ns, {"metadata": {"name": "one"}})
    since = first.metadata.resource_version
    v1.patch_namespaced_config_map("one", ns, {"data": {"k": "v"}})
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "two"}})
    v1.delete_namespaced_config_map("one", ns)
    start = time.monotonic()
    seen = [
        (e["type"], e["object"].metadata.name, e["object"].metadata.resource_version)
        for e in watch.Watch().stream(
            v1.list_namespaced_config_map, ns, resource_version=since, timeout_seconds=1
        )
    ]
    assert time.monotonic() - start < 5, "timeoutSeconds ends the stream"
    assert [(kind, name) for kind, name, _ in seen] == [
        ("MODIFIED", "one"),
        ("ADDED", "two"),
        ("DELETED", "one"),
    ]
    rvs = [int(rv) for _, _, rv in seen]
    assert rvs == sorted(rvs) and rvs[0] > int(since)


def test_watch_without_resource_version_lists_first_then_streams(
    v1: client.CoreV1Api, ns: str
) -> None:
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "existing"}})
    events = Collector(v1.list_config_map_for_all_namespaces)
    try:
        initial = poll(
            lambda: [
                e for e in list(events.events.queue) if e[1]["metadata"]["name"] == "existing"
            ],
            "initial ADDED",
        )
        assert initial[0][0] == "ADDED"
        v1.create_namespaced_config_map(ns, {"metadata": {"name": "later"}})
        poll(
            lambda: any(
                obj["metadata"]["name"] == "later" and kind == "ADDED"
                for kind, obj in list(events.events.queue)
            ),
            "the live ADDED",
        )
    finally:
        events.close()


def test_watch_query_spellings_and_raw_stream(
    server: KubernetesEmulatorServer, v1: Any, ns: str
) -> None:
    v1.create_namespaced_secret(ns, {"metadata": {"name": "s"}})
    for spelling in ("true", "True", "1"):  # kubernetes_asyncio sends True
        url = f"{server.url}/api/v1/namespaces/{ns}/secrets?watch={spelling}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert (resp.status, resp.headers["Content-Type"]) == (200, "application/json")
            event = json.loads(resp.readline())
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "s")
        assert (event["object"]["kind"], event["object"]["apiVersion"]) == ("Secret", "v1")


def test_expired_resource_version_is_410_gone(tmp_path: Path) -> None:
    with KubernetesEmulatorServer(KubernetesApiEmulator(history_limit=5)) as srv:
        v1 = client.CoreV1Api(_api_client(srv, tmp_path))
        first = v1.create_namespaced_config_map("default", {"metadata": {"name": "c0"}})
        for i in range(1, 10):
            v1.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}})
        url = (
            f"{srv.url}/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=5"
            f"&resourceVersion={first.metadata.resource_version}"
        )
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200, "a real server reports the expiry inside the stream"
            event = json.loads(resp.readline())
        assert event["type"] == "ERROR"
        assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
        assert event["object"]["message"].startswith("too old resource version: ")
        with pytest.raises(ApiException) as exc:
            list(
                watch.Watch().stream(
                    v1.list_namespaced_config_map,
                    "default",
                    resource_version=first.metadata.resource_version,
                    timeout_seconds=5,
                )
            )
        assert exc.value.status == 410


# ----------------------------------------------------------------------------- 10. CRDs


def test_crd_versions_share_storage_and_discovery(
    api: client.ApiClient, crs: Any, ns: str, server: KubernetesEmulatorServer
) -> None:
    crs.create_namespaced_custom_object(
        "example.com",
        "v1beta1",
        ns,
        "widgets",
        {
            "apiVersion": "example.com/v1beta1",
            "kind": "Widget",
            "metadata": {"name": "both"},
            "spec": {"size": 4},
        },
    )
    as_v1 = crs.get_namespaced_custom_object("example.com", "v1", ns, "widgets", "both")
    assert as_v1["apiVersion"] == "example.com/v1" and as_v1["spec"] == {"size": 4}
    as_beta = crs.list_namespaced_custom_object("example.com", "v1beta1", ns, "widgets")
    assert [i["apiVersion"] for i in as_beta["items"]] == ["example.com/v1beta1"]

    group = client.ApisApi(api).get_api_versions()
    widgets = next(g for g in group.groups if g.name == "example.com")
    assert widgets.preferred_version.version == "v1"
    assert [v.version for v in widgets.versions] == ["v1", "v1beta1"]
    found = client.CustomObjectsApi(api).get_api_resources("example.com", "v1beta1")
    by_name = {r.name: r for r in found.resources}
    assert by_name["widgets"].short_names == ["wd"] and by_name["widgets"].namespaced
    assert by_name["widgets"].categories == ["examples"] and "widgets/status" in by_name
    core = client.CoreApi(api).get_api_versions()
    assert core.versions == ["v1"]
    resources = client.CoreV1Api(api).get_api_resources()
    assert resources.group_version == "v1"
    assert {"namespaces", "secrets", "configmaps", "events", "serviceaccounts"} <= {
        r.name for r in resources.resources
    }
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("widgets.example.com")
    assert {c.type: c.status for c in crd.status.conditions}["Established"] == "True"

    ext = client.ApiextensionsV1Api(api)
    gizmo = widget_crd()
    gizmo["metadata"]["name"] = "gizmos.example.com"
    gizmo["spec"].update(scope="Cluster", names={"plural": "gizmos", "kind": "Gizmo"})
    ext.create_custom_resource_definition(gizmo)
    crs.create_cluster_custom_object(
        "example.com",
        "v1",
        "gizmos",
        {"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g1"}},
    )
    assert (
        crs.get_cluster_custom_object("example.com", "v1", "gizmos", "g1")["metadata"].get(
            "namespace"
        )
        is None
    )
    v2 = dict(gizmo["spec"]["versions"][0], name="v2", storage=False)
    ext.patch_custom_resource_definition(
        "gizmos.example.com", {"spec": {"versions": [*gizmo["spec"]["versions"], v2]}}
    )
    as_v2 = crs.get_cluster_custom_object("example.com", "v2", "gizmos", "g1")
    assert as_v2["apiVersion"] == "example.com/v2", "a version added later serves the same data"
    ext.delete_custom_resource_definition("gizmos.example.com")
    poll(
        lambda: (
            server.get_object(
                "apiextensions.k8s.io/v1/customresourcedefinitions", None, "gizmos.example.com"
            )
            is None
        ),
        "the CRD cleanup",
    )
    with pytest.raises(ApiException) as exc:
        crs.list_cluster_custom_object("example.com", "v1", "gizmos")
    assert exc.value.status == 404, "a deleted CRD's resources are no longer served"


def test_server_side_tables_for_kubectl_get(
    crs: Any, server: KubernetesEmulatorServer, ns: str
) -> None:
    args = (*WIDGETS[:2], ns, "widgets", "tab")
    crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", widget("tab", size=7))
    status = {
        "conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]
    }
    crs.patch_namespaced_custom_object_status(*args, {"status": status})
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    request = urllib.request.Request(
        f"{server.url}/apis/example.com/v1/namespaces/{ns}/widgets", headers={"Accept": accept}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        found = json.load(resp)
    assert (found["kind"], found["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in found["columnDefinitions"]] == ["Name", "Size", "Ready"]
    assert found["rows"][0]["cells"] == ["tab", 7, "True"]
    assert found["rows"][0]["object"]["metadata"]["namespace"] == ns


def test_events_share_core_and_events_k8s_io(api: client.ApiClient, ns: str) -> None:
    client.EventsV1Api(api).create_namespaced_event(
        ns,
        {
            "metadata": {"name": "ev1"},
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "reason": "Synced",
            "note": "pushed to 2 stores",
            "type": "Normal",
            "action": "Push",
            "reportingController": "pushsecret",
            "reportingInstance": "w-1",
            "regarding": {"kind": "PushSecret", "name": "ps", "namespace": ns},
        },
    )
    core = (
        client.CoreV1Api(api)
        .list_namespaced_event(ns, field_selector="involvedObject.kind=PushSecret")
        .items
    )
    assert [(e.reason, e.message, e.involved_object.name) for e in core] == [
        ("Synced", "pushed to 2 stores", "ps")
    ]


def test_namespace_deletion_and_owner_garbage_collection(
    v1: client.CoreV1Api, crs: Any, ns: str
) -> None:
    owner = crs.create_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", widget("owner"))
    ref = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
    }
    v1.create_namespaced_secret(ns, {"metadata": {"name": "owned", "ownerReferences": [ref]}})
    crs.delete_namespaced_custom_object(*WIDGETS[:2], ns, "widgets", "owner")

    def gone() -> bool:
        try:
            v1.read_namespaced_secret("owned", ns)
        except ApiException as exc:
            return bool(exc.status == 404)
        return False

    poll(gone, "the garbage collector")
    v1.create_namespaced_secret(ns, {"metadata": {"name": "left", "finalizers": ["x.io/hold"]}})
    v1.delete_namespace(ns)
    namespace = v1.read_namespace(ns)
    assert namespace.status.phase == "Terminating" and namespace.metadata.deletion_timestamp
    poll(
        lambda: v1.read_namespaced_secret("left", ns).metadata.deletion_timestamp,
        "the namespace controller to delete its contents",
    )
    with pytest.raises(ApiException) as exc:
        v1.create_namespaced_secret(ns, {"metadata": {"name": "new"}})
    assert status_of(exc)["message"].endswith(
        f"unable to create new content in namespace {ns} because it is being terminated"
    )
    # SMP's "$patch: replace" swaps the whole metadata, so the finalizer goes.
    v1.patch_namespaced_secret("left", ns, {"metadata": {"$patch": "replace"}})
    poll(
        lambda: ns not in [n.metadata.name for n in v1.list_namespace().items],
        "the namespace to go",
    )


# ----------------------------------------------------------------------------- 11. kubectl


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    assert KUBECTL is not None
    cache = kubeconfig.parent / "cache"
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


@needs_kubectl
def test_kubectl_workflow(kubeconfig: Path, server: KubernetesEmulatorServer) -> None:
    crd_file = kubeconfig.parent / "crd.yaml"
    crd_file.write_text(PUSHSECRET_CRD)
    assert "created" in kubectl(kubeconfig, "apply", "-f", str(crd_file))
    assert "unchanged" in kubectl(kubeconfig, "apply", "-f", str(crd_file))
    app = kubeconfig.parent / "app.yaml"
    manifests = textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: kubectl-demo}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: db, namespace: kubectl-demo}
        stringData: {password: hunter2}
        ---
        apiVersion: external-secrets.io/v1alpha1
        kind: PushSecret
        metadata: {name: push-db, namespace: kubectl-demo}
        spec: {refreshInterval: 1h, selector: {secret: {name: db}}}
        """)
    app.write_text(manifests)
    out = kubectl(kubeconfig, "apply", "-f", str(app))
    assert out.split("\n")[:3] == [
        "namespace/kubectl-demo created",
        "secret/db created",
        "pushsecret.external-secrets.io/push-db created",
    ]
    out = kubectl(kubeconfig, "apply", "-f", str(app))
    assert "namespace/kubectl-demo unchanged" in out
    assert "pushsecret.external-secrets.io/push-db unchanged" in out
    app.write_text(manifests.replace("1h", "2h"))
    out = kubectl(kubeconfig, "apply", "-f", str(app))
    assert "pushsecret.external-secrets.io/push-db configured" in out
    secret = server.get_object("v1/secrets", "kubectl-demo", "db")
    assert secret is not None and secret["data"] == {"password": "aHVudGVyMg=="}
    ps = server.get_object("external-secrets.io/v1alpha1/pushsecrets", "kubectl-demo", "push-db")
    assert ps is not None and ps["spec"]["refreshInterval"] == "2h"
    assert ps["metadata"]["generation"] == 2

    header, row = kubectl(kubeconfig, "get", "secrets", "-n", "kubectl-demo").splitlines()
    assert header.split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert row.split()[:3] == ["db", "Opaque", "1"]
    assert "push-db" in kubectl(kubeconfig, "get", "pushsecrets", "-A")
    assert "kubectl-demo" in kubectl(kubeconfig, "get", "pushsecrets", "-A")
    assert "push-db" in kubectl(kubeconfig, "get", "ps", "-n", "kubectl-demo")
    names = kubectl(kubeconfig, "get", "ps", "-n", "kubectl-demo", "-o", "name")
    assert names.strip() == "pushsecret.external-secrets.io/push-db"

    # kubectl's typed clients send these as protobuf.
    assert kubectl(kubeconfig, "create", "namespace", "foo").strip() == "namespace/foo created"
    kubectl(kubeconfig, "create", "secret", "generic", "lit", "-n", "foo", "--from-literal=k=v")
    assert server.get_object("v1/secrets", "foo", "lit")["data"] == {"k": "dg=="}  # type: ignore[index]
    listing = kubectl(kubeconfig, "get", "ns")
    assert {"default", "foo", "kubectl-demo"} <= {line.split()[0] for line in listing.splitlines()}
    assert "Active" in listing
    foo = json.loads(kubectl(kubeconfig, "get", "ns", "foo", "-o", "json"))
    assert foo["metadata"]["labels"] == {"kubernetes.io/metadata.name": "foo"}

    out = kubectl(kubeconfig, "delete", "-f", str(app))
    assert 'pushsecret.external-secrets.io "push-db" deleted' in out
    assert "kubectl-demo" not in kubectl(kubeconfig, "get", "ns")
    version = json.loads(kubectl(kubeconfig, "version", "-o", "json"))
    assert version["serverVersion"]["minor"] == "32"


# ----------------------------------------------------------------------------- 12/13. running it


def test_request_log_is_bounded(tmp_path: Path) -> None:
    with KubernetesEmulatorServer(KubernetesApiEmulator(request_history=10)) as srv:
        v1 = client.CoreV1Api(_api_client(srv, tmp_path))
        for _ in range(45):
            v1.list_namespace()
        assert 10 <= srv.call(lambda emu: len(list(emu))) <= 20


def test_direct_access_and_fault_injection(
    server: KubernetesEmulatorServer, v1: Any, ns: str
) -> None:
    server.put_object(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "direct", "namespace": ns},
            "stringData": {"k": "v"},
        }
    )
    assert v1.read_namespaced_secret("direct", ns).data == {"k": "dg=="}
    assert server.list_objects("v1/secrets", ns)[0]["metadata"]["name"] == "direct"
    server.call(lambda emu: emu[f"get /api/v1/namespaces/{ns}/secrets/direct"] << 503)
    with pytest.raises(ApiException) as exc:
        v1.read_namespaced_secret("direct", ns)
    assert exc.value.status == 503, "kmock reactions take precedence (fault injection)"
    assert server.delete_object("v1/secrets", ns, "direct")
    assert server.get_object("v1/secrets", ns, "direct") is None


async def test_serve_in_the_running_loop() -> None:
    async with serve() as (emulator, url), aiohttp.ClientSession() as session:
        async with session.get(f"{url}/api/v1/namespaces") as resp:
            body = await resp.json()
        assert (resp.status, body["kind"]) == (200, "NamespaceList")
        assert emulator.get_object("v1/namespaces", None, "default") is not None
        async with session.get(f"{url}/version") as resp:
            assert (await resp.json())["gitVersion"].startswith("v1.32")


def test_standalone_command(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulators.kubernetes",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Kubernetes API emulator at http://127.0.0.1:")
        cfg = client.Configuration()
        config.load_kube_config(str(kubeconfig), client_configuration=cfg)
        names = [
            n.metadata.name for n in client.CoreV1Api(client.ApiClient(cfg)).list_namespace().items
        ]
        assert "default" in names
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_token_request_for_a_service_account(tmp_path: Path) -> None:
    """TokenRequest: a JWT with the requested audiences and the SA as subject; 404 if absent."""
    from kubernetes import client as _client
    from kubernetes.config import new_client_from_config

    with KubernetesEmulatorServer() as server:
        core = _client.CoreV1Api(
            new_client_from_config(str(server.write_kubeconfig(tmp_path / "kc")))
        )
        core.create_namespaced_service_account("default", {"metadata": {"name": "sa1"}})
        res = core.create_namespaced_service_account_token(
            "sa1",
            "default",
            {"spec": {"audiences": ["api://AzureADTokenExchange"], "expirationSeconds": 600}},
        )
        claims = json.loads(base64.urlsafe_b64decode(res.status.token.split(".")[1] + "=="))
        assert claims["aud"] == ["api://AzureADTokenExchange"]
        assert claims["sub"] == "system:serviceaccount:default:sa1"
        assert claims["exp"] - claims["iat"] == 600
        with pytest.raises(_client.exceptions.ApiException) as err:
            core.create_namespaced_service_account_token("missing", "default", {"spec": {}})
        assert err.value.status == 404
