"""Provider calls per unchanged refresh, for each provider, through the official SDKs.

For each store: push one entry (first write), then push it again unchanged (what a timed
refresh does) and count the service calls the second push made, from the emulators' own
per-operation counters. Prints JSON. Not a test.
"""

from __future__ import annotations

import json
import os
import sys

from emulators.azure_key_vault import AzureKeyVaultEmulator
from emulators.gcp_secret_manager import GcpSecretManagerEmulator
from pushsecret.providers.azure import AzureConfig, AzureKeyVaultProvider, build_credential
from pushsecret.providers.base import PushEntry, RemoteRef, SourceSecret
from pushsecret.providers.gcp import GCPConfig, GCPSecretManagerProvider

SRC = SourceSecret(name="s", namespace="ns", data={"password": b"bench-value"})
ENTRY = PushEntry(remote=RemoteRef("bench-key"), secret_key="password")


def main() -> int:
    out: dict[str, object] = {}
    with GcpSecretManagerEmulator() as gcp:
        os.environ["SECRETMANAGER_EMULATOR_HOST"] = gcp.address
        p = GCPSecretManagerProvider.from_config(GCPConfig(project_id="bench"))
        p.push(SRC, ENTRY)
        gcp.reset_calls()
        assert not p.push(SRC, ENTRY).written
        out["gcp_secret_manager"] = dict(gcp.calls)
    with AzureKeyVaultEmulator() as az:
        az.register_client("bench", secret="bench-secret")
        cred = build_credential(
            "ServicePrincipal",
            tenant_id=az.tenant_id,
            client_id="bench",
            client_secret="bench-secret",
            authority_host=az.authority_url,
            ca_bundle=az.ca_cert_path,
        )
        p2 = AzureKeyVaultProvider.from_config(
            AzureConfig(
                vault_url=az.vault_url,
                credential=cred,
                ca_bundle=az.ca_cert_path,
                verify_challenge_resource=False,
            )
        )
        p2.push(SRC, ENTRY)
        az.reset_calls()
        assert not p2.push(SRC, ENTRY).written
        out["azure_key_vault"] = dict(az.calls)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
