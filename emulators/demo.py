"""``pushsecret demo``: the local stack, an example PushSecret, and what it did."""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from emulators.stack import LocalStack, wait_for

NS = "demo"
EXAMPLE: dict[str, Any] = {
    "secret": {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db-credentials", "namespace": NS},
        "stringData": {"password": "demo-password-1"},
    },
    "store": {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "gcp-store", "namespace": NS},
        "spec": {"provider": {"gcpsm": {"projectID": "demo-project"}}},
    },
    "azure_store": {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "azure-store", "namespace": NS},
        # The vault URL is filled in at start; managed identity needs no credentials.
        "spec": {"provider": {"azurekv": {"vaultUrl": "", "authType": "ManagedIdentity"}}},
    },
    "pushsecret": {
        "apiVersion": "external-secrets.io/v1alpha1",
        "kind": "PushSecret",
        "metadata": {"name": "db-password", "namespace": NS},
        "spec": {
            "refreshInterval": "1h",
            "deletionPolicy": "Delete",
            "secretStoreRefs": [
                {"name": "gcp-store", "kind": "SecretStore"},
                {"name": "azure-store", "kind": "SecretStore"},
            ],
            "selector": {"secret": {"name": "db-credentials"}},
            "data": [
                {"match": {"secretKey": "password", "remoteRef": {"remoteKey": "db-password"}}}
            ],
        },
    },
}


def _fingerprint(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:12]


def _ready(custom: Any) -> dict[str, Any] | None:
    ps = custom.get_namespaced_custom_object(
        "external-secrets.io", "v1alpha1", NS, "pushsecrets", "db-password"
    )
    for c in (ps.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            cond: dict[str, Any] = c
            return cond
    return None


def _gcp_latest(address: str) -> tuple[str, bytes]:
    import grpc
    from google.cloud import secretmanager_v1 as sm
    from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
        SecretManagerServiceGrpcTransport,
    )

    client = sm.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(address))
    )
    resp = client.access_secret_version(
        name="projects/demo-project/secrets/db-password/versions/latest"
    )
    return resp.name.rsplit("/", 1)[-1], bytes(resp.payload.data)


def _azure_latest(stack: LocalStack) -> tuple[str, bytes]:
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    from emulators.stack import AZURE_CLIENT_ID, AZURE_CLIENT_SECRET

    emu = stack.azure
    cred = ClientSecretCredential(
        emu.tenant_id,
        AZURE_CLIENT_ID,
        AZURE_CLIENT_SECRET,
        authority=emu.authority_url,
        disable_instance_discovery=True,
        connection_verify=emu.ca_cert_path,
    )
    client = SecretClient(
        emu.vault_url, cred, verify_challenge_resource=False, connection_verify=emu.ca_cert_path
    )
    secret = client.get_secret("db-password")
    return secret.properties.version or "", (secret.value or "").encode()


def run_demo(state_dir: str, *, once: bool) -> int:
    """Run the demo; returns a process exit code."""
    from kubernetes import client

    from pushsecret.kube import load_api_client

    path = Path(state_dir)
    if path.exists():
        shutil.rmtree(path)
    print(
        "Starting the local stack (Temporal dev server + UI, Kubernetes and GCP emulators, "
        "worker, watcher)...",
        flush=True,
    )
    with LocalStack(path) as stack:
        api = load_api_client(str(stack.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        core.create_namespace({"metadata": {"name": NS}})
        core.create_namespaced_secret(NS, EXAMPLE["secret"])
        custom.create_namespaced_custom_object(
            "external-secrets.io", "v1", NS, "secretstores", EXAMPLE["store"]
        )
        azure_store = EXAMPLE["azure_store"]
        azure_store["spec"]["provider"]["azurekv"]["vaultUrl"] = stack.azure.vault_url
        custom.create_namespaced_custom_object(
            "external-secrets.io", "v1", NS, "secretstores", azure_store
        )
        t0 = time.monotonic()
        custom.create_namespaced_custom_object(
            "external-secrets.io", "v1alpha1", NS, "pushsecrets", EXAMPLE["pushsecret"]
        )
        print(
            f"Applied Secret {NS}/db-credentials, SecretStores {NS}/gcp-store (gcpsm) and "
            f"{NS}/azure-store (azurekv) and PushSecret {NS}/db-password.",
            flush=True,
        )
        wait_for(lambda: _ready(custom) is not None, 60, "the PushSecret to become Ready")
        cond = _ready(custom) or {}
        version, value = _gcp_latest(stack.gcp_address)
        print(
            f"Ready={cond.get('status')} reason={cond.get('reason')} "
            f"message={cond.get('message')!r} after {time.monotonic() - t0:.1f}s"
        )
        print(
            f"GCP secret projects/demo-project/secrets/db-password holds version {version}, "
            f"sha256 {_fingerprint(value)} (the Secret's: {_fingerprint(b'demo-password-1')})"
        )
        az_version, az_value = _azure_latest(stack)
        print(
            f"Azure secret {stack.azure.vault_url}/secrets/db-password holds version "
            f"{az_version[:8]}..., sha256 {_fingerprint(az_value)}"
        )

        new = b"demo-password-2"
        t1 = time.monotonic()
        core.patch_namespaced_secret(
            "db-credentials", NS, {"data": {"password": base64.b64encode(new).decode()}}
        )
        wait_for(lambda: _gcp_latest(stack.gcp_address)[1] == new, 60, "the change to arrive")
        version, value = _gcp_latest(stack.gcp_address)
        print(
            f"Changed the Secret: version {version} (sha256 {_fingerprint(value)}) reached GCP "
            f"{time.monotonic() - t1:.2f}s later, without waiting for refreshInterval."
        )
        wait_for(lambda: _azure_latest(stack)[1] == new, 60, "the change to reach Azure")
        print(f"...and Azure holds it too (sha256 {_fingerprint(_azure_latest(stack)[1])}).")
        uid = custom.get_namespaced_custom_object(
            "external-secrets.io", "v1alpha1", NS, "pushsecrets", "db-password"
        )["metadata"]["uid"]
        wf = f"pushsecret/{NS}/db-password/{uid}"
        print(
            f"Temporal UI: http://127.0.0.1:{stack.ui_port}/namespaces/default/workflows "
            f"(workflow {wf})"
        )
        print(f"kubectl:     kubectl --kubeconfig {stack.kubeconfig} get pushsecrets -A")
        if not once:
            print("The stack stays up; press Ctrl-C to stop.", flush=True)
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stop.wait()
    return 0
