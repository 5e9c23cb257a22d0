"""AzureKeyVaultProvider against the emulator, through the official SDK and azure-identity.

Every ProviderError these tests see goes through :func:`_raises`, which also checks that no
fixture secret value (nor the client secret) appears in its message.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.secrets import SecretClient

from emulators.azure_key_vault import AzureKeyVaultEmulator
from pushsecret.providers.azure import (
    AzureConfig,
    AzureKeyVaultProvider,
    build_credential,
    clear_client_cache,
)
from pushsecret.providers.azure_metadata import parse_azure_metadata
from pushsecret.providers.base import (
    Provider,
    ProviderError,
    PushEntry,
    PushResult,
    RemoteRef,
    SourceSecret,
)

APP_ID = "22222222-aaaa-4bbb-8ccc-000000000002"
APP_SECRET = "sp-client-secret-9f8e"
PASSWORD = b"hunter2-correct-horse"
TOKEN = b"tok-9f8e7d6c5b4a"
DATA = {
    "password": PASSWORD,
    "token": TOKEN,
    "DB_HOST": b"db.internal.example",
    "DB_USER": b"admin",
}
SECRET_VALUES = [
    PASSWORD,
    TOKEN,
    b"db.internal.example",
    b"new-password-value",
    b"p@ss-w0rd-2",
    APP_SECRET.encode(),
]
API = "kubernetes.external-secrets.io/v1alpha1"
MANAGED = {"managed-by": "external-secrets"}

# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[AzureKeyVaultEmulator]:
    with AzureKeyVaultEmulator() as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        yield emu


def _sp_credential(emu: AzureKeyVaultEmulator, secret: str = APP_SECRET) -> Any:
    return build_credential(
        "ServicePrincipal",
        tenant_id=emu.tenant_id,
        client_id=APP_ID,
        client_secret=secret,
        authority_host=emu.authority_url,
        ca_bundle=emu.ca_cert_path,
    )


def _config(emu: AzureKeyVaultEmulator, credential: Any = None, **kwargs: Any) -> AzureConfig:
    return AzureConfig(
        vault_url=emu.vault_url,
        credential=credential if credential is not None else _sp_credential(emu),
        ca_bundle=emu.ca_cert_path,
        verify_challenge_resource=False,
        **kwargs,
    )


@pytest.fixture(scope="module")
def client(emulator: AzureKeyVaultEmulator) -> Iterator[SecretClient]:
    """A plain SDK client for seeding and inspecting (retries off, like the provider's)."""
    with SecretClient(
        emulator.vault_url,
        _sp_credential(emulator),
        verify_challenge_resource=False,
        connection_verify=emulator.ca_cert_path,
        retry_total=0,
    ) as cli:
        yield cli


@pytest.fixture
def provider(emulator: AzureKeyVaultEmulator) -> AzureKeyVaultProvider:
    return AzureKeyVaultProvider.from_config(_config(emulator))


@pytest.fixture(autouse=True)
def _clean(emulator: AzureKeyVaultEmulator, client: SecretClient) -> None:
    emulator.reset()


def _source(data: dict[str, bytes] | None = None) -> SourceSecret:
    return SourceSecret(name="src", namespace="ns", data=dict(DATA if data is None else data))


def _entry(
    remote: str, key: str = "password", prop: str = "", metadata: dict[str, Any] | None = None
) -> PushEntry:
    return PushEntry(remote=RemoteRef(remote, prop), secret_key=key, metadata=metadata)


def _meta(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "PushSecretMetadata", "spec": spec}


def _raises(fn: Callable[[], object]) -> ProviderError:
    """Run ``fn``, expect a ProviderError, and check its message leaks no secret value."""
    with pytest.raises(ProviderError) as info:
        fn()
    err = info.value
    for value in SECRET_VALUES:
        assert value.decode() not in err.message, err.message
        assert value.decode() not in str(err), str(err)
    assert err.__cause__ is None  # nothing that could print the SDK's text is chained
    return err


def _vault_calls(emu: AzureKeyVaultEmulator) -> dict[str, int]:
    """Vault operations only: the first call of a test may also fetch a token."""
    identity = {"Token", "OpenIdConfiguration", "ManagedIdentityToken"}
    return {op: n for op, n in emu.calls.items() if op not in identity}


def _seed(client: SecretClient, name: str, value: str = "seeded", **kwargs: Any) -> str:
    kwargs.setdefault("tags", dict(MANAGED))
    return client.set_secret(name, value, **kwargs).properties.version or ""


def test_is_a_provider(provider: AzureKeyVaultProvider) -> None:
    _: Provider = provider


# ---- push ------------------------------------------------------------------------------------


def test_push_new_creates_managed_secret(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    result = provider.push(_source(), _entry("db-password"))
    calls = _vault_calls(emulator)
    got = client.get_secret("db-password")
    assert result == PushResult(written=True, remote_version=got.properties.version)
    assert got.value == PASSWORD.decode()
    assert got.properties.tags == MANAGED
    assert got.properties.content_type is None and got.properties.expires_on is None
    assert calls == {"GetSecret": 1, "SetSecret": 1}


def test_push_unchanged_writes_nothing(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    first = provider.push(_source(), _entry("db-password"))
    emulator.reset_calls()
    again = provider.push(_source(), _entry("db-password"))
    assert again == PushResult(written=False, remote_version=first.remote_version)
    assert _vault_calls(emulator) == {"GetSecret": 1}


def test_push_changed_value_adds_a_version(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    first = provider.push(_source(), _entry("db-password"))
    emulator.reset_calls()
    changed = provider.push(_source({"password": b"new-password-value"}), _entry("db-password"))
    assert changed.written and changed.remote_version != first.remote_version
    assert _vault_calls(emulator) == {"GetSecret": 1, "SetSecret": 1}
    assert client.get_secret("db-password").value == "new-password-value"
    assert len(emulator.versions("db-password")) == 2


def test_changed_tags_or_content_type_update_in_place(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    first = provider.push(_source(), _entry("meta", metadata=_meta(tags={"team": "a"})))
    emulator.reset_calls()
    # ESO never compares tags; we do, and patch the current version instead of adding one.
    tagged = provider.push(_source(), _entry("meta", metadata=_meta(tags={"team": "b"})))
    assert tagged == PushResult(True, first.remote_version)
    assert _vault_calls(emulator) == {"GetSecret": 1, "UpdateSecret": 1}
    assert client.get_secret("meta").properties.tags == {**MANAGED, "team": "b"}

    emulator.reset_calls()
    typed = _meta(tags={"team": "b"}, contentType="application/json")
    assert provider.push(_source(), _entry("meta", metadata=typed)).written
    assert _vault_calls(emulator) == {"GetSecret": 1, "UpdateSecret": 1}
    assert client.get_secret("meta").properties.content_type == "application/json"

    # An omitted contentType keeps the existing one (ESO); no metadata drops our extra tags.
    emulator.reset_calls()
    assert provider.push(_source(), _entry("meta")).written
    got = client.get_secret("meta")
    assert got.properties.tags == MANAGED
    assert got.properties.content_type == "application/json"
    assert len(emulator.versions("meta")) == 1
    emulator.reset_calls()
    assert provider.push(_source(), _entry("meta")).written is False
    assert _vault_calls(emulator) == {"GetSecret": 1}


def test_value_change_keeps_content_type_and_sets_tags(
    provider: AzureKeyVaultProvider, client: SecretClient
) -> None:
    _seed(client, "ct", tags=dict(MANAGED, extra="x"), content_type="text/plain")
    provider.push(_source(), _entry("ct"))
    got = client.get_secret("ct")
    assert got.value == PASSWORD.decode()
    assert got.properties.content_type == "text/plain"
    assert got.properties.tags == MANAGED  # tags are per version: ESO's set drops the rest


def test_expiration_date(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    meta = _meta(expirationDate="2099-12-31T23:59:59Z")
    provider.push(_source(), _entry("exp", metadata=meta))
    expires = client.get_secret("exp").properties.expires_on
    assert expires == dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    emulator.reset_calls()
    assert provider.push(_source(), _entry("exp", metadata=meta)).written is False
    later = _meta(expirationDate="2100-01-01T00:59:59+01:00")  # same instant, other offset
    assert provider.push(_source(), _entry("exp", metadata=later)).written is False
    moved = _meta(expirationDate="2100-06-01T00:00:00Z")
    assert provider.push(_source(), _entry("exp", metadata=moved)).written
    assert emulator.calls["UpdateSecret"] == 1 and emulator.calls["SetSecret"] == 0
    # Dropping the expiry needs a new version: PATCH through the SDK cannot clear it.
    emulator.reset_calls()
    assert provider.push(_source(), _entry("exp")).written
    assert emulator.calls["SetSecret"] == 1
    assert client.get_secret("exp").properties.expires_on is None


def test_whole_secret_json_is_byte_exact(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    source = _source(
        {"DB_USER": b"admin", "DB_HOST": b"db.internal.example", "b": "x\u2028<&>".encode()}
    )
    assert provider.push(source, _entry("whole", key="")).written
    stored = emulator.versions("whole")[0]["value"]
    assert stored == '{"DB_HOST":"db.internal.example","DB_USER":"admin","b":"x\\u2028<&>"}'
    assert provider.push(source, _entry("whole", key="")).written is False
    binary = _source({"bin": b"\xff\x00"})
    provider.push(binary, _entry("whole-bin", key=""))
    assert emulator.versions("whole-bin")[0]["value"] == '{"bin":"\\ufffd\\u0000"}'


def test_non_utf8_value_is_refused_before_any_call(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    err = _raises(lambda: provider.push(_source({"bin": b"\xff\xfe"}), _entry("b", key="bin")))
    assert err.reason == "InvalidValue" and not err.retryable
    assert _vault_calls(emulator) == {}


def test_property_push_merges_into_json(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    _seed(client, "app", '{"other": "kept", "db": {"host": "h"}}')
    assert provider.push(_source(), _entry("app", prop="db.password")).written
    assert provider.push(_source(), _entry("app", key="token", prop="api.token")).written
    doc = json.loads(client.get_secret("app").value or "")
    assert doc == {
        "other": "kept",
        "db": {"host": "h", "password": PASSWORD.decode()},
        "api": {"token": TOKEN.decode()},
    }
    emulator.reset_calls()
    assert provider.push(_source(), _entry("app", prop="db.password")).written is False
    assert _vault_calls(emulator) == {"GetSecret": 1}
    fresh = provider.push(_source(), _entry("fresh", prop="password"))
    assert fresh.written
    assert client.get_secret("fresh").value == '{"password":"' + PASSWORD.decode() + '"}'


def test_concurrent_property_pushes_lose_nothing(
    provider: AzureKeyVaultProvider, client: SecretClient
) -> None:
    _seed(client, "shared", "{}")
    data = {f"k{i}": f"value-{i}".encode() for i in range(8)}
    errors: list[BaseException] = []

    def push(key: str) -> None:
        try:
            provider.push(_source(data), _entry("shared", key=key, prop=f"props.{key}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(k,)) for k in data]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(client.get_secret("shared").value or "") == {
        "props": {k: v.decode() for k, v in data.items()}
    }


# ---- metadata --------------------------------------------------------------------------------


_DECODE = (
    "failed to parse push secret metadata: failed to parse kubernetes.external-secrets.io/"
    "v1alpha1 PushSecretMetadata: error unmarshaling JSON: while decoding JSON: json: "
)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "PushSecretMetadata"},
            'failed to parse push secret metadata: unexpected apiVersion "v1", expected '
            '"kubernetes.external-secrets.io/v1alpha1"',
        ),
        (
            {"apiVersion": API, "kind": "Nope"},
            'failed to parse push secret metadata: unexpected kind "Nope", expected '
            '"PushSecretMetadata"',
        ),
        (_meta(labels={"a": "b"}), _DECODE + 'unknown field "labels"'),
        (
            _meta(tags="team=x"),
            _DECODE + "cannot unmarshal string into Go struct field "
            "PushSecretMetadataSpec.spec.tags of type map[string]string",
        ),
        (
            _meta(contentType=5),
            _DECODE + "cannot unmarshal number into Go struct field "
            "PushSecretMetadataSpec.spec.contentType of type string",
        ),
        (
            _meta(tags={"managed-by": "me"}),
            "error parsing tags in metadata: Cannot specify a 'managed-by' tag",
        ),
        (
            _meta(expirationDate="2024-12-31"),
            'error parsing expiration date in metadata: parsing time "2024-12-31": not in RFC '
            "3339 format. Expected format: YYYY-MM-DDTHH:MM:SSZ (RFC3339). Example: "
            "2024-12-31T20:00:00Z",
        ),
        (
            _meta(expirationDate="2024-02-30T00:00:00Z"),
            'error parsing expiration date in metadata: parsing time "2024-02-30T00:00:00Z": '
            "date or time out of range. Expected format: YYYY-MM-DDTHH:MM:SSZ (RFC3339). "
            "Example: 2024-12-31T20:00:00Z",
        ),
    ],
)
def test_bad_metadata_is_refused_with_esos_messages(
    provider: AzureKeyVaultProvider,
    emulator: AzureKeyVaultEmulator,
    metadata: dict[str, Any],
    message: str,
) -> None:
    err = _raises(lambda: provider.push(_source(), _entry("m", metadata=metadata)))
    assert err.message == message
    assert err.reason == "InvalidMetadata" and not err.retryable
    assert _vault_calls(emulator) == {}  # refused before any call


def test_metadata_keys_are_case_insensitive() -> None:
    meta = parse_azure_metadata(
        {
            "APIVERSION": API,
            "Kind": "PushSecretMetadata",
            "SPEC": {"Tags": {"Team": "x"}, "CONTENTTYPE": "text/plain", "expirationdate": None},
        }
    )
    assert meta is not None
    assert meta.tags == {"Team": "x"} and meta.content_type == "text/plain"
    assert meta.expires_on() is None
    assert parse_azure_metadata(None) is None
    fractional = parse_azure_metadata(_meta(expirationDate="2030-01-02t03:04:05.5-02:00"))
    assert fractional is not None
    assert fractional.expires_on() == dt.datetime(2030, 1, 2, 5, 4, 5, 500000, tzinfo=dt.UTC)


# ---- refusals and limits ---------------------------------------------------------------------


def test_unmanaged_secret_is_refused(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    _seed(client, "foreign", "theirs", tags={"owner": "someone"})
    for prop in ("", "db.password"):
        err = _raises(lambda prop=prop: provider.push(_source(), _entry("foreign", prop=prop)))  # type: ignore[misc]
        assert err.message == "secret foreign not managed by external-secrets"
        assert err.reason == "NotManaged" and not err.retryable
    _seed(client, "untagged", "theirs", tags=None)
    emulator.reset_calls()
    assert _raises(lambda: provider.push(_source(), _entry("untagged"))).reason == "NotManaged"
    assert [v["value"] for v in emulator.versions("foreign")] == ["theirs"]
    assert emulator.calls["SetSecret"] == 0 and emulator.calls["UpdateSecret"] == 0


def test_disabled_current_version_is_refused(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    _seed(client, "off")
    client.update_secret_properties("off", enabled=False)
    emulator.reset_calls()
    err = _raises(lambda: provider.push(_source(), _entry("off")))
    assert err.reason == "SecretDisabled" and not err.retryable
    assert err.message == (
        f"cannot push to Azure Key Vault secret {emulator.vault_url}/secrets/off: its current "
        "version is disabled; enable it or delete the secret outside PushSecret"
    )
    assert emulator.calls["SetSecret"] == 0


@pytest.mark.parametrize(
    ("remote_key", "reason", "message"),
    [
        ("blob/x", "UnsupportedKind", "secret type blob not supported"),
        ("secret/a/b", "InvalidRemoteKey", None),
        ("under_score", "InvalidRemoteKey", None),
        ("x" * 128, "InvalidRemoteKey", None),
        ("", "InvalidRemoteKey", None),
    ],
)
def test_invalid_remote_keys_are_refused_before_any_call(
    provider: AzureKeyVaultProvider,
    emulator: AzureKeyVaultEmulator,
    remote_key: str,
    reason: str,
    message: str | None,
) -> None:
    err = _raises(lambda: provider.push(_source(), _entry(remote_key)))
    assert err.reason == reason and not err.retryable
    if message is not None:
        assert err.message == message
    assert _vault_calls(emulator) == {}


def test_secret_prefix_and_longest_name(
    provider: AzureKeyVaultProvider, client: SecretClient
) -> None:
    provider.push(_source(), _entry("secret/prefixed"))
    assert client.get_secret("prefixed").value == PASSWORD.decode()
    assert provider.push(_source(), _entry("n" * 127)).written


def test_limits_are_refused_before_any_call(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    assert provider.push(_source({"password": b"x" * 25600}), _entry("big")).written
    emulator.reset_calls()
    big = _raises(lambda: provider.push(_source({"password": b"x" * 25601}), _entry("big")))
    assert big.reason == "PayloadTooLarge" and not big.retryable
    many = _meta(tags={f"t{i}": "v" for i in range(15)})  # + managed-by = 16
    assert _raises(lambda: provider.push(_source(), _entry("t", metadata=many))).reason == (
        "InvalidMetadata"
    )
    long_tag = _meta(tags={"t": "v" * 257})
    assert _raises(lambda: provider.push(_source(), _entry("t", metadata=long_tag))).reason == (
        "InvalidMetadata"
    )
    missing = _raises(lambda: provider.push(_source(), _entry("e", key="nope")))
    assert missing.message == "secret key nope does not exist"
    bad_prop = _raises(lambda: provider.push(_source(), _entry("p", prop="a.*")))
    assert bad_prop.reason == "InvalidProperty"
    assert _vault_calls(emulator) == {}


def test_property_merge_over_the_size_limit_is_refused(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    _seed(client, "full", json.dumps({"pad": "x" * 25500}))
    emulator.reset_calls()
    err = _raises(lambda: provider.push(_source({"v": b"y" * 200}), _entry("full", "v", "more")))
    assert err.reason == "PayloadTooLarge"
    assert _vault_calls(emulator) == {"GetSecret": 1}


# ---- soft delete -----------------------------------------------------------------------------


def _soft_delete(client: SecretClient, name: str, value: str = "seeded", **kwargs: Any) -> None:
    _seed(client, name, value, **kwargs)
    client.begin_delete_secret(name).wait()


def test_soft_deleted_name_is_recovered(
    emulator: AzureKeyVaultEmulator, client: SecretClient
) -> None:
    provider = AzureKeyVaultProvider.from_config(_config(emulator, on_soft_deleted="Recover"))
    _soft_delete(client, "same", PASSWORD.decode())
    emulator.reset_calls()
    result = provider.push(_source(), _entry("same"))
    assert result.written is False  # recovered with the value we want: nothing to write
    assert emulator.calls["RecoverDeletedSecret"] == 1 and emulator.calls["SetSecret"] == 1
    assert emulator.deleted_names() == []

    _soft_delete(client, "differs", "old-value")
    result = provider.push(_source(), _entry("differs"))
    assert result.written
    assert [v["value"] for v in emulator.versions("differs")] == ["old-value", PASSWORD.decode()]


def test_soft_deleted_name_is_purged(emulator: AzureKeyVaultEmulator, client: SecretClient) -> None:
    provider = AzureKeyVaultProvider.from_config(_config(emulator, on_soft_deleted="Purge"))
    _soft_delete(client, "reused", "old-value")
    emulator.reset_calls()
    assert provider.push(_source(), _entry("reused")).written
    assert emulator.calls["PurgeDeletedSecret"] == 1
    assert [v["value"] for v in emulator.versions("reused")] == [PASSWORD.decode()]


def test_soft_deleted_name_fails_clearly(
    emulator: AzureKeyVaultEmulator, client: SecretClient
) -> None:
    provider = AzureKeyVaultProvider.from_config(_config(emulator, on_soft_deleted="Fail"))
    _soft_delete(client, "stuck")
    err = _raises(lambda: provider.push(_source(), _entry("stuck")))
    assert err.reason == "SoftDeleted" and not err.retryable
    assert err.message == (
        f"secret stuck is deleted but recoverable in Azure Key Vault {emulator.vault_url}: "
        "recover or purge it, or set the soft-delete policy to Recover or Purge"
    )
    assert emulator.deleted_names() == ["stuck"]


@pytest.mark.parametrize("policy", ["Recover", "Purge"])
def test_soft_deleted_foreign_secret_is_left_alone(
    emulator: AzureKeyVaultEmulator, client: SecretClient, policy: str
) -> None:
    provider = AzureKeyVaultProvider.from_config(_config(emulator, on_soft_deleted=policy))
    _soft_delete(client, "theirs", tags={"owner": "x"})
    err = _raises(lambda: provider.push(_source(), _entry("theirs")))
    assert err.reason == "NotManaged" and not err.retryable
    assert emulator.deleted_names() == ["theirs"]
    assert emulator.calls["RecoverDeletedSecret"] == 0
    assert emulator.calls["PurgeDeletedSecret"] == 0


def test_purge_under_purge_protection_is_a_clear_error(client: SecretClient) -> None:
    with AzureKeyVaultEmulator(purge_protection=True) as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        provider = AzureKeyVaultProvider.from_config(_config(emu, on_soft_deleted="Purge"))
        provider.push(_source(), _entry("locked"))
        provider.delete(RemoteRef("locked"))
        err = _raises(lambda: provider.push(_source(), _entry("locked")))
        assert err.reason == "PermissionDenied" and not err.retryable
        assert "recover it instead" in err.message


def test_recovery_in_progress_is_retryable(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    emulator.fail_next("SetSecret", 409, code="Conflict", inner_code="ObjectIsBeingRecovered")
    err = _raises(lambda: provider.push(_source(), _entry("recovering")))
    assert err.retryable and err.reason == "Conflict" and err.retry_after == 2.0


# ---- exists ----------------------------------------------------------------------------------


def test_exists_cases(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    assert provider.exists(RemoteRef("missing")) is False
    _seed(client, "ok")
    emulator.reset_calls()
    assert provider.exists(RemoteRef("ok", "ignored.property")) is True
    assert provider.exists(RemoteRef("secret/ok")) is True
    assert _vault_calls(emulator) == {"GetSecret": 2}
    _seed(client, "theirs", tags={"owner": "x"})
    assert provider.exists(RemoteRef("theirs")) is True  # ownership is not considered
    _seed(client, "off")
    client.update_secret_properties("off", enabled=False)
    assert provider.exists(RemoteRef("off")) is False
    _soft_delete(client, "deleted")
    assert provider.exists(RemoteRef("deleted")) is False
    err = _raises(lambda: provider.exists(RemoteRef("blob/x")))
    assert err.message == "secret type 'blob' is not supported"
    emulator.fail_next("GetSecret", 403)
    denied = _raises(lambda: provider.exists(RemoteRef("ok")))
    assert denied.reason == "PermissionDenied" and not denied.retryable


# ---- delete ----------------------------------------------------------------------------------


def test_delete_managed_soft_deletes(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    provider.push(_source(), _entry("gone"))
    emulator.reset_calls()
    provider.delete(RemoteRef("gone", "prop-ignored"))
    assert emulator.secret_names() == [] and emulator.deleted_names() == ["gone"]
    assert _vault_calls(emulator) == {"GetSecret": 1, "DeleteSecret": 1}
    # The next push after a delete is the case ESO gets stuck on (#3519): we recover.
    assert provider.push(_source(), _entry("gone")).written is False
    assert emulator.secret_names() == ["gone"]


def test_delete_with_purge(emulator: AzureKeyVaultEmulator) -> None:
    provider = AzureKeyVaultProvider.from_config(_config(emulator, purge_on_delete=True))
    provider.push(_source(), _entry("purged"))
    provider.delete(RemoteRef("purged"))
    assert emulator.secret_names() == [] and emulator.deleted_names() == []
    assert emulator.calls["PurgeDeletedSecret"] == 1


def test_delete_unmanaged_disabled_and_missing_are_kept(
    provider: AzureKeyVaultProvider, client: SecretClient, emulator: AzureKeyVaultEmulator
) -> None:
    _seed(client, "foreign", tags={"managed-by": "someone-else"})
    provider.delete(RemoteRef("foreign"))
    _seed(client, "off")
    client.update_secret_properties("off", enabled=False)
    provider.delete(RemoteRef("off"))
    assert sorted(emulator.secret_names()) == ["foreign", "off"]
    emulator.reset_calls()
    provider.delete(RemoteRef("never-existed"))
    assert _vault_calls(emulator) == {"GetSecret": 1}
    _soft_delete(client, "already")
    emulator.reset_calls()
    provider.delete(RemoteRef("already"))
    assert emulator.calls["DeleteSecret"] == 0


def test_delete_errors(provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator) -> None:
    provider.push(_source(), _entry("d"))
    emulator.fail_next("DeleteSecret", 503, retry_after=4)
    err = _raises(lambda: provider.delete(RemoteRef("d")))
    assert err.retryable and err.retry_after == 4.0
    provider.delete(RemoteRef("d"))
    assert emulator.deleted_names() == ["d"]


# ---- errors ----------------------------------------------------------------------------------


def test_rate_limit_carries_retry_after(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    emulator.fail_next("GetSecret", 429, retry_after=7)
    err = _raises(lambda: provider.push(_source(), _entry("quota")))
    assert err.retryable and err.reason == "RateLimited" and err.retry_after == 7.0
    assert err.message == (
        f"Azure Key Vault GetSecret on {emulator.vault_url}/secrets/quota failed: "
        "HTTP 429 Throttled"
    )
    assert emulator.calls["GetSecret"] == 1  # SDK retries are off: the orchestrator retries


@pytest.mark.parametrize(
    ("status", "reason"), [(503, "Unavailable"), (500, "Internal"), (408, "Timeout")]
)
def test_transient_errors_are_retryable_and_retry_is_idempotent(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator, status: int, reason: str
) -> None:
    emulator.fail_next("SetSecret", status)
    err = _raises(lambda: provider.push(_source(), _entry("flaky")))
    assert err.retryable and err.reason == reason and err.retry_after is None
    assert emulator.calls["SetSecret"] == 1
    assert provider.push(_source(), _entry("flaky")).written
    assert provider.push(_source(), _entry("flaky")).written is False


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (403, "PermissionDenied"),
        (400, "InvalidArgument"),
        (409, "Conflict"),
        (401, "Unauthenticated"),
    ],
)
def test_final_errors_are_not_retryable(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator, status: int, reason: str
) -> None:
    emulator.fail_next("GetSecret", status, times=2)  # 401: the SDK re-challenges once
    err = _raises(lambda: provider.push(_source(), _entry("denied")))
    assert not err.retryable and err.reason == reason
    assert f"GetSecret on {emulator.vault_url}/secrets/denied failed: HTTP {status}" in err.message
    emulator.clear_faults()


def test_service_messages_are_quoted_only_when_safe(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    emulator.fail_next("SetSecret", 400, message="Property value is not valid")
    quoted = _raises(lambda: provider.push(_source(), _entry("q")))
    assert quoted.message.endswith("HTTP 400 BadParameter: Property value is not valid")
    emulator.fail_next("SetSecret", 400, message=f"value {PASSWORD.decode()} rejected")
    echoed = _raises(lambda: provider.push(_source(), _entry("q")))
    assert echoed.message.endswith("HTTP 400 BadParameter")
    emulator.fail_next("GetSecret", 403, message="Caller oid=abc is not authorized")
    denied = _raises(lambda: provider.push(_source(), _entry("q")))
    assert "oid=abc" not in denied.message


def test_wrong_client_secret_is_final_and_not_quoted(emulator: AzureKeyVaultEmulator) -> None:
    bad = AzureKeyVaultProvider.from_config(_config(emulator, _sp_credential(emulator, "wrong")))
    err = _raises(lambda: bad.push(_source(), _entry("x")))
    assert err.reason == "Unauthenticated" and not err.retryable
    assert "AADSTS7000215" in err.message and "wrong" not in err.message


def test_unreachable_vault_is_retryable(emulator: AzureKeyVaultEmulator) -> None:
    cfg = AzureConfig(
        vault_url="https://127.0.0.1:9",
        credential=_sp_credential(emulator),
        ca_bundle=emulator.ca_cert_path,
        verify_challenge_resource=False,
    )
    err = _raises(lambda: AzureKeyVaultProvider.from_config(cfg).exists(RemoteRef("x")))
    assert err.retryable and err.reason == "Unavailable"


def test_challenge_resource_mismatch_is_a_config_error(emulator: AzureKeyVaultEmulator) -> None:
    cfg = AzureConfig(
        vault_url=emulator.vault_url.replace("127.0.0.1", "localhost"),
        credential=_sp_credential(emulator),
        ca_bundle=emulator.ca_cert_path,
    )
    err = _raises(lambda: AzureKeyVaultProvider.from_config(cfg).validate())
    assert err.reason == "InvalidConfig" and not err.retryable


# ---- validate, credentials, client sharing ---------------------------------------------------


def test_validate(provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator) -> None:
    provider.validate()
    assert _vault_calls(emulator) == {"GetSecret": 1}
    emulator.fail_next("GetSecret", 403)
    assert _raises(provider.validate).reason == "PermissionDenied"
    emulator.fail_next("GetSecret", 503)
    assert _raises(provider.validate).retryable


@pytest.fixture
def _fresh_cache() -> Iterator[None]:
    clear_client_cache()
    yield
    clear_client_cache()


@pytest.mark.usefixtures("_fresh_cache")
def test_clients_and_credentials_are_shared(emulator: AzureKeyVaultEmulator) -> None:
    first = AzureKeyVaultProvider.from_config(_config(emulator))
    second = AzureKeyVaultProvider.from_config(_config(emulator))
    assert first._client is second._client
    first.push(_source(), _entry("shared-client"))
    first.close()  # must not close the shared client
    assert second.push(_source(), _entry("shared-client")).written is False
    other = AzureKeyVaultProvider.from_config(_config(emulator, _sp_credential(emulator, "x")))
    assert other._client is not first._client
    assert "sp-client-secret" not in repr(_config(emulator))


@pytest.mark.usefixtures("_fresh_cache")
def test_managed_identity_store(
    emulator: AzureKeyVaultEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", emulator.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", emulator.identity_header)
    credential = build_credential(
        "ManagedIdentity", identity_id="mi-client-id", ca_bundle=emulator.ca_cert_path
    )
    provider = AzureKeyVaultProvider.from_config(_config(emulator, credential))
    assert provider.push(_source(), _entry("by-mi")).written
    assert (emulator.grants[-1].client_id, emulator.grants[-1].flow) == (
        "mi-client-id",
        "managed_identity",
    )


@pytest.mark.usefixtures("_fresh_cache")
def test_workload_identity_store(emulator: AzureKeyVaultEmulator, tmp_path: Path) -> None:
    emulator.register_client("wi-client", federated=True)
    token_file = tmp_path / "token"
    # header.payload.signature with aud api://AzureADTokenExchange (the emulator does not
    # verify federated signatures).
    token_file.write_text(
        "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOlsiYXBpOi8vQXp1cmVBRFRva2VuRXhjaGFuZ2UiXX0.c2ln"
    )
    from_file = build_credential(
        "WorkloadIdentity",
        tenant_id=emulator.tenant_id,
        client_id="wi-client",
        token_file=str(token_file),
        authority_host=emulator.authority_url,
        ca_bundle=emulator.ca_cert_path,
    )
    assert (
        AzureKeyVaultProvider.from_config(_config(emulator, from_file))
        .push(_source(), _entry("by-wi"))
        .written
    )
    minted = build_credential(
        "WorkloadIdentity",
        tenant_id=emulator.tenant_id,
        client_id="wi-client",
        assertion=token_file.read_text,
        authority_host=emulator.authority_url,
        ca_bundle=emulator.ca_cert_path,
    )
    assert AzureKeyVaultProvider.from_config(_config(emulator, minted)).exists(RemoteRef("by-wi"))
    assert [g.flow for g in emulator.grants[-2:]] == ["federated", "federated"]


@pytest.mark.usefixtures("_fresh_cache")
def test_credential_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"auth_type": "ServicePrincipal", "client_id": "c"}, "missing tenantID in store config"),
        (
            {
                "auth_type": "ServicePrincipal",
                "tenant_id": "t",
                "client_id": "c",
                "client_secret": APP_SECRET,
                "client_certificate_pem": b"pem",
            },
            "both clientSecret and clientCredentials set",
        ),
        (
            {"auth_type": "ServicePrincipal", "tenant_id": "t", "client_id": "c"},
            "missing clientID/clientSecret in store config",
        ),
        (
            {"auth_type": "WorkloadIdentity"},
            "missing environment variables. AZURE_CLIENT_ID, AZURE_TENANT_ID and "
            "AZURE_FEDERATED_TOKEN_FILE must be set",
        ),
        (
            {"auth_type": "Kerberos"},
            "cannot initialize Azure Client: no valid authType was specified",
        ),
    ]
    for kwargs, message in cases:
        auth_type = kwargs.pop("auth_type")
        err = _raises(lambda a=auth_type, k=kwargs: build_credential(a, **k))  # type: ignore[misc]
        assert err.message == message and err.reason == "InvalidCredentials"
    bad_cert = _raises(
        lambda: build_credential(
            "ServicePrincipal",
            tenant_id="t",
            client_id="c",
            client_certificate_pem=b"-----BEGIN hunter2-correct-horse",
        )
    )
    assert bad_cert.reason == "InvalidCredentials" and "BEGIN" not in bad_cert.message
    bad_url = _raises(
        lambda: AzureKeyVaultProvider.from_config(
            AzureConfig(vault_url="http://vault", credential=object())
        )
    )
    assert bad_url.reason == "InvalidConfig"


@pytest.mark.usefixtures("_fresh_cache")
def test_unreachable_token_endpoint_is_retryable(emulator: AzureKeyVaultEmulator) -> None:
    credential = build_credential(
        "ServicePrincipal",
        tenant_id=emulator.tenant_id,
        client_id=APP_ID,
        client_secret=APP_SECRET,
        authority_host="https://127.0.0.1:9",
        ca_bundle=emulator.ca_cert_path,
    )
    provider = AzureKeyVaultProvider.from_config(_config(emulator, credential))
    err = _raises(lambda: provider.exists(RemoteRef("x")))
    assert err.retryable and err.reason == "Unavailable"
    assert "token endpoint" in err.message
