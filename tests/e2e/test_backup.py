"""The seed's backup use case, and one PushSecret writing to GCP and Azure at once.

Secrets held in GCP Secret Manager reach the cluster as a Secret (created here from the GCP
emulator's content, as an ESO ExternalSecret would), and a PushSecret with an Azure Key Vault
SecretStore backs them up; the values in Azure must equal the values in GCP.
"""

from __future__ import annotations

import base64
from typing import Any

from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from emulators.stack import (
    AZURE_CLIENT_ID,
    AZURE_CLIENT_SECRET,
    GKE_CLUSTER,
    GKE_LOCATION,
    GKE_PROJECT,
    LocalStack,
)
from tests.e2e.conftest import PROJECT, Cluster, poll

G = "external-secrets.io"


def _azure_client(stack: LocalStack) -> SecretClient:
    emu = stack.azure
    cred = ClientSecretCredential(
        emu.tenant_id,
        AZURE_CLIENT_ID,
        AZURE_CLIENT_SECRET,
        authority=emu.authority_url,
        disable_instance_discovery=True,
        connection_verify=emu.ca_cert_path,
    )
    return SecretClient(
        emu.vault_url, cred, verify_challenge_resource=False, connection_verify=emu.ca_cert_path
    )


def _azure_store(c: Cluster, ns: str, name: str, auth: dict[str, Any]) -> None:
    c.custom.create_namespaced_custom_object(
        G,
        "v1",
        ns,
        "secretstores",
        {
            "apiVersion": f"{G}/v1",
            "kind": "SecretStore",
            "metadata": {"name": name},
            "spec": {"provider": {"azurekv": {"vaultUrl": c.stack.azure.vault_url, **auth}}},
        },
    )


def test_gcp_secrets_are_backed_up_to_azure(cluster: Cluster, stack: LocalStack) -> None:
    ns = cluster.namespace()
    originals = {"prod-db-password": b"gcp-held-db-pass", "prod-api-key": b"gcp-held-api-key"}
    for sid, value in originals.items():
        cluster.gcp.create_secret(
            parent=f"projects/{PROJECT}",
            secret_id=f"{ns}-{sid}",
            secret={"replication": {"automatic": {}}},
        )
        cluster.gcp.add_secret_version(
            parent=f"projects/{PROJECT}/secrets/{ns}-{sid}", payload={"data": value}
        )
    # What an ExternalSecret would materialise from GCP:
    data = {sid: base64.b64encode(cluster.remote(f"{ns}-{sid}")).decode() for sid in originals}
    cluster.values.update(v.decode() for v in originals.values())
    cluster.core.create_namespaced_secret(ns, {"metadata": {"name": "prod"}, "data": data})
    # A service principal, as ESO's azurekv docs configure it.
    cluster.secret(
        ns, "azure-sp", {"client-id": AZURE_CLIENT_ID, "client-secret": AZURE_CLIENT_SECRET}
    )
    _azure_store(
        cluster,
        ns,
        "azure-backup",
        {
            "tenantId": stack.azure.tenant_id,
            "authType": "ServicePrincipal",
            "authSecretRef": {
                "clientId": {"name": "azure-sp", "key": "client-id"},
                "clientSecret": {"name": "azure-sp", "key": "client-secret"},
            },
        },
    )
    cluster.pushsecret(
        ns,
        "backup",
        secret="prod",
        store="azure-backup",
        data=[
            {"match": {"secretKey": sid, "remoteRef": {"remoteKey": f"{ns}-{sid}"}}}
            for sid in originals
        ],
    )
    cluster.wait_ready(ns, "backup")
    az = _azure_client(stack)
    for sid, value in originals.items():
        got = az.get_secret(f"{ns}-{sid}")
        assert got.value is not None and got.value.encode() == value
        assert (got.properties.tags or {}).get("managed-by") == "external-secrets"
        assert cluster.remote(f"{ns}-{sid}") == value  # the same value in both clouds


def test_one_pushsecret_two_clouds_one_failing(cluster: Cluster, stack: LocalStack) -> None:
    ns = cluster.namespace()
    cluster.store(ns, "gcp")
    _azure_store(cluster, ns, "azure", {"authType": "ManagedIdentity"})
    cluster.secret(ns, "db", {"password": "both-clouds-v1"})
    stack.azure.fail_next("GetSecret", 503, times=1000)  # Key Vault is down
    cluster.pushsecret(ns, "app", secret="db", secretStoreRefs=[{"name": "azure"}, {"name": "gcp"}])
    cond = cluster.wait_ready(ns, "app", status="False", timeout=90)
    assert cond["message"].startswith(
        "set secret failed: could not write remote ref password to target secretstore azure: "
    )
    assert cluster.remote(f"{ns}-app") == b"both-clouds-v1"  # GCP is in sync regardless
    rows = {r["name"]: r for r in cluster.get_ps(ns, "app")["status"]["stores"]}
    assert rows["SecretStore/gcp"]["ready"] is True
    assert rows["SecretStore/azure"]["ready"] is False
    assert (
        "503" in rows["SecretStore/azure"]["message"]
        or "navailable" in (rows["SecretStore/azure"]["message"])
    )

    # A change during the outage still reaches GCP at once.
    cluster.set_secret(ns, "db", {"password": "both-clouds-v2"})
    poll(lambda: cluster.remote(f"{ns}-app") == b"both-clouds-v2", 30, "the change in GCP")

    # Key Vault comes back: the workflow's retry brings Azure up to date, with the current value.
    stack.azure.clear_faults()
    cluster.wait_ready(ns, "app", timeout=120)
    got = _azure_client(stack).get_secret(f"{ns}-app")
    assert got.value == "both-clouds-v2"
    assert len(stack.azure.versions(f"{ns}-app")) == 1  # never wrote the stale value


