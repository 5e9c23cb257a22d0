"""Store references: ClusterSecretStore conditions, mixed kinds, label selectors, controller."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import PROJECT, Cluster

G = "external-secrets.io"


def _css(c: Cluster, name: str, **spec: object) -> None:
    c.custom.create_cluster_custom_object(
        G,
        "v1",
        "clustersecretstores",
        {
            "apiVersion": f"{G}/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": name},
            "spec": {"provider": {"gcpsm": {"projectID": PROJECT}}, **spec},
        },
    )


def test_cluster_store_conditions_and_mixed_kinds(cluster: Cluster) -> None:
    allowed, denied = cluster.namespace(), cluster.namespace()
    name = "shared-" + uuid.uuid4().hex[:6]
    _css(cluster, name, conditions=[{"namespaces": [allowed]}])
    for ns in (allowed, denied):
        cluster.store(ns, "local")
        cluster.secret(ns, "db", {"password": f"css-{ns}"})
        # Mixed kinds in one list (ESO's Q15 resolved the SecretStore in namespace "").
        cluster.pushsecret(
            ns,
            "app",
            secret="db",
            secretStoreRefs=[
                {"name": name, "kind": "ClusterSecretStore"},
                {"name": "local", "kind": "SecretStore"},
            ],
        )
    cluster.wait_ready(allowed, "app")
    rows = {r["name"]: r["ready"] for r in cluster.get_ps(allowed, "app")["status"]["stores"]}
    assert rows == {f"ClusterSecretStore/{name}": True, "SecretStore/local": True}
    cond = cluster.wait_ready(denied, "app", status="False")
    assert cond["message"] == (
        f"set secret failed: could not get secrets client for store {name}: using cluster store "
        f'"{name}" is not allowed from namespace "{denied}": denied by spec.condition'
    )
    # The SecretStore of the denied namespace still got the value.
    rows = {r["name"]: r["ready"] for r in cluster.get_ps(denied, "app")["status"]["stores"]}
    assert rows == {f"ClusterSecretStore/{name}": False, "SecretStore/local": True}


def test_label_selected_stores_and_foreign_controller(cluster: Cluster) -> None:
    ns = cluster.namespace()
    for name, labels, controller in (
        ("a", {"team": "x"}, None),
        ("b", {"team": "x"}, "other"),
        ("c", {"team": "y"}, None),
    ):
        spec: dict[str, object] = {"provider": {"gcpsm": {"projectID": PROJECT}}}
        if controller:
            spec["controller"] = controller  # another controller's store: left alone, as ESO
        cluster.custom.create_namespaced_custom_object(
            G,
            "v1",
            ns,
            "secretstores",
            {
                "apiVersion": f"{G}/v1",
                "kind": "SecretStore",
                "metadata": {"name": name, "labels": labels},
                "spec": spec,
            },
        )
    cluster.secret(ns, "db", {"password": "by-label"})
    cluster.pushsecret(
        ns,
        "app",
        secret="db",
        secretStoreRefs=[{"kind": "SecretStore", "labelSelector": {"matchLabels": {"team": "x"}}}],
    )
    cluster.wait_ready(ns, "app")
    assert list(cluster.get_ps(ns, "app")["status"]["syncedPushSecrets"]) == ["SecretStore/a"]
