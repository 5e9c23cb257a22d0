"""dataTo, key conversion and whole-secret pushes through the whole stack."""

from __future__ import annotations

import asyncio
import base64
import json
import time

from temporalio.client import Client

from tests.e2e.conftest import Cluster, poll
from workflows.pushsecret import PushSecretWorkflow


def test_data_to_per_key_with_rewrite_and_bundle(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "app", {"DB_HOST": "db.internal", "DB_PASS": "p4ss-dt", "API_KEY": "k3y-dt"})
    cluster.pushsecret(
        ns,
        "bulk",
        secret="app",
        data=[],
        dataTo=[
            {
                "storeRef": {"name": "gcp"},
                "match": {"regexp": "^DB_"},
                "rewrite": [{"regexp": {"source": "^DB_(.*)$", "target": f"{ns}-db-$1"}}],
            },
            {"storeRef": {"name": "gcp"}, "remoteKey": f"{ns}-bundle", "match": {"regexp": "KEY"}},
        ],
    )
    cluster.wait_ready(ns, "bulk")
    assert cluster.remote(f"{ns}-db-HOST") == b"db.internal"
    assert cluster.remote(f"{ns}-db-PASS") == b"p4ss-dt"
    assert json.loads(cluster.remote(f"{ns}-bundle")) == {"API_KEY": "k3y-dt"}
    synced = cluster.get_ps(ns, "bulk")["status"]["syncedPushSecrets"]["SecretStore/gcp"]
    assert set(synced) == {f"{ns}-db-HOST", f"{ns}-db-PASS", f"{ns}-bundle"}
    assert synced[f"{ns}-db-PASS"]["match"]["secretKey"] == "DB_PASS"


def test_data_to_store_not_in_refs_is_reported(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "app", {"K": "v-not-pushed"})
    cluster.pushsecret(
        ns, "bad", secret="app", data=[], dataTo=[{"storeRef": {"name": "elsewhere"}}]
    )
    cond = cluster.wait_ready(ns, "bad", status="False")
    assert cond["message"] == 'dataTo[0]: storeRef "elsewhere" not found in secretStoreRefs'


def test_reverse_unicode_key_conversion(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    # As an ExternalSecret with conversionStrategy Unicode would have named the key:
    cluster.secret(ns, "conv", {"db_U002e_password": "converted-value"})
    cluster.pushsecret(
        ns,
        "conv",
        secret="conv",
        data=[
            {
                "conversionStrategy": "ReverseUnicode",
                "match": {"secretKey": "db.password", "remoteRef": {"remoteKey": f"{ns}-conv"}},
            }
        ],
    )
    cluster.wait_ready(ns, "conv")
    assert cluster.remote(f"{ns}-conv") == b"converted-value"


def test_whole_secret_push_and_binary_refusal(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "whole", {"user": "admin", "pass": "wh0le"})
    cluster.pushsecret(
        ns, "whole", secret="whole", data=[{"match": {"remoteRef": {"remoteKey": f"{ns}-whole"}}}]
    )
    cluster.wait_ready(ns, "whole")
    assert cluster.remote(f"{ns}-whole") == b'{"pass":"wh0le","user":"admin"}'

    cluster.core.create_namespaced_secret(
        ns,
        {
            "metadata": {"name": "bin"},
            "data": {"blob": base64.b64encode(b"\xff\xfe\x00binary").decode()},
        },
    )
    cluster.pushsecret(
        ns, "bin", secret="bin", data=[{"match": {"remoteRef": {"remoteKey": f"{ns}-bin"}}}]
    )
    cond = cluster.wait_ready(ns, "bin", status="False")
    assert cond["message"] == (
        "set secret failed: secret data is not valid UTF-8 and cannot be pushed as JSON: key blob"
    )
    poll(lambda: not cluster.remote_exists(f"{ns}-bin"), 5, "nothing written")


async def test_if_not_exists_keeps_what_the_store_has(cluster: Cluster, temporal: Client) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "first-generated"})
    cluster.pushsecret(ns, "once", secret="db", updatePolicy="IfNotExists")
    cond = cluster.wait_ready(ns, "once")
    assert cond["message"] == (
        "PushSecret synced successfully. Existing secrets in providers unchanged."
    )
    assert cluster.remote(f"{ns}-once") == b"first-generated"
    handle = temporal.get_workflow_handle(
        f"pushsecret/{ns}/once/{cluster.get_ps(ns, 'once')['metadata']['uid']}"
    )
    before = (await handle.query(PushSecretWorkflow.status)).last_synced_at
    cluster.set_secret(ns, "db", {"password": "second-value"})
    deadline = time.monotonic() + 30
    while (await handle.query(PushSecretWorkflow.status)).last_synced_at == before:
        assert time.monotonic() < deadline, "the change was never reconciled"
        await asyncio.sleep(0.05)
    # The change was reconciled, and the store kept its value: it exists, so no write.
    assert cluster.remote(f"{ns}-once") == b"first-generated"
    assert len(cluster.versions(f"{ns}-once")) == 1


def test_label_selected_sources(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    for name, value in (("a-first", "sel-a"), ("b-second", "sel-b")):
        cluster.values.add(value)
        cluster.core.create_namespaced_secret(
            ns,
            {"metadata": {"name": name, "labels": {"backup": "yes"}}, "stringData": {"v": value}},
        )
    cluster.core.create_namespaced_secret(
        ns, {"metadata": {"name": "c-unlabelled"}, "stringData": {"v": "not-selected"}}
    )
    cluster.values.add("not-selected")
    # Every selected Secret pushes to the same remote key: the last by name wins, as in ESO,
    # but only that one is written (ESO writes each in turn, a version per Secret).
    body_data = [{"match": {"secretKey": "v", "remoteRef": {"remoteKey": f"{ns}-sel"}}}]
    cluster.custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "sel"},
            "spec": {
                "secretStoreRefs": [{"name": "gcp"}],
                "selector": {"secret": {"selector": {"matchLabels": {"backup": "yes"}}}},
                "data": body_data,
            },
        },
    )
    cluster.wait_ready(ns, "sel")
    assert cluster.remote(f"{ns}-sel") == b"sel-b"
    assert len(cluster.versions(f"{ns}-sel")) == 1
    # A Secret gaining the label is picked up at once.
    cluster.core.patch_namespaced_secret(
        "c-unlabelled", ns, {"metadata": {"labels": {"backup": "yes"}}}
    )
    poll(lambda: cluster.remote(f"{ns}-sel") == b"not-selected", 30, "the newly selected Secret")