def test_azure_workload_identity_through_a_service_account(
    cluster: Cluster, stack: LocalStack
) -> None:
    ns = cluster.namespace()
    stack.azure.register_client("wi-app", federated=True)
    cluster.core.create_namespaced_service_account(
        ns,
        {
            "metadata": {
                "name": "pusher",
                "annotations": {"azure.workload.identity/client-id": "wi-app"},
            }
        },
    )
    _azure_store(
        cluster,
        ns,
        "azure-wi",
        {
            "authType": "WorkloadIdentity",
            "tenantId": stack.azure.tenant_id,
            "serviceAccountRef": {"name": "pusher"},
        },
    )
    cluster.secret(ns, "db", {"password": "via-workload-identity"})
    cluster.pushsecret(ns, "app", secret="db", store="azure-wi")
    cluster.wait_ready(ns, "app")
    assert _azure_client(stack).get_secret(f"{ns}-app").value == "via-workload-identity"
    assert [g.client_id for g in stack.azure.grants].count("wi-app") == 1
    # The next push reuses the credential and its token: no new token exchange.
    cluster.set_secret(ns, "db", {"password": "via-workload-identity-2"})
    poll(
        lambda: _azure_client(stack).get_secret(f"{ns}-app").value == "via-workload-identity-2",
        30,
        "the change in Azure",
    )
    assert [g.client_id for g in stack.azure.grants].count("wi-app") == 1

    # The annotation and a clientId in the store both set: ESO's error, no push.
    cluster.secret(ns, "ids", {"client-id": "other-app"})
    _azure_store(
        cluster,
        ns,
        "azure-both",
        {
            "authType": "WorkloadIdentity",
            "tenantId": stack.azure.tenant_id,
            "serviceAccountRef": {"name": "pusher"},
            "authSecretRef": {"clientId": {"name": "ids", "key": "client-id"}},
        },
    )
    cluster.pushsecret(ns, "both", secret="db", store="azure-both")
    cond = cluster.wait_ready(ns, "both", status="False")
    assert cond["message"].endswith(
        "multiple clientID found. Check secretRef and serviceAccountRef"
    )


def test_gcp_workload_identity_through_a_service_account(
    cluster: Cluster, stack: LocalStack
) -> None:
    ns = cluster.namespace()
    gsa = "pusher@local-project.iam.gserviceaccount.com"
    stack.gcp_identity.allow_impersonation(gsa, ns, "pusher")
    cluster.core.create_namespaced_service_account(
        ns, {"metadata": {"name": "pusher", "annotations": {"iam.gke.io/gcp-service-account": gsa}}}
    )
    cluster.core.create_namespaced_service_account(
        ns,
        {"metadata": {"name": "unbound", "annotations": {"iam.gke.io/gcp-service-account": gsa}}},
    )
    wi = {
        "clusterLocation": GKE_LOCATION,
        "clusterName": GKE_CLUSTER,
        "clusterProjectID": GKE_PROJECT,
    }
    for name, sa in (("gcp-wi", "pusher"), ("gcp-unbound", "unbound")):
        cluster.custom.create_namespaced_custom_object(
            G,
            "v1",
            ns,
            "secretstores",
            {
                "apiVersion": f"{G}/v1",
                "kind": "SecretStore",
                "metadata": {"name": name},
                "spec": {
                    "provider": {
                        "gcpsm": {
                            "projectID": PROJECT,
                            "auth": {"workloadIdentity": {"serviceAccountRef": {"name": sa}, **wi}},
                        }
                    }
                },
            },
        )
    cluster.secret(ns, "db", {"password": "via-gke-wi"})
    cluster.pushsecret(ns, "app", secret="db", store="gcp-wi")
    cluster.wait_ready(ns, "app")
    assert cluster.remote(f"{ns}-app") == b"via-gke-wi"
    assert any(gsa in str(g) for g in stack.gcp_identity.grants)

    # A KSA the GSA does not trust: a clear, permanent error.
    cluster.pushsecret(ns, "denied", secret="db", store="gcp-unbound")
    cond = cluster.wait_ready(ns, "denied", status="False")
    assert "unable to get credentials: " in cond["message"]
