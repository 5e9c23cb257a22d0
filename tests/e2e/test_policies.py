"""updatePolicy / deletionPolicy details, spec validation, and ESO's ClusterPushSecret example."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import grpc
import pytest

from emulators.stack import LocalStack
from pushsecret.api.pushsecret import FINALIZER
from tests.e2e.conftest import Cluster, poll


def test_removed_entry_is_deleted_after_the_new_push(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "stale-test"})
    cluster.pushsecret(
        ns,
        "app",
        secret="db",
        deletionPolicy="Delete",
        data=[{"match": {"secretKey": "password", "remoteRef": {"remoteKey": f"{ns}-old"}}}],
    )
    cluster.wait_ready(ns, "app")
    assert cluster.remote_exists(f"{ns}-old")
    # Renaming the remote key: the new one is written first, then the old one deleted.
    cluster.custom.patch_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        "app",
        {
            "spec": {
                "data": [
                    {"match": {"secretKey": "password", "remoteRef": {"remoteKey": f"{ns}-new"}}}
                ]
            }
        },
    )
    poll(lambda: not cluster.remote_exists(f"{ns}-old"), 30, "the stale entry to be deleted")
    assert cluster.remote(f"{ns}-new") == b"stale-test"
    # The status is written after the stale entry is deleted: poll for it.
    poll(
        lambda: (
            list(cluster.get_ps(ns, "app")["status"]["syncedPushSecrets"]["SecretStore/gcp"])
            == [f"{ns}-new"]
        ),
        30,
        "syncedPushSecrets to list only the new entry",
    )


def test_delete_to_none_releases_the_finalizer(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "kept-after-policy-change"})
    cluster.pushsecret(ns, "app", secret="db", deletionPolicy="Delete")
    cluster.wait_ready(ns, "app")
    poll(
        lambda: FINALIZER in (cluster.get_ps(ns, "app")["metadata"].get("finalizers") or []),
        30,
        "the finalizer",
    )
    cluster.custom.patch_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        "app",
        {"spec": {"deletionPolicy": "None"}},
    )
    poll(
        lambda: FINALIZER not in (cluster.get_ps(ns, "app")["metadata"].get("finalizers") or []),
        30,
        "the finalizer to be released (ESO #3609)",
    )
    cluster.custom.delete_namespaced_custom_object(
        "external-secrets.io", "v1alpha1", ns, "pushsecrets", "app"
    )
    poll(
        lambda: (
            not any(
                o["metadata"]["name"] == "app"
                for o in cluster.custom.list_namespaced_custom_object(
                    "external-secrets.io", "v1alpha1", ns, "pushsecrets"
                )["items"]
            )
        ),
        30,
        "gone",
    )
    assert cluster.remote(f"{ns}-app") == b"kept-after-policy-change"


def test_failing_existence_check_writes_nothing(cluster: Cluster, stack: LocalStack) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"password": "exists-check"})
    stack.gcp.fail_next("ListSecretVersions", grpc.StatusCode.PERMISSION_DENIED, times=3)
    cluster.pushsecret(ns, "app", secret="db", updatePolicy="IfNotExists")
    cond = cluster.wait_ready(ns, "app", status="False")
    assert cond["message"].startswith(
        "set secret failed: could not verify if secret exists in store: "
    )
    assert not cluster.remote_exists(f"{ns}-app")


def test_selector_needs_exactly_one_source(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.custom.create_namespaced_custom_object(
        "external-secrets.io",
        "v1alpha1",
        ns,
        "pushsecrets",
        {
            "apiVersion": "external-secrets.io/v1alpha1",
            "kind": "PushSecret",
            "metadata": {"name": "both"},
            "spec": {
                "secretStoreRefs": [{"name": "gcp"}],
                "selector": {
                    "secret": {"name": "db"},
                    "generatorRef": {"kind": "Password", "name": "pw"},
                },
            },
        },
    )
    cond = cluster.wait_ready(ns, "both", status="False")
    assert "spec.selector: Too many: 2: must have at most 1 items" in cond["message"]


def test_whole_secret_into_a_property(cluster: Cluster) -> None:
    ns = cluster.namespace()
    cluster.store(ns)
    cluster.secret(ns, "db", {"user": "whole-prop-user", "pass": "whole-prop"})
    cluster.pushsecret(
        ns,
        "app",
        secret="db",
        data=[{"match": {"remoteRef": {"remoteKey": f"{ns}-app", "property": "creds"}}}],
    )
    cluster.wait_ready(ns, "app")
    # As ESO (sjson): the marshalled secret is stored as a JSON string in the property.
    assert (
        cluster.remote(f"{ns}-app")
        == b'{"creds":"{\\"pass\\":\\"whole-prop\\",\\"user\\":\\"whole-prop-user\\"}"}'
    )


# ESO's docs/snippets/full-cluster-push-secret.yaml (ESO 2.9.0), comments dropped.
ESO_CPS_EXAMPLE = """\
apiVersion: v1
kind: Secret
metadata:
  name: source-secret
