"""Latency and throughput of the walking skeleton on the local stack.

1. A Secret change to the store write: 20 changes, one at a time, each timed from the PATCH of
   the Secret to the moment the new version is readable in GCP (polled every 5 ms).
2. 200 new PushSecrets (one Secret and one store each namespace): time from the first create
   to every one of them reporting Ready=True.

Prints a JSON summary; ``--out FILE`` also writes it. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)
from kubernetes import client

from emulators.stack import LocalStack
from pushsecret.kube import load_api_client

G = "external-secrets.io"
PROJECT = "bench"


def _ps(name: str, secret: str, remote: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{G}/v1alpha1",
        "kind": "PushSecret",
        "metadata": {"name": name},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRefs": [{"name": "gcp"}],
            "selector": {"secret": {"name": secret}},
            "data": [{"match": {"secretKey": "v", "remoteRef": {"remoteKey": remote}}}],
        },
    }


def _ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (obj.get("status") or {}).get("conditions") or []
    )


def run(changes: int, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d, LocalStack(d, ui=False) as stack:
        api = load_api_client(str(stack.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        gsm = sm.SecretManagerServiceClient(
            transport=SecretManagerServiceGrpcTransport(
                channel=grpc.insecure_channel(stack.gcp_address)
            )
        )
        core.create_namespace({"metadata": {"name": "bench"}})
        custom.create_namespaced_custom_object(
            G,
            "v1",
            "bench",
            "secretstores",
            {
                "apiVersion": f"{G}/v1",
                "kind": "SecretStore",
                "metadata": {"name": "gcp"},
                "spec": {"provider": {"gcpsm": {"projectID": PROJECT}}},
            },
        )

        # 1. change latency
        core.create_namespaced_secret(
            "bench", {"metadata": {"name": "src"}, "stringData": {"v": "value-0"}}
        )
        custom.create_namespaced_custom_object(
            G, "v1alpha1", "bench", "pushsecrets", _ps("latency", "src", "latency")
        )
        name = f"projects/{PROJECT}/secrets/latency/versions/latest"

        def latest() -> bytes | None:
            try:
                return bytes(gsm.access_secret_version(name=name).payload.data)
            except gexc.GoogleAPICallError:
                return None

        deadline = time.monotonic() + 60
        while latest() != b"value-0":
            if time.monotonic() > deadline:
                raise SystemExit("first push never arrived")
            time.sleep(0.01)
        samples = []
        for i in range(1, changes + 1):
            want = f"value-{i}".encode()
            t0 = time.monotonic()
            core.patch_namespaced_secret(
                "src", "bench", {"data": {"v": base64.b64encode(want).decode()}}
            )
            while latest() != want:
                if time.monotonic() - t0 > 60:
                    raise SystemExit(f"change {i} never arrived")
                time.sleep(0.005)
            samples.append(time.monotonic() - t0)

        # 2. many new PushSecrets
        core.create_namespace({"metadata": {"name": "many"}})
        custom.create_namespaced_custom_object(
            G,
            "v1",
            "many",
            "secretstores",
            {
                "apiVersion": f"{G}/v1",
                "kind": "SecretStore",
                "metadata": {"name": "gcp"},
                "spec": {"provider": {"gcpsm": {"projectID": PROJECT}}},
            },
        )
        for i in range(count):
            core.create_namespaced_secret(
                "many", {"metadata": {"name": f"s{i}"}, "stringData": {"v": f"many-{i}"}}
            )
        t0 = time.monotonic()
        for i in range(count):
            custom.create_namespaced_custom_object(
                G, "v1alpha1", "many", "pushsecrets", _ps(f"p{i}", f"s{i}", f"many-{i}")
            )
        created = time.monotonic() - t0
        while True:
            items = custom.list_namespaced_custom_object(G, "v1alpha1", "many", "pushsecrets")[
                "items"
            ]
            ready = sum(1 for o in items if _ready(o))
            if ready == count:
                break
            if time.monotonic() - t0 > 600:
                raise SystemExit(f"only {ready}/{count} synced after 600s")
            time.sleep(0.1)
        all_synced = time.monotonic() - t0
        return {
            "change_to_store_seconds": {
                "n": len(samples),
                "median": round(statistics.median(samples), 3),
                "max": round(max(samples), 3),
                "min": round(min(samples), 3),
            },
            "new_pushsecrets": {
                "n": count,
                "create_seconds": round(created, 2),
                "all_synced_seconds": round(all_synced, 2),
            },
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--out")
    args = p.parse_args(argv)
    result = run(args.changes, args.count)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
