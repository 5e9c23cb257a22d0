"""ESO's ``cert/<name>`` push to Azure Key Vault, on the official ``CertificateClient``.

Calls per push of ``cert/<n>`` (after the once-per-host challenge):

* new: ``GET /certificates/{n}/`` (404) -> ``POST /certificates/{n}/import``.
* unchanged (same leaf certificate, same tags): ``GET`` only.
* same certificate, tags changed: ``GET`` -> ``PATCH /certificates/{n}/{version}``.
* certificate changed: ``GET`` -> ``POST .../import`` (a new version).
* deleted-but-recoverable name: as for keys (:mod:`pushsecret.providers.azure_keys`), on
  ``/deletedcertificates/{n}``.

The value is detected as ESO's ``getCertificateFromValue`` does, in its order: PKCS#12
without a password (``cryptography`` reads single certificates and chains alike), DER, then
PEM. What is imported, and how it is compared:

* PKCS#12: the original bytes, no policy (ESO's request; the service's default content type
  is PKCS#12). It must contain the private key (the service requires one).
* PEM: the original bytes with a policy whose content type is ``application/x-pem-file``;
  the PEM must contain the private key (``PRIVATE KEY``/``RSA PRIVATE KEY``/``EC PRIVATE
  KEY``) and the certificate(s).
* The leaf is the certificate whose public key matches the private key (what the service
  stores as ``cer``); no re-import when its DER equals the current version's ``cer`` (ESO
  compares sha3-512 digests of the same bytes).
* Tags: ``managed-by: external-secrets`` plus the metadata tags, compared and updated in
  place when only they differ (ESO never compares them).

Deliberate differences from ESO:

1. PEM is sent with the PEM content type (ESO sends it as if PKCS#12, which the service
   rejects on every reconcile); DER and PEM without a private key, and password-protected
   PKCS#12, are refused before any call with a clear message (ESO's import fails remotely).
2. Tag-less existing certificates are refused like any unmanaged one (ESO's new-SDK path lets
   them through); ``property`` is refused.
3. Tags are compared (see above); soft-deleted names follow ``on_soft_deleted``.

No error message contains certificate or key material: parse failures name the format only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from azure.core.polling import LROPoller
from azure.keyvault.certificates import (
    CertificateClient,
    CertificateContentType,
    CertificatePolicy,
    KeyVaultCertificate,
)
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from pushsecret.providers.azure_keys import VaultObjects
from pushsecret.providers.base import ProviderError, PushResult

__all__ = ["CertificateMaterial", "CertificateObjects", "certificate_from_value"]

log = logging.getLogger(__name__)

_NOT_A_CERT = (
    "value from secret is not a valid certificate: could not parse certificate value as "
    "PKCS#12, DER or PEM"
)
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_KEY_BLOCKS = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY")


def _final(message: str, reason: str = "InvalidValue") -> ProviderError:
    return ProviderError(message, retryable=False, reason=reason)


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@dataclass(frozen=True)
class CertificateMaterial:
    """What to import. ``data`` holds the private key: never log it. ``leaf_der`` is the
    certificate the vault will store as ``cer`` (public)."""

    data: bytes
    pem: bool
    leaf_der: bytes

    def __repr__(self) -> str:
        return f"CertificateMaterial(pem={self.pem}, leaf_der=<{len(self.leaf_der)} bytes>)"


def _leaf(name: str, key: Any, certs: list[x509.Certificate]) -> bytes:
    wanted = _spki(key.public_key())
    for cert in certs:
        if _spki(cert.public_key()) == wanted:
            return cert.public_bytes(serialization.Encoding.DER)
    raise _final(f"value for certificate {name}: the private key matches none of its certificates")


def certificate_from_value(name: str, value: bytes) -> CertificateMaterial:
    """Detect and check ESO's ``cert/`` value (see the module doc). Pure; raises a final
    ProviderError (``InvalidValue``) without quoting the value."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(value, None)
    except (ValueError, TypeError):
        pass
    else:
        if cert is None or key is None:
            raise _final(
                f"value for certificate {name} is a PKCS#12 file without a "
                f"{'certificate' if cert is None else 'private key'}; Azure Key Vault imports "
                "a certificate with its private key"
            )
        return CertificateMaterial(value, False, _leaf(name, key, [cert, *extra]))
    try:
        x509.load_der_x509_certificate(value)
    except ValueError:
        pass
    else:
        raise _final(
            f"value for certificate {name} is a DER certificate without its private key; "
            "push PKCS#12 or PEM (certificate and private key) instead"
        )
    blocks = [(m.group(1), m.group(0)) for m in _PEM_RE.finditer(value)]
    certs: list[x509.Certificate] = []
    for kind, block in blocks:
        if kind == b"CERTIFICATE":
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue  # ESO skips blocks that do not parse
    if not certs:
        raise _final(_NOT_A_CERT)
    keys = [block for kind, block in blocks if kind in _KEY_BLOCKS]
    if not keys:
        raise _final(
            f"value for certificate {name} is PEM without a private key; Azure Key Vault "
            "imports a certificate with its (unencrypted) private key"
        )
    try:
        key = serialization.load_pem_private_key(keys[0], password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _final(
            f"value for certificate {name}: the private key does not load ({type(exc).__name__})"
        ) from None
    return CertificateMaterial(value, True, _leaf(name, key, certs))


class CertificateObjects(VaultObjects[KeyVaultCertificate]):
    """``cert/<name>``: see the module doc. Thread-safe (the SDK client is; the provider
    serialises pushes to one name)."""

    noun = "certificate"
    title = "Certificate"
    collection = "certificates"

    def __init__(self, client: CertificateClient, **kwargs: Any) -> None:
        super().__init__(client.vault_url, **kwargs)
        self._client = client

    def _sdk_get(self, name: str) -> KeyVaultCertificate:
        return self._client.get_certificate(name)

    def _sdk_tags(self, obj: KeyVaultCertificate) -> dict[str, str] | None:
        return obj.properties.tags if obj.properties is not None else None

    def _sdk_deleted_tags(self, name: str) -> dict[str, str] | None:
        return self._sdk_tags(self._client.get_deleted_certificate(name))

    def _sdk_begin_recover(self, name: str) -> LROPoller[Any]:
        return self._client.begin_recover_deleted_certificate(name)

    def _sdk_purge(self, name: str) -> None:
        self._client.purge_deleted_certificate(name)

    def _sdk_begin_delete(self, name: str) -> LROPoller[Any]:
        return self._client.begin_delete_certificate(name)

    def push(
        self, name: str, value: bytes, tags: dict[str, str], protect: list[bytes]
    ) -> PushResult:
        """Import ``value`` (see the module doc) unless the current version holds that leaf
        certificate with ``tags``. Idempotent. Final: bad value (``InvalidValue``, before any
        call), ``NotManaged``, soft-delete refusals; retryable: as :mod:`azure_errors`."""
        material = certificate_from_value(name, value)
        current = self.current(name, protect)
        if current is None:
            created = self.create(
                name, lambda: self._import(name, material, tags, protect), protect
            )
            if created is not None:
                return created
            current = self.recovered(name, protect)
        self.check_managed(name, current)
        version = current.properties.version if current.properties is not None else None
        if bytes(current.cer or b"") != material.leaf_der:
            return self._import(name, material, tags, protect)
        if (self._sdk_tags(current) or {}) == tags:
            return PushResult(written=False, remote_version=version)
        # Same certificate, other tags: update the current version in place.
        self.call(
            "UpdateCertificate",
            name,
            lambda: self._client.update_certificate_properties(name, version or "", tags=tags),
            protect,
        )
        return PushResult(written=True, remote_version=version)

    def _import(
        self, name: str, material: CertificateMaterial, tags: dict[str, str], protect: list[bytes]
    ) -> PushResult:
        policy = (
            CertificatePolicy(content_type=CertificateContentType.pem) if material.pem else None
        )
        result = self.call(
            "ImportCertificate",
            name,
            lambda: self._client.import_certificate(name, material.data, tags=tags, policy=policy),
            protect,
        )
        version = result.properties.version if result.properties is not None else None
        log.debug("imported version %s of %s", version, self.resource(name))
        return PushResult(written=True, remote_version=version)
