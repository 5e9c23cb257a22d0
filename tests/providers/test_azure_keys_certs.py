"""The provider's ``key/`` and ``cert/`` pushes against the emulator (official SDK clients):
new/unchanged/changed for RSA and EC keys and PEM and PKCS#12 certificates, tags, ownership,
delete, the soft-delete policy, exists, and error classification. Every error message is
checked for key material (the PEM bodies never appear)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from emulators.azure_key_vault import AzureKeyVaultEmulator
from pushsecret.providers.azure import AzureConfig, AzureKeyVaultProvider, build_credential
from pushsecret.providers.base import ProviderError, PushEntry, RemoteRef, SourceSecret

APP_ID = "11111111-aaaa-4bbb-8ccc-000000000003"
APP_SECRET = "kc-provider-secret"
MANAGED = {"managed-by": "external-secrets"}

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_KEY_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
EC_KEY_2 = ec.generate_private_key(ec.SECP384R1())


def _pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    return bytes(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()))


def _cert(key: Any, cn: str = "leaf") -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


def _p12(key: Any, cert: x509.Certificate) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"x", key, cert, None, serialization.NoEncryption()
    )


def _pem_bundle(key: Any, cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM) + _pem(key)


def _bodies(*values: bytes) -> list[str]:
    """Fragments of key material that must never show up in a message."""
    out: list[str] = []
    for value in values:
        lines = [ln for ln in value.decode("latin-1").splitlines() if ln and "-----" not in ln]
        out.extend(lines[1:3])
        out.append(base64.b64encode(value).decode()[:40])
    return out


@pytest.fixture(scope="module")
def emulator() -> Iterator[AzureKeyVaultEmulator]:
    with AzureKeyVaultEmulator() as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        yield emu


def _config(emu: AzureKeyVaultEmulator, **kwargs: Any) -> AzureConfig:
    credential = build_credential(
        "ServicePrincipal",
        tenant_id=emu.tenant_id,
        client_id=APP_ID,
        client_secret=APP_SECRET,
        authority_host=emu.authority_url,
        ca_bundle=emu.ca_cert_path,
    )
    return AzureConfig(
        vault_url=emu.vault_url,
        credential=credential,
        ca_bundle=emu.ca_cert_path,
        verify_challenge_resource=False,
        **kwargs,
    )


@pytest.fixture
def provider(emulator: AzureKeyVaultEmulator) -> AzureKeyVaultProvider:
    return AzureKeyVaultProvider.from_config(_config(emulator))


def _kw(emu: AzureKeyVaultEmulator) -> dict[str, Any]:
    return {"verify_challenge_resource": False, "connection_verify": emu.ca_cert_path}


@pytest.fixture(scope="module")
def keys(emulator: AzureKeyVaultEmulator) -> Iterator[KeyClient]:
    with KeyClient(emulator.vault_url, _config(emulator).credential, **_kw(emulator)) as cli:
        yield cli


@pytest.fixture(scope="module")
def certs(emulator: AzureKeyVaultEmulator) -> Iterator[CertificateClient]:
    cred = _config(emulator).credential
    with CertificateClient(emulator.vault_url, cred, **_kw(emulator)) as cli:
        yield cli


@pytest.fixture(autouse=True)
def _clean(emulator: AzureKeyVaultEmulator) -> None:
    emulator.reset()


def _push(
    provider: AzureKeyVaultProvider, remote: str, value: bytes, tags: dict[str, str] | None = None
) -> Any:
    meta = None
    if tags is not None:
        meta = {
            "apiVersion": "kubernetes.external-secrets.io/v1alpha1",
            "kind": "PushSecretMetadata",
            "spec": {"tags": tags},
        }
    source = SourceSecret(name="src", namespace="ns", data={"v": value})
    return provider.push(source, PushEntry(RemoteRef(remote), secret_key="v", metadata=meta))


def _vault_calls(emu: AzureKeyVaultEmulator) -> dict[str, int]:
    skip = {"Token", "OpenIdConfiguration", "ManagedIdentityToken"}
    return {op: n for op, n in emu.calls.items() if op not in skip}


def _raises(fn: Callable[[], Any], *secrets: bytes) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        fn()
    for fragment in _bodies(*secrets):
        assert fragment not in info.value.message
    return info.value


# ---- keys ------------------------------------------------------------------------------------

KEY_CASES = [
    ("rsa-pkcs8", _pem(RSA_KEY), _pem(RSA_KEY_2)),
    ("rsa-pkcs1", _pem(RSA_KEY, serialization.PrivateFormat.TraditionalOpenSSL), _pem(RSA_KEY_2)),
    ("ec-sec1", _pem(EC_KEY, serialization.PrivateFormat.TraditionalOpenSSL), _pem(EC_KEY_2)),
]


@pytest.mark.parametrize(("name", "first", "second"), KEY_CASES)
def test_key_new_unchanged_changed(
    provider: AzureKeyVaultProvider,
    emulator: AzureKeyVaultEmulator,
    keys: KeyClient,
    name: str,
    first: bytes,
    second: bytes,
) -> None:
    emulator.reset_calls()
    created = _push(provider, f"key/{name}", first)
    assert created.written and _vault_calls(emulator) == {"GetKey": 1, "ImportKey": 1}
    key = keys.get_key(name)
    assert key.properties.tags == MANAGED and key.properties.version == created.remote_version

    emulator.reset_calls()
    same = _push(provider, f"key/{name}", first)
    assert not same.written and same.remote_version == created.remote_version
    assert _vault_calls(emulator) == {"GetKey": 1}

    emulator.reset_calls()
    tagged = _push(provider, f"key/{name}", first, {"env": "prod"})
    assert tagged.written and tagged.remote_version == created.remote_version
    assert _vault_calls(emulator) == {"GetKey": 1, "UpdateKey": 1}
    assert keys.get_key(name).properties.tags == {**MANAGED, "env": "prod"}

    emulator.reset_calls()
    changed = _push(provider, f"key/{name}", second, {"env": "prod"})
    assert changed.written and changed.remote_version != created.remote_version
    assert _vault_calls(emulator) == {"GetKey": 1, "ImportKey": 1}
    assert len(emulator.key_versions(name)) == 2


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"not a pem at all", "the value is not PEM"),
        (
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "could not load private key k: key type PUBLIC KEY is not supported",
        ),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "invalid PRIVATE KEY"),
        (_pem(ed25519.Ed25519PrivateKey.generate()), "RSA or EC only"),
    ],
)
def test_bad_key_values_refused_before_any_call(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator, value: bytes, fragment: str
) -> None:
    emulator.reset_calls()
    err = _raises(lambda: _push(provider, "key/k", value), value)
    assert err.reason == "InvalidValue" and not err.retryable and fragment in err.message
    assert _vault_calls(emulator) == {}


def test_unmanaged_and_tagless_keys_refused(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator, keys: KeyClient
) -> None:
    from tests.emulators.test_azure_keys_certs_emulator import rsa_jwk

    keys.import_key("theirs", rsa_jwk(RSA_KEY), tags={"owner": "someone"})
    keys.import_key("bare", rsa_jwk(RSA_KEY))
    for name in ("theirs", "bare"):

        def push(n: str = name) -> Any:
            return _push(provider, f"key/{n}", _pem(RSA_KEY))

        err = _raises(push, _pem(RSA_KEY))
        assert (
            err.reason == "NotManaged"
            and err.message == f"key {name} not managed by external-secrets"
        )
    provider.delete(RemoteRef("key/theirs"))  # not ours: left alone
    assert sorted(emulator.key_names()) == ["bare", "theirs"]


def test_key_delete_exists_and_soft_delete_policies(
    emulator: AzureKeyVaultEmulator, keys: KeyClient
) -> None:
    recover = AzureKeyVaultProvider.from_config(_config(emulator))
    assert not recover.exists(RemoteRef("key/k1"))
    _push(recover, "key/k1", _pem(EC_KEY))
    assert recover.exists(RemoteRef("key/k1"))
    recover.delete(RemoteRef("key/k1"))
    assert not recover.exists(RemoteRef("key/k1")) and emulator.key_names(deleted=True) == ["k1"]
    recover.delete(RemoteRef("key/k1"))  # already deleted: no-op

    # Recover (default): brings the deleted key back, then compares (unchanged: no import).
    emulator.reset_calls()
    result = _push(recover, "key/k1", _pem(EC_KEY))
    assert not result.written and emulator.calls["RecoverDeletedKey"] == 1
    assert emulator.calls["ImportKey"] == 1  # the 409

    recover.delete(RemoteRef("key/k1"))
    fail = AzureKeyVaultProvider.from_config(_config(emulator, on_soft_deleted="Fail"))
    err = _raises(lambda: _push(fail, "key/k1", _pem(EC_KEY)), _pem(EC_KEY))
    assert err.reason == "SoftDeleted" and not err.retryable

    purge = AzureKeyVaultProvider.from_config(
        _config(emulator, on_soft_deleted="Purge", purge_on_delete=True)
    )
    assert _push(purge, "key/k1", _pem(EC_KEY_2)).written
    assert len(emulator.key_versions("k1")) == 1  # purged, then a fresh key
    purge.delete(RemoteRef("key/k1"))
    assert emulator.key_names() == [] and emulator.key_names(deleted=True) == []


def test_key_errors_are_classified(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator
) -> None:
    value = _pem(RSA_KEY)
    emulator.fail_next("ImportKey", 429, retry_after=3)
    err = _raises(lambda: _push(provider, "key/k2", value), value)
    assert err.retryable and err.reason == "RateLimited" and err.retry_after == 3
    assert err.message.startswith(f"Azure Key Vault ImportKey on {emulator.vault_url}/keys/k2")
    emulator.fail_next("GetKey", 403)
    err = _raises(lambda: _push(provider, "key/k2", value), value)
    assert not err.retryable and err.reason == "PermissionDenied"
    emulator.fail_next("ImportKey", 400, message=value.decode())  # an echo is never quoted
    err = _raises(lambda: _push(provider, "key/k2", value), value)
    assert err.reason == "InvalidArgument"
    err = _raises(lambda: _push(provider, "key/bad_name", value), value)
    assert err.reason == "InvalidRemoteKey"


def test_property_refused_for_keys(provider: AzureKeyVaultProvider) -> None:
    source = SourceSecret(name="s", namespace="ns", data={"v": _pem(RSA_KEY)})
    entry = PushEntry(RemoteRef("key/k3", property="x"), secret_key="v")
    err = _raises(lambda: provider.push(source, entry), _pem(RSA_KEY))
    assert err.reason == "InvalidProperty"


# ---- certificates ----------------------------------------------------------------------------

CERT_1, CERT_2 = _cert(RSA_KEY, "one"), _cert(RSA_KEY, "two")
EC_CERT = _cert(EC_KEY, "ec")


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        ("p12", _p12(RSA_KEY, CERT_1), _p12(RSA_KEY, CERT_2)),
        ("pem", _pem_bundle(RSA_KEY, CERT_1), _pem_bundle(EC_KEY, EC_CERT)),
    ],
)
def test_cert_new_unchanged_changed(
    provider: AzureKeyVaultProvider,
    emulator: AzureKeyVaultEmulator,
    certs: CertificateClient,
    name: str,
    first: bytes,
    second: bytes,
) -> None:
    emulator.reset_calls()
    created = _push(provider, f"cert/{name}", first)
    assert created.written
    assert _vault_calls(emulator) == {"GetCertificate": 1, "ImportCertificate": 1}
    got = certs.get_certificate(name)
    assert bytes(got.cer or b"") == CERT_1.public_bytes(serialization.Encoding.DER)
    assert got.properties is not None and got.properties.tags == MANAGED

    emulator.reset_calls()
    assert not _push(provider, f"cert/{name}", first).written
    assert _vault_calls(emulator) == {"GetCertificate": 1}

    emulator.reset_calls()
    assert _push(provider, f"cert/{name}", first, {"team": "a"}).written
    assert _vault_calls(emulator) == {"GetCertificate": 1, "UpdateCertificate": 1}

    emulator.reset_calls()
    changed = _push(provider, f"cert/{name}", second, {"team": "a"})
    assert changed.written and changed.remote_version != created.remote_version
    assert _vault_calls(emulator) == {"GetCertificate": 1, "ImportCertificate": 1}
    assert len(emulator.certificate_versions(name)) == 2


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"garbage", "could not parse certificate value as PKCS#12, DER or PEM"),
        (CERT_1.public_bytes(serialization.Encoding.DER), "DER certificate without"),
        (CERT_1.public_bytes(serialization.Encoding.PEM), "PEM without a private key"),
        (_pem_bundle(RSA_KEY_2, CERT_1), "matches none of its certificates"),
        (
            pkcs12.serialize_key_and_certificates(
                b"x", RSA_KEY, CERT_1, None, serialization.BestAvailableEncryption(b"pw")
            ),
            "could not parse",
        ),
    ],
)
def test_bad_cert_values_refused_before_any_call(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator, value: bytes, fragment: str
) -> None:
    emulator.reset_calls()
    err = _raises(lambda: _push(provider, "cert/c", value), value, _pem(RSA_KEY), _pem(RSA_KEY_2))
    assert err.reason == "InvalidValue" and fragment in err.message
    assert _vault_calls(emulator) == {}


def test_cert_ownership_delete_exists_soft_delete(
    provider: AzureKeyVaultProvider, emulator: AzureKeyVaultEmulator, certs: CertificateClient
) -> None:
    certs.import_certificate("bare", _p12(RSA_KEY, CERT_1))
    err = _raises(lambda: _push(provider, "cert/bare", _p12(RSA_KEY, CERT_1)), _pem(RSA_KEY))
    assert err.message == "certificate bare not managed by external-secrets"
    provider.delete(RemoteRef("cert/bare"))
    assert emulator.certificate_names() == ["bare"]

    value = _pem_bundle(EC_KEY, EC_CERT)
    assert not provider.exists(RemoteRef("cert/mine"))
    _push(provider, "cert/mine", value)
    assert provider.exists(RemoteRef("cert/mine"))
    provider.delete(RemoteRef("cert/mine"))
    assert emulator.certificate_names(deleted=True) == ["mine"]
    emulator.reset_calls()
    assert not _push(provider, "cert/mine", value).written  # recovered, unchanged
    assert emulator.calls["RecoverDeletedCertificate"] == 1
    emulator.fail_next("ImportCertificate", 503)
    err = _raises(lambda: _push(provider, "cert/mine", _p12(RSA_KEY, CERT_2)), _pem(RSA_KEY))
    assert err.retryable and err.reason == "Unavailable"
