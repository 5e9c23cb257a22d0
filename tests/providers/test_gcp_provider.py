"""GCPSecretManagerProvider against the emulator, through the official SDK over gRPC.

Every ProviderError these tests see goes through :func:`_raises`, which also checks that no
fixture secret value appears in its message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from emulators.gcp_secret_manager import GcpSecretManagerEmulator
from pushsecret.providers.base import (
    Provider,
    ProviderError,
    PushEntry,
    PushResult,
    RemoteRef,
    SourceSecret,
)
from pushsecret.providers.gcp import (
    EMULATOR_HOST_ENV,
    GCPConfig,
    GCPSecretManagerProvider,
    clear_client_cache,
    crc32c,
)
from pushsecret.providers.gcp_metadata import parse_gcp_metadata

P = "projects/p"
PASSWORD = b"hunter2-correct-horse"
TOKEN = b"tok-9f8e7d6c5b4a"
DATA = {"password": PASSWORD, "token": TOKEN, "DB_HOST": b"localhost", "DB_USER": b"admin"}
SECRET_VALUES = [PASSWORD, TOKEN, b"localhost", b"new-password-value", b"p@ss-w0rd-2"]
API = "kubernetes.external-secrets.io/v1alpha1"

# ---- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[GcpSecretManagerEmulator]:
    with GcpSecretManagerEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def client(emulator: GcpSecretManagerEmulator) -> Iterator[sm.SecretManagerServiceClient]:
    channel = grpc.insecure_channel(emulator.address)
    yield sm.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=channel)
    )
    channel.close()


@pytest.fixture
def provider(client: sm.SecretManagerServiceClient) -> GCPSecretManagerProvider:
    return GCPSecretManagerProvider(client, project_id="p")


@pytest.fixture(autouse=True)
def _clean(emulator: GcpSecretManagerEmulator) -> None:
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


def _latest(client: sm.SecretManagerServiceClient, sid: str) -> bytes:
    return bytes(
        client.access_secret_version(name=f"{P}/secrets/{sid}/versions/latest").payload.data
    )


def _seed(
    client: sm.SecretManagerServiceClient,
    sid: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    versions: tuple[bytes, ...] = (),
) -> str:
    name = client.create_secret(
        parent=P,
        secret_id=sid,
        secret=sm.Secret(
            {
                "replication": {"automatic": {}},
                "labels": {"managed-by": "external-secrets"} if labels is None else labels,
                "annotations": annotations or {},
            }
        ),
    ).name
    for data in versions:
        client.add_secret_version(parent=name, payload=sm.SecretPayload({"data": data}))
    return name


def test_is_a_provider(provider: GCPSecretManagerProvider) -> None:
    _: Provider = provider


# ---- push ------------------------------------------------------------------------------------


def test_push_new_creates_managed_secret(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    result = provider.push(_source(), _entry("db-password"))
    calls = emulator.calls
    assert result == PushResult(written=True, remote_version="1")
    secret = client.get_secret(name=f"{P}/secrets/db-password")
    assert dict(secret.labels) == {"managed-by": "external-secrets"}
    assert dict(secret.annotations) == {}
    assert "automatic" in secret.replication
    assert _latest(client, "db-password") == PASSWORD
    version = client.get_secret_version(name=f"{P}/secrets/db-password/versions/1")
    assert version.client_specified_payload_checksum  # we send data_crc32c
    assert calls == {
        "GetSecret": 1,
        "CreateSecret": 1,
        "AccessSecretVersion": 1,
        "AddSecretVersion": 1,
    }


def test_push_unchanged_writes_nothing(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    provider.push(_source(), _entry("db-password"))
    emulator.reset_calls()
    result = provider.push(_source(), _entry("db-password"))
    assert result == PushResult(written=False, remote_version="1")
    assert emulator.calls == {"GetSecret": 1, "AccessSecretVersion": 1}


def test_push_changed_adds_a_version(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    provider.push(_source(), _entry("db-password"))
    changed = _source({"password": b"new-password-value"})
    assert provider.push(changed, _entry("db-password")) == PushResult(True, "2")
    assert _latest(client, "db-password") == b"new-password-value"
    assert [v[:2] for v in emulator.versions(f"{P}/secrets/db-password")] == [
        (1, "ENABLED"),
        (2, "ENABLED"),
    ]


def test_push_binary_value_is_byte_exact(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    blob = bytes(range(256))
    provider.push(_source({"bin": blob}), _entry("blob", key="bin"))
    assert _latest(client, "blob") == blob
    assert provider.push(_source({"bin": blob}), _entry("blob", key="bin")).written is False


def test_whole_secret_json_is_byte_exact(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    source = _source({"DB_USER": b"admin", "DB_HOST": b"localhost"})
    assert provider.push(source, _entry("whole", key="")).written
    assert _latest(client, "whole") == b'{"DB_HOST":"localhost","DB_USER":"admin"}'
    assert provider.push(source, _entry("whole", key="")).written is False


def test_whole_secret_written_by_eso_is_not_rewritten(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    # Bytes as ESO's Go code writes them: sorted, compact, raw '<&>', escaped U+2028.
    eso = '{"a":"<&>","b":"x\\u2028y","c":"caf\u00e9"}'.encode()
    _seed(client, "migrated", versions=(eso,))
    source = _source({"c": "caf\u00e9".encode(), "b": "x\u2028y".encode(), "a": b"<&>"})
    emulator.reset_calls()
    assert provider.push(source, _entry("migrated", key="")) == PushResult(False, "1")
    assert emulator.calls["AddSecretVersion"] == 0


def test_property_push_merges_into_json(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    _seed(client, "app", versions=(b'{"other": "kept", "db": {"host": "h"}}',))
    assert provider.push(_source(), _entry("app", prop="db.password")).remote_version == "2"
    assert provider.push(_source(), _entry("app", key="token", prop="api.token")).written
    doc = json.loads(_latest(client, "app"))
    assert doc == {
        "other": "kept",
        "db": {"host": "h", "password": PASSWORD.decode()},
        "api": {"token": TOKEN.decode()},
    }
    emulator.reset_calls()
    assert provider.push(_source(), _entry("app", prop="db.password")) == PushResult(False, "3")
    assert emulator.calls["AddSecretVersion"] == 0


def test_property_push_creates_from_empty_object(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    provider.push(_source(), _entry("fresh", prop="password"))
    assert _latest(client, "fresh") == b'{"password":"' + PASSWORD + b'"}'
    secret = client.get_secret(name=f"{P}/secrets/fresh")
    assert dict(secret.labels) == {"managed-by": "external-secrets"}


def test_property_compares_like_gjson_string(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    _seed(client, "num", versions=(b'{"port": 5432, "a.b": "lit"}',))
    port = _source({"port": b"5432"})
    assert provider.push(port, _entry("num", key="port", prop="port")).written is False
    literal = _source({"v": b"lit"})
    # "a.b" exists as a literal key: unchanged, even though no nested a.b exists.
    assert provider.push(literal, _entry("num", key="v", prop="a.b")).written is False


def test_property_push_over_non_json_starts_over(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    _seed(client, "plain", versions=(b"just text",))
    provider.push(_source(), _entry("plain", prop="password"))
    assert json.loads(_latest(client, "plain")) == {"password": PASSWORD.decode()}


def test_invalid_property_path_is_refused_before_any_call(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    err = _raises(lambda: provider.push(_source(), _entry("x", prop="a.*")))
    assert err.reason == "InvalidProperty" and not err.retryable
    assert emulator.calls == {}


def test_concurrent_property_pushes_lose_nothing(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    _seed(client, "shared", versions=(b"{}",))
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
    assert json.loads(_latest(client, "shared")) == {
        "props": {k: v.decode() for k, v in data.items()}
    }


# ---- metadata --------------------------------------------------------------------------------


def test_metadata_replace(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    _seed(
        client,
        "meta",
        labels={"managed-by": "external-secrets", "team": "old", "extra": "x"},
        annotations={"a": "b"},
    )
    meta = _meta(labels={"team": "payments"}, annotations={"owner": "payments@example.com"})
    provider.push(_source(), _entry("meta", metadata=meta))
    secret = client.get_secret(name=f"{P}/secrets/meta")
    assert dict(secret.labels) == {"managed-by": "external-secrets", "team": "payments"}
    assert dict(secret.annotations) == {"owner": "payments@example.com"}
    assert emulator.calls["UpdateSecret"] == 1
    emulator.reset_calls()
    provider.push(_source(), _entry("meta", metadata=meta))
    assert emulator.calls["UpdateSecret"] == 0  # already as wanted


def test_metadata_merge_keeps_existing_labels(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    _seed(
        client,
        "merge",
        labels={"managed-by": "external-secrets", "team": "old", "keep": "me"},
        annotations={"drop": "me"},
    )
    meta = _meta(mergePolicy="Merge", labels={"team": "new", "add": "y"}, annotations={"n": "1"})
    provider.push(_source(), _entry("merge", metadata=meta))
    secret = client.get_secret(name=f"{P}/secrets/merge")
    # Existing values win over spec values, as in ESO; annotations are exactly the spec's.
    assert dict(secret.labels) == {
        "managed-by": "external-secrets",
        "team": "old",
        "keep": "me",
        "add": "y",
    }
    assert dict(secret.annotations) == {"n": "1"}


def test_no_metadata_resets_labels_and_annotations(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    _seed(
        client, "reset", labels={"managed-by": "external-secrets", "x": "y"}, annotations={"a": "b"}
    )
    provider.push(_source(), _entry("reset"))
    secret = client.get_secret(name=f"{P}/secrets/reset")
    assert dict(secret.labels) == {"managed-by": "external-secrets"}
    assert dict(secret.annotations) == {}


def test_property_push_keeps_labels_and_annotations(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    _seed(
        client, "keep", labels={"managed-by": "external-secrets", "x": "y"}, annotations={"a": "b"}
    )
    provider.push(_source(), _entry("keep", prop="p"))
    secret = client.get_secret(name=f"{P}/secrets/keep")
    assert dict(secret.labels) == {"managed-by": "external-secrets", "x": "y"}
    assert dict(secret.annotations) == {"a": "b"}
    assert emulator.calls["UpdateSecret"] == 0


def test_new_secret_gets_metadata_in_one_create(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    meta = _meta(
        labels={"team": "payments"},
        annotations={"owner": "me"},
        topics=["projects/p/topics/secret-events"],
        replicationLocations=["us-east1", "europe-west1"],
        cmekKeyName="projects/p/locations/global/keyRings/r/cryptoKeys/k",
    )
    provider.push(_source(), _entry("created", metadata=meta))
    secret = client.get_secret(name=f"{P}/secrets/created")
    assert dict(secret.labels) == {"managed-by": "external-secrets", "team": "payments"}
    assert dict(secret.annotations) == {"owner": "me"}
    assert [t.name for t in secret.topics] == ["projects/p/topics/secret-events"]
    replicas = secret.replication.user_managed.replicas
    assert [r.location for r in replicas] == ["us-east1", "europe-west1"]
    assert {r.customer_managed_encryption.kms_key_name for r in replicas} == {
        "projects/p/locations/global/keyRings/r/cryptoKeys/k"
    }
    assert emulator.calls["UpdateSecret"] == 0
    # Topics are create-time only and never compared afterwards: no UpdateSecret churn.
    emulator.reset_calls()
    provider.push(
        _source(), _entry("created", metadata={**meta, "spec": {**meta["spec"], "topics": []}})
    )
    assert emulator.calls["UpdateSecret"] == 0


def test_cmek_only_is_automatic_replication(
    provider: GCPSecretManagerProvider, client: sm.SecretManagerServiceClient
) -> None:
    provider.push(_source(), _entry("cmek", metadata=_meta(cmekKeyName="k1")))
    secret = client.get_secret(name=f"{P}/secrets/cmek")
    assert secret.replication.automatic.customer_managed_encryption.kms_key_name == "k1"


def test_regional_store(
    client: sm.SecretManagerServiceClient, emulator: GcpSecretManagerEmulator
) -> None:
    regional = GCPSecretManagerProvider(client, project_id="p", location="us-east1")
    regional.push(_source(), _entry("reg", metadata=_meta(cmekKeyName="k-regional")))
    name = "projects/p/locations/us-east1/secrets/reg"
    secret = client.get_secret(name=name)
    assert secret.customer_managed_encryption.kms_key_name == "k-regional"
    assert emulator.versions(name)[0][2] == PASSWORD
    assert regional.exists(RemoteRef("reg"))
    err = _raises(
        lambda: regional.push(_source(), _entry("reg2", metadata=_meta(replicationLocation="x")))
    )
    assert err.reason == "InvalidMetadata" and "regional" in err.message
    regional.delete(RemoteRef("reg"))
    assert emulator.get_secret(name) is None


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "PushSecretMetadata"},
            'failed to parse PushSecret metadata: unexpected apiVersion "v1", expected '
            '"kubernetes.external-secrets.io/v1alpha1"',
        ),
        (
            {"apiVersion": API, "kind": "Nope"},
            'failed to parse PushSecret metadata: unexpected kind "Nope", expected '
            '"PushSecretMetadata"',
        ),
        (
            {"kind": "PushSecretMetadata"},
            'failed to parse PushSecret metadata: unexpected apiVersion "", expected '
            '"kubernetes.external-secrets.io/v1alpha1"',
        ),
        (
            _meta(colour="blue"),
            "failed to parse PushSecret metadata: failed to parse "
            "kubernetes.external-secrets.io/v1alpha1 PushSecretMetadata: error unmarshaling "
            'JSON: while decoding JSON: json: unknown field "colour"',
        ),
        (
            {**_meta(), "extra": 1},
            "failed to parse PushSecret metadata: failed to parse "
            "kubernetes.external-secrets.io/v1alpha1 PushSecretMetadata: error unmarshaling "
            'JSON: while decoding JSON: json: unknown field "extra"',
        ),
        (
            _meta(labels="team=x"),
            "failed to parse PushSecret metadata: failed to parse "
            "kubernetes.external-secrets.io/v1alpha1 PushSecretMetadata: error unmarshaling "
            "JSON: while decoding JSON: json: cannot unmarshal string into Go struct field "
            "PushSecretMetadataSpec.spec.labels of type map[string]string",
        ),
        (
            _meta(topics=[1]),
            "failed to parse PushSecret metadata: failed to parse "
            "kubernetes.external-secrets.io/v1alpha1 PushSecretMetadata: error unmarshaling "
            "JSON: while decoding JSON: json: cannot unmarshal number into Go struct field "
            "PushSecretMetadataSpec.spec.topics of type string",
        ),
        (
            _meta(mergePolicy="merge"),
            'failed to parse PushSecret metadata: invalid mergePolicy "merge", expected '
            '"Replace" or "Merge"',
        ),
    ],
)
def test_bad_metadata_is_refused_with_esos_messages(
    provider: GCPSecretManagerProvider,
    emulator: GcpSecretManagerEmulator,
    metadata: dict[str, Any],
    message: str,
) -> None:
    err = _raises(lambda: provider.push(_source(), _entry("m", metadata=metadata)))
    assert err.message == message
    assert err.reason == "InvalidMetadata" and not err.retryable
    assert emulator.calls == {}  # refused before any call


def test_metadata_keys_are_case_insensitive() -> None:
    meta = parse_gcp_metadata(
        {
            "APIVERSION": API,
            "Kind": "PushSecretMetadata",
            "SPEC": {"Labels": {"Team": "x"}, "MERGEPOLICY": "Merge", "topics": None},
        }
    )
    assert meta is not None
    assert meta.labels == {"Team": "x"}  # map keys keep their case
    assert meta.merge_policy == "Merge"
    assert meta.topics == ()
    assert parse_gcp_metadata(None) is None
    assert parse_gcp_metadata({"apiVersion": API, "kind": "PushSecretMetadata"}) is not None


def test_metadata_with_property_is_refused_before_any_call(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    err = _raises(lambda: provider.push(_source(), _entry("x", prop="a", metadata=_meta())))
    assert err.message == "cannot specify metadata and property at the same time"
    assert not err.retryable
    assert emulator.calls == {}
    assert emulator.get_secret(f"{P}/secrets/x") is None  # ESO would have created it


# ---- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("prop", ["", "db.password"])
def test_unmanaged_secret_is_refused(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
    prop: str,
) -> None:
    name = _seed(client, "foreign", labels={"owner": "someone"}, versions=(b"theirs",))
    err = _raises(lambda: provider.push(_source(), _entry("foreign", prop=prop)))
    assert err.message == "secret foreign is not managed by external secrets"
    assert err.reason == "NotManaged" and not err.retryable
    assert emulator.versions(name) == [(1, "ENABLED", b"theirs")]
    assert dict(client.get_secret(name=name).labels) == {"owner": "someone"}


@pytest.mark.parametrize("state", ["DISABLED", "DESTROYED"])
def test_disabled_or_destroyed_latest_is_refused(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
    state: str,
) -> None:
    name = _seed(client, "stuck", versions=(b"p@ss-w0rd-2", b"p@ss-w0rd-2"))
    if state == "DISABLED":
        client.disable_secret_version(name=f"{name}/versions/2")
    else:
        client.destroy_secret_version(name=f"{name}/versions/2")
    emulator.reset_calls()
    err = _raises(lambda: provider.push(_source(), _entry("stuck")))
    assert not err.retryable and err.reason == "LatestVersionNotEnabled"
    assert name in err.message and state in err.message and "(2)" in err.message
    assert emulator.calls["AddSecretVersion"] == 0


def test_invalid_remote_key_is_refused_before_any_call(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    for key in ["a/versions/1", "", "x" * 256, "dot.ted"]:
        err = _raises(lambda key=key: provider.push(_source(), _entry(key)))  # type: ignore[misc]
        assert err.reason == "InvalidRemoteKey"
    assert emulator.calls == {}


def test_empty_and_oversized_values_are_refused_before_any_call(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    assert _raises(lambda: provider.push(_source({"password": b""}), _entry("e"))).reason == (
        "EmptyValue"
    )
    big = _source({"password": b"x" * 65537})
    assert _raises(lambda: provider.push(big, _entry("e"))).reason == "PayloadTooLarge"
    assert _raises(lambda: provider.push(_source(), _entry("e", key="nope"))).message == (
        "secret key nope does not exist"
    )
    assert emulator.calls == {}


# ---- exists ----------------------------------------------------------------------------------


def test_exists_cases(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    assert provider.exists(RemoteRef("missing")) is False
    _seed(client, "empty")
    assert provider.exists(RemoteRef("empty")) is False

    name = _seed(client, "ok", versions=(b"one", b"two"))
    emulator.reset_calls()
    assert provider.exists(RemoteRef("ok", "ignored.property")) is True
    assert emulator.calls == {"ListSecretVersions": 1, "AccessSecretVersion": 1}

    client.disable_secret_version(name=f"{name}/versions/2")
    assert provider.exists(RemoteRef("ok")) is True  # an older version is still enabled
    client.destroy_secret_version(name=f"{name}/versions/1")
    assert provider.exists(RemoteRef("ok")) is False  # all disabled/destroyed: ESO errors

    _seed(client, "theirs", labels={}, versions=(b"x",))
    assert provider.exists(RemoteRef("theirs")) is True  # ownership is not considered


def test_exists_errors(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    emulator.fail_next("ListSecretVersions", grpc.StatusCode.PERMISSION_DENIED)
    err = _raises(lambda: provider.exists(RemoteRef("x")))
    assert not err.retryable and err.reason == "PermissionDenied"


# ---- delete ----------------------------------------------------------------------------------


def test_delete_managed(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    provider.push(_source(), _entry("gone"))
    provider.push(_source(), _entry("gone", key="token", prop="other"))
    emulator.reset_calls()
    provider.delete(RemoteRef("gone", "other"))  # property ignored: the whole secret goes
    assert emulator.get_secret(f"{P}/secrets/gone") is None
    assert emulator.calls == {"GetSecret": 1, "DeleteSecret": 1}


def test_delete_unmanaged_is_kept(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    name = _seed(client, "foreign", labels={"managed-by": "someone-else"}, versions=(b"x",))
    provider.delete(RemoteRef("foreign"))
    assert emulator.get_secret(name) is not None
    assert emulator.calls["DeleteSecret"] == 0


def test_delete_missing_is_a_no_op(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    provider.delete(RemoteRef("never-existed"))
    assert emulator.calls == {"GetSecret": 1}


def test_delete_conflict_is_retryable(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    provider.push(_source(), _entry("racy"))
    emulator.fail_next("DeleteSecret", grpc.StatusCode.FAILED_PRECONDITION, message="etag")
    err = _raises(lambda: provider.delete(RemoteRef("racy")))
    assert err.retryable and err.reason == "Conflict"
    provider.delete(RemoteRef("racy"))
    assert emulator.get_secret(f"{P}/secrets/racy") is None


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (grpc.StatusCode.UNAVAILABLE, "Unavailable"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "RateLimited"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "Timeout"),
        (grpc.StatusCode.INTERNAL, "Internal"),
        (grpc.StatusCode.ABORTED, "Aborted"),
        (grpc.StatusCode.UNKNOWN, "Unknown"),
    ],
)
def test_transient_errors_are_retryable_and_retry_is_idempotent(
    provider: GCPSecretManagerProvider,
    emulator: GcpSecretManagerEmulator,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    emulator.fail_next("AddSecretVersion", code)
    err = _raises(lambda: provider.push(_source(), _entry("flaky")))
    assert err.retryable and err.reason == reason
    assert (
        err.message
        == f"GCP Secret Manager AddSecretVersion on {P}/secrets/flaky failed: {code.name}"
    )
    assert provider.push(_source(), _entry("flaky")) == PushResult(True, "1")
    assert provider.push(_source(), _entry("flaky")).written is False


def test_rate_limit_carries_retry_after(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    emulator.fail_next("GetSecret", grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay=2.5)
    err = _raises(lambda: provider.push(_source(), _entry("quota")))
    assert err.retryable and err.reason == "RateLimited" and err.retry_after == 2.5


def test_sdk_retries_are_disabled(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    provider.push(_source(), _entry("once"))
    emulator.reset_calls()
    # The SDK's default policy would retry AccessSecretVersion on UNAVAILABLE; we do not.
    emulator.fail_next("AccessSecretVersion", grpc.StatusCode.UNAVAILABLE)
    _raises(lambda: provider.push(_source(), _entry("once")))
    assert emulator.calls["AccessSecretVersion"] == 1


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, "PermissionDenied"),
        (grpc.StatusCode.UNAUTHENTICATED, "Unauthenticated"),
        (grpc.StatusCode.INVALID_ARGUMENT, "InvalidArgument"),
        (grpc.StatusCode.FAILED_PRECONDITION, "FailedPrecondition"),
    ],
)
def test_final_errors_are_not_retryable(
    provider: GCPSecretManagerProvider,
    emulator: GcpSecretManagerEmulator,
    code: grpc.StatusCode,
    reason: str,
) -> None:
    emulator.fail_next("GetSecret", code)
    err = _raises(lambda: provider.push(_source(), _entry("denied")))
    assert not err.retryable and err.reason == reason
    assert f"GetSecret on {P}/secrets/denied failed: {code.name}" in err.message


def test_update_conflict_is_retryable(
    provider: GCPSecretManagerProvider,
    client: sm.SecretManagerServiceClient,
    emulator: GcpSecretManagerEmulator,
) -> None:
    _seed(client, "etag", labels={"managed-by": "external-secrets", "x": "y"})
    emulator.fail_next("UpdateSecret", grpc.StatusCode.FAILED_PRECONDITION)
    err = _raises(lambda: provider.push(_source(), _entry("etag")))
    assert err.retryable and err.reason == "Conflict"


def test_create_race_is_retryable(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    emulator.fail_next("CreateSecret", grpc.StatusCode.ALREADY_EXISTS)
    err = _raises(lambda: provider.push(_source(), _entry("race")))
    assert err.retryable and err.reason == "AlreadyExists"


def test_service_messages_are_quoted_only_when_safe(
    provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator
) -> None:
    # A real INVALID_ARGUMENT from the service (bad label key) is quoted: it names the rule.
    bad = _raises(
        lambda: provider.push(_source(), _entry("l", metadata=_meta(labels={"Team": "x"})))
    )
    assert not bad.retryable and "Invalid label key [Team]" in bad.message
    # A message that echoes the pushed value is dropped; so is any PERMISSION_DENIED text.
    echo = f"payload {PASSWORD.decode()} rejected"
    emulator.fail_next("AddSecretVersion", grpc.StatusCode.INVALID_ARGUMENT, message=echo)
    err = _raises(lambda: provider.push(_source(), _entry("echo")))
    assert err.message.endswith("failed: INVALID_ARGUMENT")
    emulator.fail_next("GetSecret", grpc.StatusCode.PERMISSION_DENIED, message="caller x@y denied")
    assert "x@y" not in _raises(lambda: provider.push(_source(), _entry("echo"))).message


# ---- validate, configuration, client sharing -------------------------------------------------


def test_validate(provider: GCPSecretManagerProvider, emulator: GcpSecretManagerEmulator) -> None:
    provider.validate()
    assert emulator.calls == {"GetSecret": 1}
    emulator.fail_next("GetSecret", grpc.StatusCode.PERMISSION_DENIED)
    assert _raises(provider.validate).reason == "PermissionDenied"
    emulator.fail_next("GetSecret", grpc.StatusCode.UNAVAILABLE)
    assert _raises(provider.validate).retryable


@pytest.fixture
def _fresh_cache() -> Iterator[None]:
    clear_client_cache()
    yield
    clear_client_cache()


@pytest.mark.usefixtures("_fresh_cache")
def test_emulator_host_env_convention(
    emulator: GcpSecretManagerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EMULATOR_HOST_ENV, emulator.address)
    first = GCPSecretManagerProvider.from_config(GCPConfig(project_id="p"))
    second = GCPSecretManagerProvider.from_config(GCPConfig(project_id="p", location=""))
    assert first.push(_source(), _entry("env")) == PushResult(True, "1")
    first.close()  # must not close the shared channel
    assert second.push(_source(), _entry("env")).written is False
    assert second.exists(RemoteRef("env"))
    assert first._client is second._client  # one channel per endpoint and identity


@pytest.mark.usefixtures("_fresh_cache")
def test_explicit_insecure_endpoint(
    emulator: GcpSecretManagerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    cfg = GCPConfig(project_id="p", endpoint=emulator.address, insecure=True)
    provider = GCPSecretManagerProvider.from_config(cfg)
    provider.validate()
    assert provider.push(_source(), _entry("explicit")).written
    err = _raises(
        lambda: GCPSecretManagerProvider.from_config(GCPConfig(project_id="p", insecure=True))
    )
    assert err.reason == "InvalidConfig"


@pytest.mark.usefixtures("_fresh_cache")
def test_bad_credentials_are_refused_without_quoting_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)
    key = {"type": "service_account", "private_key": "-----BEGIN hunter2-correct-horse"}
    cfg = GCPConfig(project_id="p", credentials_info=key, endpoint="127.0.0.1:1")
    err = _raises(lambda: GCPSecretManagerProvider.from_config(cfg))
    assert err.reason == "InvalidCredentials" and not err.retryable
    assert err.message.startswith("failed to process the provided JSON credentials")
    assert "BEGIN" not in err.message
    assert "hunter2" not in repr(cfg)
    assert _raises(
        lambda: GCPSecretManagerProvider.from_config(GCPConfig(project_id=""))
    ).message == ("unable to find ProjectID in storeSpec")


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283
