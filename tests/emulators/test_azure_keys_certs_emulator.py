"""The emulator's keys and certificates, driven by the official ``KeyClient`` and
``CertificateClient``: import, read, public-only JWKs, tags, versions, soft delete with
recover and purge, the 409 for a deleted name, 404 wording, validation and fault injection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.certificates import (
    CertificateClient,
    CertificateContentType,
    CertificatePolicy,
)
from azure.keyvault.keys import JsonWebKey, KeyClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from emulators.azure_key_vault import AzureKeyVaultEmulator

APP_ID = "11111111-aaaa-4bbb-8ccc-000000000002"
APP_SECRET = "keys-app-secret"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _uint(value: int, length: int = 0) -> bytes:
    return value.to_bytes(length or (value.bit_length() + 7) // 8, "big")


def rsa_jwk(key: rsa.RSAPrivateKey) -> JsonWebKey:
    p = key.private_numbers()
    return JsonWebKey(
        kty="RSA",
        n=_uint(p.public_numbers.n),
        e=_uint(p.public_numbers.e),
        d=_uint(p.d),
        p=_uint(p.p),
        q=_uint(p.q),
        dp=_uint(p.dmp1),
        dq=_uint(p.dmq1),
        qi=_uint(p.iqmp),
    )


def ec_jwk(key: ec.EllipticCurvePrivateKey) -> JsonWebKey:
    p = key.private_numbers()
    return JsonWebKey(
        kty="EC",
        crv="P-256",
        x=_uint(p.public_numbers.x, 32),
        y=_uint(p.public_numbers.y, 32),
        d=_uint(p.private_value, 32),
    )


def make_cert(key: Any, cn: str = "leaf") -> x509.Certificate:
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


def p12(key: Any, cert: x509.Certificate) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"x", key, cert, None, serialization.NoEncryption()
    )


def pem(key: Any, cert: x509.Certificate) -> bytes:
    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    ) + cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def emulator() -> Iterator[AzureKeyVaultEmulator]:
    with AzureKeyVaultEmulator() as emu:
        emu.register_client(APP_ID, secret=APP_SECRET)
        yield emu


def _cred(emu: AzureKeyVaultEmulator) -> ClientSecretCredential:
    return ClientSecretCredential(
        emu.tenant_id,
        APP_ID,
        APP_SECRET,
        authority=emu.authority_url,
        disable_instance_discovery=True,
        connection_verify=emu.ca_cert_path,
    )


@pytest.fixture(scope="module")
def keys(emulator: AzureKeyVaultEmulator) -> Iterator[KeyClient]:
    with KeyClient(
        emulator.vault_url,
        _cred(emulator),
        verify_challenge_resource=False,
        connection_verify=emulator.ca_cert_path,
        retry_total=0,
    ) as cli:
        yield cli


@pytest.fixture(scope="module")
def certs(emulator: AzureKeyVaultEmulator) -> Iterator[CertificateClient]:
    with CertificateClient(
        emulator.vault_url,
        _cred(emulator),
        verify_challenge_resource=False,
        connection_verify=emulator.ca_cert_path,
        retry_total=0,
    ) as cli:
        yield cli


@pytest.fixture(autouse=True)
def _clean(emulator: AzureKeyVaultEmulator) -> None:
    emulator.reset()


# ---- keys ------------------------------------------------------------------------------------


def test_import_rsa_returns_public_jwk_only(
    keys: KeyClient, emulator: AzureKeyVaultEmulator
) -> None:
    key = keys.import_key("rsa-1", rsa_jwk(RSA_KEY), tags={"managed-by": "external-secrets"})
    assert key.key_type == "RSA" and key.properties.tags == {"managed-by": "external-secrets"}
    assert vars(key.key)["n"] == _uint(RSA_KEY.public_key().public_numbers().n)
    for private in ("d", "p", "q", "dp", "dq", "qi"):
        assert getattr(key.key, private) is None
    assert key.id == f"{emulator.vault_url}/keys/rsa-1/{key.properties.version}"
    assert set(key.key_operations) >= {"sign", "verify", "encrypt"}
    got = keys.get_key("RSA-1")  # names are case-insensitive
    assert (
        got.properties.version == key.properties.version
        and vars(got.key)["e"] == vars(key.key)["e"]
    )
    assert keys.get_key("rsa-1", key.properties.version).id == key.id
    stored = emulator.key_versions("rsa-1")
    assert len(stored) == 1 and "d" not in stored[0]["key"]


def test_import_ec_new_versions_and_update(keys: KeyClient) -> None:
    first = keys.import_key("ec-1", ec_jwk(EC_KEY))
    second = keys.import_key("ec-1", ec_jwk(EC_KEY), hardware_protected=True)
    assert first.properties.version != second.properties.version
    assert second.key_type == "EC-HSM" and vars(second.key)["crv"] == "P-256"
    assert keys.get_key("ec-1").properties.version == second.properties.version
    assert len(list(keys.list_properties_of_key_versions("ec-1"))) == 2
    updated = keys.update_key_properties("ec-1", second.properties.version, tags={"a": "b"})
    assert updated.properties.tags == {"a": "b"}
    assert keys.get_key("ec-1").properties.version == second.properties.version


def test_key_not_found_wording(keys: KeyClient) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        keys.get_key("missing")
    assert info.value.error is not None and info.value.error.code == "KeyNotFound"
    assert "A key with (name/id) missing was not found in this key vault" in str(info.value)
    with pytest.raises(ResourceNotFoundError) as info:
        keys.get_deleted_key("missing")
    assert "Deleted Key not found: missing" in str(info.value)


def test_key_soft_delete_recover_purge(keys: KeyClient, emulator: AzureKeyVaultEmulator) -> None:
    keys.import_key("gone", rsa_jwk(RSA_KEY), tags={"t": "1"})
    deleted = keys.begin_delete_key("gone", _polling_interval=0).result()
    assert deleted.recovery_id == f"{emulator.vault_url}/deletedkeys/gone"
    assert deleted.properties.tags == {"t": "1"}
    with pytest.raises(ResourceNotFoundError):
        keys.get_key("gone")
    with pytest.raises(ResourceExistsError) as info:
        keys.import_key("gone", rsa_jwk(RSA_KEY))
    assert info.value.error is not None
    assert info.value.error.innererror == {"code": "ObjectIsDeletedButRecoverable"}
    keys.begin_recover_deleted_key("gone", _polling_interval=0).wait()
    assert keys.get_key("gone").properties.tags == {"t": "1"}
    keys.begin_delete_key("gone", _polling_interval=0).wait()
    keys.purge_deleted_key("gone")
    assert emulator.key_names() == [] and emulator.key_names(deleted=True) == []


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda j: setattr(j, "d", b"\x01" * 256), "invalid"),
        (lambda j: setattr(j, "qi", None), "'qi' is required"),
        (lambda j: setattr(j, "kty", "oct"), "not supported"),
    ],
)
def test_import_rejects_bad_jwks(keys: KeyClient, mutate: Any, fragment: str) -> None:
    jwk = rsa_jwk(RSA_KEY)
    mutate(jwk)
    with pytest.raises(HttpResponseError) as info:
        keys.import_key("bad", jwk)
    assert info.value.status_code == 400 and fragment in str(info.value)


def test_key_bad_name_and_faults(keys: KeyClient, emulator: AzureKeyVaultEmulator) -> None:
    with pytest.raises(HttpResponseError) as info:
        keys.get_key("bad_name")
    assert info.value.status_code == 400
    emulator.fail_next("ImportKey", 503)
    emulator.reset_calls()
    with pytest.raises(HttpResponseError) as info:
        keys.import_key("k", rsa_jwk(RSA_KEY))
    assert info.value.status_code == 503 and emulator.calls["ImportKey"] == 1
    assert emulator.key_names() == []


# ---- certificates ----------------------------------------------------------------------------


def test_import_pkcs12(certs: CertificateClient, emulator: AzureKeyVaultEmulator) -> None:
    cert = make_cert(RSA_KEY)
    der = cert.public_bytes(serialization.Encoding.DER)
    got = certs.import_certificate(
        "c1", p12(RSA_KEY, cert), tags={"managed-by": "external-secrets"}
    )
    assert bytes(got.cer or b"") == der
    assert got.properties is not None
    assert got.properties.x509_thumbprint == cert.fingerprint(hashes.SHA1())
    assert got.properties.tags == {"managed-by": "external-secrets"}
    assert got.properties.expires_on is not None
    assert got.key_id == f"{emulator.vault_url}/keys/c1/{got.properties.version}"
    again = certs.get_certificate("c1")
    assert again.properties is not None and again.properties.version == got.properties.version
    assert again.policy is not None and again.policy.content_type == CertificateContentType.pkcs12
    assert certs.get_certificate_version("c1", got.properties.version or "").cer == got.cer


def test_import_pem_needs_pem_policy(certs: CertificateClient) -> None:
    cert = make_cert(EC_KEY)
    data = pem(EC_KEY, cert)
    with pytest.raises(HttpResponseError) as info:
        certs.import_certificate("c2", data)  # read as PKCS#12, like the service
    assert info.value.status_code == 400
    got = certs.import_certificate(
        "c2", data, policy=CertificatePolicy(content_type=CertificateContentType.pem)
    )
    assert bytes(got.cer or b"") == cert.public_bytes(serialization.Encoding.DER)


def test_import_without_private_key_fails(certs: CertificateClient) -> None:
    cert = make_cert(RSA_KEY)
    with pytest.raises(HttpResponseError) as info:
        certs.import_certificate(
            "c3",
            cert.public_bytes(serialization.Encoding.PEM),
            policy=CertificatePolicy(content_type=CertificateContentType.pem),
        )
    assert "Private key is not specified" in str(info.value)


def test_certificate_soft_delete_and_wording(
    certs: CertificateClient, emulator: AzureKeyVaultEmulator
) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        certs.get_certificate("nope")
    assert info.value.error is not None and info.value.error.code == "CertificateNotFound"
    cert = make_cert(RSA_KEY)
    certs.import_certificate("c4", p12(RSA_KEY, cert))
    deleted = certs.begin_delete_certificate("c4", _polling_interval=0).result()
    assert deleted.recovery_id == f"{emulator.vault_url}/deletedcertificates/c4"
    with pytest.raises(ResourceExistsError):
        certs.import_certificate("c4", p12(RSA_KEY, cert))
    certs.begin_recover_deleted_certificate("c4", _polling_interval=0).wait()
    assert certs.get_certificate("c4").cer is not None
    certs.begin_delete_certificate("c4", _polling_interval=0).wait()
    certs.purge_deleted_certificate("c4")
    assert emulator.certificate_names(deleted=True) == []
    with pytest.raises(ResourceNotFoundError) as info:
        certs.get_deleted_certificate("c4")
    assert "Deleted Certificate not found: c4" in str(info.value)


def test_certificate_update_tags_and_fault(
    certs: CertificateClient, emulator: AzureKeyVaultEmulator
) -> None:
    got = certs.import_certificate("c5", p12(EC_KEY, make_cert(EC_KEY)))
    assert got.properties is not None
    updated = certs.update_certificate_properties(
        "c5", got.properties.version or "", tags={"x": "y"}
    )
    assert updated.properties is not None and updated.properties.tags == {"x": "y"}
    emulator.fail_next("GetCertificate", 429, retry_after=0)
    with pytest.raises(HttpResponseError) as info:
        certs.get_certificate("c5")
    assert info.value.status_code == 429
