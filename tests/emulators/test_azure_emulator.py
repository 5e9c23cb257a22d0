"""The Azure Key Vault emulator, driven by the official SDKs (secrets sync and aio, identity).

Each test asserts a documented behaviour of the real service or of Entra ID: the bearer
challenge, api-version, versions, tags, contentType, attributes, disabled reads, soft delete
with recover and purge, the 409 for a deleted name, 404 wording, limits, paging, and the
token endpoints the real credentials use.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.identity import (
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.identity.aio import ClientSecretCredential as AioClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets.aio import SecretClient as AioSecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from emulators.azure_key_vault import AzureKeyVaultEmulator

APP_ID = "11111111-aaaa-4bbb-8ccc-000000000001"
APP_SECRET = "app-secret-value-42"


@pytest.fixture(scope="module")
def emulator() -> Iterator[AzureKeyVaultEmulator]:
    with AzureKeyVaultEmulator() as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        yield emu


def _credential(emu: AzureKeyVaultEmulator, secret: str = APP_SECRET) -> ClientSecretCredential:
    return ClientSecretCredential(
        emu.tenant_id,
        APP_ID,
        secret,
        authority=emu.authority_url,
        disable_instance_discovery=True,
        connection_verify=emu.ca_cert_path,
    )


def _client(emu: AzureKeyVaultEmulator, credential: Any = None, **kwargs: Any) -> SecretClient:
    return SecretClient(
        emu.vault_url,
        credential if credential is not None else _credential(emu),
        verify_challenge_resource=False,
        connection_verify=emu.ca_cert_path,
        **kwargs,
    )


@pytest.fixture(scope="module")
def client(emulator: AzureKeyVaultEmulator) -> Iterator[SecretClient]:
    with _client(emulator, retry_total=0) as cli:
        yield cli


@pytest.fixture(autouse=True)
def _clean(emulator: AzureKeyVaultEmulator) -> None:
    emulator.reset()


def _token(emu: AzureKeyVaultEmulator) -> str:
    return _credential(emu).get_token("https://vault.azure.net/.default").token


def _raw(
    emu: AzureKeyVaultEmulator, method: str, path: str, token: str | None, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method,
        f"{emu.vault_url}{path}",
        headers=headers,
        verify=emu.ca_cert_path,
        timeout=10,
        **kwargs,
    )


# ---- authentication ---------------------------------------------------------------------------


def test_bearer_challenge_then_token(tmp_path: Path) -> None:
    with AzureKeyVaultEmulator(cert_dir=tmp_path) as emu:
        assert Path(emu.ca_cert_path) == tmp_path / "ca.pem"
        bare = _raw(emu, "GET", "/secrets/x/?api-version=7.6", None)
        assert bare.status_code == 401
        assert bare.headers["WWW-Authenticate"] == (
            f'Bearer authorization="https://login.microsoftonline.com/{emu.tenant_id}", '
            'resource="https://vault.azure.net"'
        )
        assert bare.json() == {
            "error": {
                "code": "Unauthorized",
                "message": "AKV10000: Request is missing a Bearer or PoP token.",
            }
        }
        forged = _raw(emu, "GET", "/secrets/x/?api-version=7.6", "not-issued-here")
        assert forged.status_code == 401 and "WWW-Authenticate" in forged.headers

        emu.register_client(APP_ID, secret=APP_SECRET)
        emu.reset_calls()
        with _client(emu) as cli:
            cli.set_secret("s", "v")
            assert cli.get_secret("s").value == "v"
        # One challenge per host, then the cached token: the SDK's documented flow.
        assert emu.challenges == 1
        assert emu.calls["Token"] == 1 and emu.calls["OpenIdConfiguration"] == 1
        assert [(g.client_id, g.flow) for g in emu.grants] == [(APP_ID, "client_secret")]
        assert emu.grants[0].resource == "https://vault.azure.net"


def test_api_version_is_required(emulator: AzureKeyVaultEmulator) -> None:
    token = _token(emulator)
    missing = _raw(emulator, "GET", "/secrets/x/", token)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "BadParameter"
    # Any version string is accepted (the SDK sends 2026-04-01, ESO's legacy client 7.0).
    for version in ("7.0", "2026-04-01", "whatever"):
        got = _raw(emulator, "GET", f"/secrets/x/?api-version={version}", token)
        assert got.status_code == 404 and got.json()["error"]["code"] == "SecretNotFound"


def test_revoked_token_is_rejected(emulator: AzureKeyVaultEmulator) -> None:
    with _client(emulator) as cli:
        cli.set_secret("s", "v")
        emulator.revoke_tokens()
        # The SDK re-runs the challenge once, gets the same cached token, then gives up.
        with pytest.raises(ClientAuthenticationError):
            cli.get_secret("s")


def test_wrong_client_secret_and_unknown_client(emulator: AzureKeyVaultEmulator) -> None:
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        _credential(emulator, "wrong").get_token("https://vault.azure.net/.default")
    stranger = ClientSecretCredential(
        emulator.tenant_id,
        "no-such-app",
        "x",
        authority=emulator.authority_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_cert_path,
    )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700016"):
        stranger.get_token("https://vault.azure.net/.default")


def _self_signed() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_certificate_credential(emulator: AzureKeyVaultEmulator) -> None:
    cert_pem, key_pem = _self_signed()
    emulator.register_client("cert-app", certificate_pem=cert_pem)

    def credential(pem: bytes) -> CertificateCredential:
        return CertificateCredential(
            emulator.tenant_id,
            "cert-app",
            certificate_data=pem,
            authority=emulator.authority_url,
            disable_instance_discovery=True,
            connection_verify=emulator.ca_cert_path,
        )

    with _client(emulator, credential(key_pem + cert_pem)) as cli:
        cli.set_secret("by-cert", "v")
    assert emulator.grants[-1].client_id == "cert-app"
    assert emulator.grants[-1].flow == "client_certificate"
    other_cert, other_key = _self_signed()  # signed by a key the app does not know
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential(other_key + other_cert).get_token("https://vault.azure.net/.default")


def test_workload_identity_credential(emulator: AzureKeyVaultEmulator, tmp_path: Path) -> None:
    emulator.register_client("wi-app", federated=True)

    def b64(obj: dict[str, Any]) -> str:
        import base64

        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    ksa_token = ".".join(
        [b64({"alg": "RS256"}), b64({"aud": ["api://AzureADTokenExchange"], "sub": "sa"}), "c2ln"]
    )
    token_file = tmp_path / "token"
    token_file.write_text(ksa_token)
    credential = WorkloadIdentityCredential(
        tenant_id=emulator.tenant_id,
        client_id="wi-app",
        token_file_path=str(token_file),
        authority=emulator.authority_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_cert_path,
    )
    with _client(emulator, credential) as cli:
        cli.set_secret("by-wi", "v")
    assert (emulator.grants[-1].client_id, emulator.grants[-1].flow) == ("wi-app", "federated")


def test_managed_identity_app_service(
    emulator: AzureKeyVaultEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", emulator.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", emulator.identity_header)
    with _client(emulator, ManagedIdentityCredential(connection_verify=emulator.ca_cert_path)) as c:
        c.set_secret("by-mi", "v")
    user = ManagedIdentityCredential(client_id="user-mi", connection_verify=emulator.ca_cert_path)
    with _client(emulator, user) as c:
        assert c.get_secret("by-mi").value == "v"
    flows = [(g.client_id, g.flow) for g in emulator.grants[-2:]]
    assert flows == [("system-assigned", "managed_identity"), ("user-mi", "managed_identity")]

    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    wrong = ManagedIdentityCredential(connection_verify=emulator.ca_cert_path)
    with pytest.raises(ClientAuthenticationError):
        wrong.get_token("https://vault.azure.net/.default")


# ---- secrets ----------------------------------------------------------------------------------


def test_versions_tags_content_type_attributes(
    client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    first = client.set_secret("app", "one", tags={"a": "1"}, content_type="text/plain")
    second = client.set_secret("app", "two")
    assert re.fullmatch(rf"{emulator.vault_url}/secrets/app/[0-9a-f]{{32}}", first.id or "")
    assert first.properties.version != second.properties.version
    latest = client.get_secret("app")
    assert (latest.value, latest.properties.version) == ("two", second.properties.version)
    # Tags and contentType belong to a version: the second PUT carried none.
    assert latest.properties.tags is None and latest.properties.content_type is None
    old = client.get_secret("app", first.properties.version)
    assert (old.value, old.properties.tags, old.properties.content_type) == (
        "one",
        {"a": "1"},
        "text/plain",
    )
    props = latest.properties
    assert props.enabled is True and props.recovery_level == "Recoverable+Purgeable"
    assert props.recoverable_days == 90
    versions = sorted(v.version or "" for v in client.list_properties_of_secret_versions("app"))
    assert versions == sorted([first.properties.version or "", second.properties.version or ""])

    raw = _raw(emulator, "GET", "/secrets/app/?api-version=7.6", _token(emulator)).json()
    attrs = raw["attributes"]
    assert isinstance(attrs["created"], int) and isinstance(attrs["updated"], int)
    assert set(raw) == {"value", "id", "attributes"}


def test_expiry_and_not_before_are_unix_seconds(
    client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    exp = dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    nbf = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    made = client.set_secret("timed", "v", expires_on=exp, not_before=nbf)
    assert made.properties.expires_on == exp and made.properties.not_before == nbf
    raw = emulator.versions("timed")[0]["attributes"]
    assert raw["exp"] == int(exp.timestamp()) and raw["nbf"] == int(nbf.timestamp())


def test_update_properties_and_disabled_reads(client: SecretClient) -> None:
    first = client.set_secret("toggle", "old")
    client.set_secret("toggle", "new")
    updated = client.update_secret_properties(
        "toggle", enabled=False, content_type="application/json", tags={"t": "x"}
    )
    assert updated.enabled is False and updated.tags == {"t": "x"}
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("toggle")
    err = info.value
    assert err.status_code == 403 and err.error is not None
    assert err.error.code == "Forbidden"
    assert err.error.message == "Operation get is not allowed on a disabled secret."
    assert err.error.innererror == {"code": "SecretDisabled"}
    assert client.get_secret("toggle", first.properties.version).value == "old"
    client.update_secret_properties("toggle", updated.version, enabled=True)
    got = client.get_secret("toggle")
    assert got.value == "new" and got.properties.content_type == "application/json"


def test_missing_secret_is_secret_not_found(client: SecretClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_secret("missing")
    assert info.value.error is not None and info.value.error.code == "SecretNotFound"
    assert (info.value.error.message or "").startswith(
        "A secret with (name/id) missing was not found in this key vault."
    )
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("missing", "0" * 32)
    with pytest.raises(ResourceNotFoundError):
        client.begin_delete_secret("missing")


def test_names_are_case_insensitive(client: SecretClient) -> None:
    client.set_secret("Mixed-Case", "v1")
    client.set_secret("mixed-case", "v2")
    assert client.get_secret("MIXED-CASE").value == "v2"
    assert [p.name for p in client.list_properties_of_secrets()] == ["Mixed-Case"]


def test_soft_delete_recover_and_purge(
    client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    client.set_secret("gone", "value-1", tags={"k": "v"})
    deleted = client.begin_delete_secret("gone").result()
    assert deleted.recovery_id == f"{emulator.vault_url}/deletedsecrets/gone"
    assert deleted.deleted_date is not None and deleted.scheduled_purge_date is not None
    assert (deleted.scheduled_purge_date - deleted.deleted_date) == dt.timedelta(days=90)
    with pytest.raises(ResourceNotFoundError):
        client.get_secret("gone")
    assert [d.name for d in client.list_deleted_secrets()] == ["gone"]
    assert client.get_deleted_secret("gone").properties.tags == {"k": "v"}

    with pytest.raises(ResourceExistsError) as info:
        client.set_secret("gone", "value-2")
    err = info.value
    assert err.status_code == 409 and err.error is not None and err.error.code == "Conflict"
    assert err.error.innererror == {"code": "ObjectIsDeletedButRecoverable"}
    assert err.error.message == (
        "Secret gone is currently in a deleted but recoverable state, and its name cannot be "
        "reused; in this state, the secret can only be recovered or purged."
    )
    response: Any = err.response
    assert response is not None and "Retry-After" not in response.headers
    with pytest.raises(ResourceExistsError):
        client.begin_delete_secret("gone")

    recovered = client.begin_recover_deleted_secret("gone").result()
    assert recovered.name == "gone"
    assert client.get_secret("gone").value == "value-1"
    assert emulator.deleted_names() == []

    client.begin_delete_secret("gone").wait()
    client.purge_deleted_secret("gone")
    assert emulator.calls["PurgeDeletedSecret"] == 1
    with pytest.raises(ResourceNotFoundError) as missing:
        client.get_deleted_secret("gone")
    assert missing.value.error is not None
    assert missing.value.error.message == "Deleted Secret not found: gone"
    assert client.set_secret("gone", "fresh").value == "fresh"
    assert len(emulator.versions("gone")) == 1


def test_purge_returns_204(client: SecretClient, emulator: AzureKeyVaultEmulator) -> None:
    client.set_secret("p", "v")
    client.begin_delete_secret("p").wait()
    resp = _raw(emulator, "DELETE", "/deletedsecrets/p?api-version=7.6", _token(emulator))
    assert resp.status_code == 204 and resp.content == b""


def test_purge_protection_and_no_soft_delete() -> None:
    with AzureKeyVaultEmulator(purge_protection=True) as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        with _client(emu, retry_total=0) as cli:
            made = cli.set_secret("kept", "v")
            assert made.properties.recovery_level == "Recoverable"
            cli.begin_delete_secret("kept").wait()
            with pytest.raises(HttpResponseError) as info:
                cli.purge_deleted_secret("kept")
            assert info.value.status_code == 403
    with AzureKeyVaultEmulator(soft_delete=False) as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        with _client(emu, retry_total=0) as cli:
            cli.set_secret("x", "v")
            assert cli.begin_delete_secret("x").result().recovery_id is None
            assert cli.set_secret("x", "again").value == "again"  # the name is free at once


@pytest.mark.parametrize("name", ["under_score", "dot.ted", "x" * 128, "spa ce"])
def test_invalid_names_are_bad_parameter(client: SecretClient, name: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        client.set_secret(name, "v")
    assert info.value.status_code == 400
    assert info.value.error is not None and info.value.error.code == "BadParameter"


def test_limits(client: SecretClient) -> None:
    assert client.set_secret("n" * 127, "v").name == "n" * 127
    assert client.set_secret("big", "x" * 25600).value == "x" * 25600
    for too_big in ("x" * 25601, "é" * 12801):  # bytes, not characters
        with pytest.raises(HttpResponseError) as info:
            client.set_secret("big", too_big)
        assert info.value.status_code == 400
    client.set_secret("tags", "v", tags={f"t{i}": "v" for i in range(15)})
    with pytest.raises(HttpResponseError) as tags:
        client.set_secret("tags", "v", tags={f"t{i}": "v" for i in range(16)})
    assert tags.value.status_code == 400


def test_paging_with_next_link(client: SecretClient, emulator: AzureKeyVaultEmulator) -> None:
    for i in range(30):
        client.set_secret(f"s{i:02d}", "v")
    for i in range(3):
        client.set_secret("many", f"v{i}")
    emulator.reset_calls()
    pages = list(client.list_properties_of_secrets(max_page_size=12).by_page())
    sizes = [len(list(page)) for page in pages]
    assert sizes == [12, 12, 7]
    assert emulator.calls["ListSecrets"] == 3
    names = {p.name for p in client.list_properties_of_secrets()}
    assert names == {f"s{i:02d}" for i in range(30)} | {"many"}
    assert len(list(client.list_properties_of_secret_versions("many", max_page_size=2))) == 3
    raw = _raw(emulator, "GET", "/secrets?api-version=7.6&maxresults=26", _token(emulator))
    assert raw.status_code == 400  # the service caps maxresults at 25


# ---- fault injection, async, entry point ------------------------------------------------------


def test_fail_next_with_retry_after(client: SecretClient, emulator: AzureKeyVaultEmulator) -> None:
    client.set_secret("f", "v")
    emulator.fail_next("GetSecret", 429, retry_after=3)
    with pytest.raises(HttpResponseError) as info:
        client.get_secret("f")
    throttled: Any = info.value.response
    assert info.value.status_code == 429 and throttled is not None
    assert throttled.headers["Retry-After"] == "3"
    emulator.fail_next("PUT /secrets/{name}", 503, times=2)
    for _ in range(2):
        with pytest.raises(HttpResponseError) as unavailable:
            client.set_secret("f", "v2")
        assert unavailable.value.status_code == 503
    assert client.set_secret("f", "v2").value == "v2"
    assert emulator.calls["SetSecret"] == 4
    with pytest.raises(ValueError, match="unknown operation"):
        emulator.fail_next("GET /nowhere", 500)


def test_sdk_default_retries_honour_retry_after(emulator: AzureKeyVaultEmulator) -> None:
    with _client(emulator) as cli:  # default RetryPolicy: retries 503 after Retry-After
        cli.set_secret("r", "v")
        emulator.reset_calls()
        emulator.fail_next("GetSecret", 503, retry_after=0)
        assert cli.get_secret("r").value == "v"
    assert emulator.calls["GetSecret"] == 2


async def test_async_client(emulator: AzureKeyVaultEmulator) -> None:
    credential = AioClientSecretCredential(
        emulator.tenant_id,
        APP_ID,
        APP_SECRET,
        authority=emulator.authority_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_cert_path,
    )
    async with (
        credential,
        AioSecretClient(
            emulator.vault_url,
            credential,
            verify_challenge_resource=False,
            connection_verify=emulator.ca_cert_path,
        ) as aclient,
    ):
        made = await aclient.set_secret("async", "value", content_type="text/plain")
        got = await aclient.get_secret("async")
        assert (got.value, got.properties.version) == ("value", made.properties.version)
        deleted = await aclient.delete_secret("async")
        assert deleted.recovery_id is not None
        with pytest.raises(ResourceExistsError):
            await aclient.set_secret("async", "again")
        await aclient.purge_deleted_secret("async")
        with pytest.raises(ResourceNotFoundError):
            await aclient.get_secret("async")


def test_module_entry_point(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulators.azure_key_vault",
            "--port",
            "0",
            "--cert-dir",
            str(tmp_path),
            "--client",
            f"{APP_ID}:{APP_SECRET}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        ca = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        assert url.startswith("https://127.0.0.1:") and ca == str(tmp_path / "ca.pem")
        tenant = proc.stdout.readline().split()[1]
        credential = ClientSecretCredential(
            tenant,
            APP_ID,
            APP_SECRET,
            authority=url,
            disable_instance_discovery=True,
            connection_verify=ca,
        )
        with SecretClient(
            url, credential, verify_challenge_resource=False, connection_verify=ca
        ) as cli:
            assert cli.set_secret("cli", "v").value == "v"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
