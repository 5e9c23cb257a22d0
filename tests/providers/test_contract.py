"""One contract, every provider: the same behaviour through each official SDK and emulator.

A backend fixture gives a provider built the production way (``from_config``), and the few
store-specific operations a test needs (read the current remote value, create a secret we do
not manage, inject a service error). Adding a store means adding a backend, not tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from azure.keyvault.secrets import SecretClient
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from emulators.azure_key_vault import AzureKeyVaultEmulator
from emulators.gcp_secret_manager import GcpSecretManagerEmulator
from pushsecret.providers.azure import (
    AzureConfig,
    AzureKeyVaultProvider,
    build_credential,
)
from pushsecret.providers.base import Provider, ProviderError, PushEntry, RemoteRef, SourceSecret
from pushsecret.providers.gcp import GCPConfig, GCPSecretManagerProvider
from pushsecret.providers.payload import whole_secret_json

VALUES = {"password": b"contract-pass-1", "user": b"contract-user", "DB_HOST": b"db.local"}

#: service error kinds every backend must map: (kind, retryable)
ERRORS = [("unavailable", True), ("rate_limited", True), ("internal", True), ("forbidden", False)]


@dataclass
class Backend:
    name: str
    provider: Provider
    read: Callable[[str], bytes | None]  # current remote value of a key, None if absent
    versions: Callable[[str], int]  # how many versions a key has
    make_unmanaged: Callable[[str], None]  # a remote secret created by someone else
    inject: Callable[[str], None]  # next write fails with this error kind
    enabled: Callable[[str], list[bool]] = lambda key: []  # enabled flag per version, oldest first
    supports_property: bool = True
    bad_metadata: list[dict[str, object]] = field(default_factory=list)


# ---- GCP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gcp_emulator() -> Iterator[GcpSecretManagerEmulator]:
    with GcpSecretManagerEmulator() as emu:
        yield emu


def _gcp(emu: GcpSecretManagerEmulator, monkeypatch: pytest.MonkeyPatch) -> Backend:
    emu.reset()
    monkeypatch.setenv("SECRETMANAGER_EMULATOR_HOST", emu.address)
    provider = GCPSecretManagerProvider.from_config(GCPConfig(project_id="contract"))
    sdk = sm.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=grpc.insecure_channel(emu.address))
    )
    codes = {
        "unavailable": grpc.StatusCode.UNAVAILABLE,
        "rate_limited": grpc.StatusCode.RESOURCE_EXHAUSTED,
        "internal": grpc.StatusCode.INTERNAL,
        "forbidden": grpc.StatusCode.PERMISSION_DENIED,
    }

    def read(key: str) -> bytes | None:
        versions = emu.versions(f"projects/contract/secrets/{key}") if key in _names(emu) else []
        return max(versions)[2] if versions else None

    def unmanaged(key: str) -> None:
        sdk.create_secret(
            parent="projects/contract",
            secret_id=key,
            secret={"replication": {"automatic": {}}, "labels": {"team": "x"}},
        )
        sdk.add_secret_version(
            parent=f"projects/contract/secrets/{key}", payload={"data": b"someone-elses-value"}
        )

    return Backend(
        name="gcp",
        provider=provider,
        read=read,
        versions=lambda key: len(emu.versions(f"projects/contract/secrets/{key}")),
        enabled=lambda key: [
            state == "ENABLED"
            for _, state, _ in sorted(emu.versions(f"projects/contract/secrets/{key}"))
        ],
        make_unmanaged=unmanaged,
        inject=lambda kind: emu.fail_next("GetSecret", codes[kind]),
        bad_metadata=[
            {
                "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
                "kind": "PushSecretMetadata",
                "spec": {"labelz": {"a": "b"}},
            },
            {"apiVersion": "wrong/v1", "kind": "PushSecretMetadata", "spec": {}},
        ],
    )


def _names(emu: GcpSecretManagerEmulator) -> set[str]:
    return {n.rsplit("/", 1)[-1] for n in emu.secret_names()}


# ---- Azure -------------------------------------------------------------------------------

AZ_APP, AZ_SECRET = "contract-app", "contract-client-secret"


@pytest.fixture(scope="module")
def azure_emulator() -> Iterator[AzureKeyVaultEmulator]:
    with AzureKeyVaultEmulator() as emu:
        emu.register_client(AZ_APP, secret=AZ_SECRET)
        yield emu


def _azure(emu: AzureKeyVaultEmulator) -> Backend:
    emu.reset()
    emu.register_client(AZ_APP, secret=AZ_SECRET)
    credential = build_credential(
        "ServicePrincipal",
        tenant_id=emu.tenant_id,
        client_id=AZ_APP,
        client_secret=AZ_SECRET,
        authority_host=emu.authority_url,
        ca_bundle=emu.ca_cert_path,
    )
    provider = AzureKeyVaultProvider.from_config(
        AzureConfig(
            vault_url=emu.vault_url,
            credential=credential,
            ca_bundle=emu.ca_cert_path,
            verify_challenge_resource=False,
        )
    )
    sdk = SecretClient(
        emu.vault_url,
        credential,
        verify_challenge_resource=False,
        connection_verify=emu.ca_cert_path,
    )
    statuses = {"unavailable": 503, "rate_limited": 429, "internal": 500, "forbidden": 403}

    def read(key: str) -> bytes | None:
        if key not in {n.lower() for n in emu.secret_names()}:
            return None
        versions = emu.versions(key)
        return versions[-1]["value"].encode() if versions else None

    return Backend(
        name="azure",
        provider=provider,
        read=read,
        versions=lambda key: len(emu.versions(key)),
        enabled=lambda key: [bool(v["attributes"]["enabled"]) for v in emu.versions(key)],
        make_unmanaged=lambda key: (
            sdk.set_secret(key, "someone-elses-value", tags={"team": "x"}) and None
        ),
        inject=lambda kind: emu.fail_next("GetSecret", statuses[kind]),
        bad_metadata=[
            {
                "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
                "kind": "PushSecretMetadata",
                "spec": {"tagz": {"a": "b"}},
            },
            {"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "Other", "spec": {}},
        ],
    )


BACKENDS = ["gcp", "azure"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    if request.param == "gcp":
        b = _gcp(request.getfixturevalue("gcp_emulator"), monkeypatch)
    elif request.param == "azure":
        b = _azure(request.getfixturevalue("azure_emulator"))
    else:  # pragma: no cover - new backends register above
        raise AssertionError(request.param)
    yield b
    b.provider.close()


# ---- the contract ------------------------------------------------------------------------


def _src(**over: bytes) -> SourceSecret:
    return SourceSecret(name="src", namespace="ns", data={**VALUES, **over})


def _e(key: str, secret_key: str = "password", prop: str = "", **kw: object) -> PushEntry:
    return PushEntry(remote=RemoteRef(key, prop), secret_key=secret_key, **kw)  # type: ignore[arg-type]


def _safe(err: ProviderError) -> ProviderError:
    for v in [*VALUES.values(), b"someone-elses-value", b"contract-pass-2"]:
        assert v.decode() not in err.message, "a secret value leaked into an error message"
    return err


def test_push_new_then_unchanged_then_changed(backend: Backend) -> None:
    p = backend.provider
    first = p.push(_src(), _e("c-one"))
    assert first.written and first.remote_version
    assert backend.read("c-one") == VALUES["password"]
    again = p.push(_src(), _e("c-one"))
    assert not again.written and again.remote_version == first.remote_version
    assert backend.versions("c-one") == 1
    changed = p.push(_src(password=b"contract-pass-2"), _e("c-one"))
    assert changed.written and changed.remote_version != first.remote_version
    assert backend.read("c-one") == b"contract-pass-2"


def test_whole_secret_is_esos_compact_sorted_json(backend: Backend) -> None:
    backend.provider.push(_src(), _e("c-whole", secret_key=""))
    assert backend.read("c-whole") == whole_secret_json(VALUES)
    assert backend.read("c-whole") == (
        b'{"DB_HOST":"db.local","password":"contract-pass-1","user":"contract-user"}'
    )
    assert not backend.provider.push(_src(), _e("c-whole", secret_key="")).written


def test_properties_merge_into_one_json_value(backend: Backend) -> None:
    if not backend.supports_property:
        pytest.skip(f"{backend.name} ignores property, as ESO does")
    p = backend.provider
    p.push(_src(), _e("c-props", "password", "db.password"))
    p.push(_src(), _e("c-props", "user", "db.user"))
    assert json.loads(backend.read("c-props") or b"") == {
        "db": {"password": "contract-pass-1", "user": "contract-user"}
    }
    assert not p.push(_src(), _e("c-props", "user", "db.user")).written


def test_exists_and_delete(backend: Backend) -> None:
    p = backend.provider
    assert p.exists(RemoteRef("c-del")) is False
    p.push(_src(), _e("c-del"))
    assert p.exists(RemoteRef("c-del")) is True
    p.delete(RemoteRef("c-del"))
    assert p.exists(RemoteRef("c-del")) is False
    assert backend.read("c-del") is None
    p.delete(RemoteRef("c-del"))  # idempotent


def test_unmanaged_remote_secret_is_refused_and_kept(backend: Backend) -> None:
    backend.make_unmanaged("c-foreign")
    with pytest.raises(ProviderError) as err:
        backend.provider.push(_src(), _e("c-foreign"))
    assert not _safe(err.value).retryable
    assert "not managed by external" in err.value.message
    backend.provider.delete(RemoteRef("c-foreign"))  # not ours: left alone
    assert backend.read("c-foreign") == b"someone-elses-value"


def test_bad_metadata_is_refused_before_writing(backend: Backend) -> None:
    for md in backend.bad_metadata:
        with pytest.raises(ProviderError) as err:
            backend.provider.push(_src(), _e("c-md", metadata=md))
        assert not _safe(err.value).retryable
    assert backend.read("c-md") is None


@pytest.mark.parametrize(("kind", "retryable"), ERRORS)
def test_service_errors_are_classified(backend: Backend, kind: str, retryable: bool) -> None:
    backend.inject(kind)
    with pytest.raises(ProviderError) as err:
        backend.provider.push(_src(), _e("c-err"))
    assert _safe(err.value).retryable is retryable
    # The fault was transient: the next attempt goes through.
    assert backend.provider.push(_src(), _e("c-err")).written


def test_disable_an_earlier_version(backend: Backend) -> None:
    p = backend.provider
    first = p.push(_src(), _e("c-grace")).remote_version
    second = p.push(_src(password=b"contract-pass-2"), _e("c-grace")).remote_version
    assert first and second and first != second
    assert backend.enabled("c-grace") == [True, True]
    p.disable_version(RemoteRef("c-grace"), first)
    assert backend.enabled("c-grace") == [False, True]
    assert backend.read("c-grace") == b"contract-pass-2"
    p.disable_version(RemoteRef("c-grace"), first)  # idempotent
    p.disable_version(RemoteRef("c-missing"), "1")  # missing: a no-op
