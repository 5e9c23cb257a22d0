"""ClusterPushSecret: one ordinary PushSecret per selected namespace, kept in step."""

from __future__ import annotations

import uuid

from kubernetes.client.exceptions import ApiException

from tests.e2e.conftest import Cluster, poll

G = "external-secrets.io"


def _children(c: Cluster, name: str) -> set[str]:
    items = c.custom.list_cluster_custom_object(G, "v1alpha1", "pushsecrets")["items"]
    return {o["metadata"]["namespace"] for o in items if o["metadata"]["name"] == name}


def test_fan_out_follows_namespace_labels(cluster: Cluster) -> None:
    label = "team-" + uuid.uuid4().hex[:6]
    child = "from-cps-" + uuid.uuid4().hex[:4]
    nss = [cluster.namespace() for _ in range(4)]
    for ns in nss:
        # Each namespace has its own store (its own GCP project) and source Secret.
        cluster.store(ns, "gcp", project=ns)
        cluster.secret(ns, "db", {"password": f"cps-{ns}"})
    a, b, c, taken = nss
    for ns in (a, b, taken):
        cluster.core.patch_namespace(ns, {"metadata": {"labels": {"cps": label}}})
    # A PushSecret of the same name that the ClusterPushSecret does not own: left alone.
    cluster.pushsecret(taken, child, secret="db")
    cps = f"cps-{label}"
    cluster.custom.create_cluster_custom_object(
        G,
        "v1alpha1",
        "clusterpushsecrets",
        {
            "apiVersion": f"{G}/v1alpha1",
            "kind": "ClusterPushSecret",
            "metadata": {"name": cps},
            "spec": {
                "pushSecretName": child,
                "namespaceSelectors": [{"matchLabels": {"cps": label}}],
                "pushSecretMetadata": {"labels": {"made-by": "cps"}},
                "pushSecretSpec": {
                    "secretStoreRefs": [{"name": "gcp", "kind": "SecretStore"}],
                    "selector": {"secret": {"name": "db"}},
                    "data": [
                        {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "cps-key"}}}
                    ],
                },
            },
        },
    )

    def status() -> dict[str, object]:
        obj = cluster.custom.get_cluster_custom_object(G, "v1alpha1", "clusterpushsecrets", cps)
        st: dict[str, object] = obj.get("status") or {}
        return st

    poll(lambda: status().get("provisionedNamespaces") == sorted([a, b]), 60, "the fan-out")
    st = status()
    assert st["failedNamespaces"] == [
        {"namespace": taken, "reason": "push secret already exists in namespace"}
    ]
    assert st["conditions"] == [
        {"type": "Ready", "status": "False", "message": "one or more namespaces failed"}
    ]
    for ns in (a, b):
        cluster.wait_ready(ns, child)
        got = cluster.gcp.access_secret_version(
            name=f"projects/{ns}/secrets/cps-key/versions/latest"
        ).payload.data
        assert got == f"cps-{ns}".encode()
        assert cluster.get_ps(ns, child)["metadata"]["labels"] == {"made-by": "cps"}

    # A namespace joins, another leaves: the children follow at once.
    cluster.core.patch_namespace(c, {"metadata": {"labels": {"cps": label}}})
    cluster.core.patch_namespace(a, {"metadata": {"labels": {"cps": None}}})
    poll(lambda: _children(cluster, child) == {b, c, taken}, 60, "children to follow labels")
    cluster.wait_ready(c, child)

    # Deleting the ClusterPushSecret removes its children (garbage collection), not others.
    cluster.custom.delete_cluster_custom_object(G, "v1alpha1", "clusterpushsecrets", cps)
    poll(lambda: _children(cluster, child) == {taken}, 60, "the children to be collected")
    try:
        cluster.get_ps(taken, child)
    except ApiException as err:  # pragma: no cover - the assertion below explains
        raise AssertionError("a PushSecret it did not own was deleted") from err