stringData:
  best-pokemon-src: "Pikachu"
---
apiVersion: external-secrets.io/v1alpha1
kind: ClusterPushSecret
metadata:
  name: "hello-world"
spec:
  pushSecretName: "hello-world-ps"
  pushSecretMetadata:
    labels: {}
    annotations: {}
  namespaceSelectors:
  - matchLabels:
      cool: label
  refreshTime: "1m"
  pushSecretSpec:
    updatePolicy: Replace
    deletionPolicy: Delete
    refreshInterval: 1h0m0s
    secretStoreRefs:
      - name: aws-parameterstore
        kind: SecretStore
    selector:
      secret:
        name: source-secret
      generatorRef:
        apiVersion: external-secrets.io/v1alpha1
        kind: ECRAuthorizationToken
        name: prod-registry-credentials
    template:
      metadata:
        annotations: { }
        labels: { }
      data:
        best-pokemon: "{{ index . \\"best-pokemon-src\\" | toString | upper }} is the really best!"
      templateFrom:
        - configMap:
            name: application-config-tmpl
            items:
              - key: config.yml
    data:
      - conversionStrategy: None
        match:
          secretKey: best-pokemon
          remoteRef:
            remoteKey: destination-secret
            property: best-pokemon-dst
status:
  failedNamespaces:
    - namespace: "matching-ns-1"
      reason: "push secret already exists in namespace"
  provisionedNamespaces:
    - "matching-ns-3"
    - "matching-ns-2"
  conditions:
  - type: Ready
    status: "False"
    message: "one or more namespaces failed"
    lastTransitionTime: "2022-01-12T12:33:02Z"
"""


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_eso_cluster_pushsecret_example_applies(
    cluster: Cluster, stack: LocalStack, tmp_path: Path
) -> None:
    """ESO's docs/snippets/full-cluster-push-secret.yaml, as published (only namespaced).

    It sets both selector.secret and selector.generatorRef, which ESO's own CRD rejects
    (spec §8.6); the emulated API server does not validate schemas, so it is accepted here
    and every child reports the validation error instead of pushing anything."""
    ns = cluster.namespace()
    label = uuid.uuid4().hex[:8]
    cluster.core.patch_namespace(ns, {"metadata": {"labels": {"cool": label}}})
    text = ESO_CPS_EXAMPLE
    text = text.replace("name: source-secret\n", f"name: source-secret\n  namespace: {ns}\n", 1)
    text = text.replace('name: "hello-world"', f'name: "hello-world-{label}"')
    text = text.replace("cool: label", f"cool: {label}")
    f = tmp_path / "cps.yaml"
    f.write_text(text)
    out = subprocess.run(
        ["kubectl", "--kubeconfig", str(stack.kubeconfig), "apply", "-f", str(f)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    cond = cluster.wait_ready(ns, "hello-world-ps", status="False")
    assert "must have at most 1 items" in cond["message"]
