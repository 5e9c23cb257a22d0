"""Certificates of the Azure Key Vault emulator (import, read, update, soft delete).

Same shape as :mod:`emulators.azure_kv_keys` (whose :class:`ObjectStore` holds the versions
and the deleted collection). Rules reproduced (wording *approx.* unless noted):

* ``POST /certificates/{name}/import`` takes ``{"value": base64, "pwd"?, "policy"?,
  "attributes"?, "tags"?}``. ``value`` is PKCS#12 (the default) or, when
  ``policy.secret_props.contentType`` is ``application/x-pem-file``, PEM text with the
  private key and the certificate(s). Either must hold a private key matching one
  certificate (the leaf). Without the PEM content type, PEM bytes fail as unreadable PKCS#12,
  as on the service.
* The CertificateBundle has ``id``, ``kid``, ``sid``, ``x5t`` (base64url SHA-1 of the DER),
  ``cer`` (base64 DER of the leaf), ``attributes`` (``nbf``/``exp`` from the certificate's
  validity), ``tags`` and a ``policy`` (key/secret/x509 properties derived from the import,
  issuer ``Unknown``). Private material is never returned or kept.
* ``GET /certificates/{name}/[{version}]``, ``GET /certificates/{name}/policy``, ``PATCH
  /certificates/{name}/{version}`` (tags, enabled), ``DELETE /certificates/{name}``, and
  ``GET``/``DELETE``/``POST .../recover`` on ``/deletedcertificates/{name}``; 404
  ``CertificateNotFound`` (``A certificate with (name/id) X was not found in this key vault.
  ...``, ``Deleted Certificate not found: X``); 409 ``ObjectIsDeletedButRecoverable``.

Not emulated: the key and secret the service creates alongside every certificate (and the
name clashes they cause with ``/keys`` and ``/secrets``), create/merge/pending operations,
issuers, contacts, lifetime actions, backup/restore, list APIs other than versions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from emulators.azure_kv_keys import (
    Kind,
    ObjectStore,
    StoredObject,
    StoredVersion,
    b64url,
    check_attributes,
    check_tags,
)
from emulators.azure_kv_state import KvError, bad_parameter, validate_name

__all__ = ["CERT_OPERATIONS", "CERT_ROUTES", "PEM_CONTENT_TYPE", "PKCS12_CONTENT_TYPE", "CertState"]

PKCS12_CONTENT_TYPE = "application/x-pkcs12"
PEM_CONTENT_TYPE = "application/x-pem-file"

# Order matters: the literal tails before "{version}".
CERT_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/certificates/{name}/import", "ImportCertificate"),
    ("GET", "/certificates/{name}/versions", "ListCertificateVersions"),
    ("GET", "/certificates/{name}/policy", "GetCertificatePolicy"),
    ("GET", "/certificates/{name}", "GetCertificate"),
    ("GET", "/certificates/{name}/{version}", "GetCertificate"),
    ("PATCH", "/certificates/{name}/{version}", "UpdateCertificate"),
    ("DELETE", "/certificates/{name}", "DeleteCertificate"),
    ("GET", "/deletedcertificates/{name}", "GetDeletedCertificate"),
    ("DELETE", "/deletedcertificates/{name}", "PurgeDeletedCertificate"),
    ("POST", "/deletedcertificates/{name}/recover", "RecoverDeletedCertificate"),
)
CERT_OPERATIONS = frozenset(op for _, _, op in CERT_ROUTES)

_PEM_KEY_RE = re.compile(
    rb"-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----.+?-----END (?:RSA |EC |ENCRYPTED )?"
    rb"PRIVATE KEY-----",
    re.DOTALL,
)


def _invalid(message: str) -> KvError:
    return bad_parameter(message)


def _public_der(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _parse(
    data: bytes, content_type: str, password: str | None
) -> tuple[Any, list[x509.Certificate]]:
    """The private key and certificates of an import ``value``; 400 when unusable."""
    if content_type == PEM_CONTENT_TYPE:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError:
            raise _invalid(
                "The specified PEM X.509 certificate content is in an unexpected format. "
                "Please check if certificate is in valid PEM format."
            ) from None
        found = _PEM_KEY_RE.search(data)
        if found is None:
            raise _invalid(
                "Private key is not specified in the specified X.509 PEM certificate content. "
                "Please specify private key in the X.509 PEM certificate content."
            )
        try:
            key = serialization.load_pem_private_key(
                found.group(0), password.encode() if password else None
            )
        except (ValueError, TypeError):
            raise _invalid("The specified PEM private key could not be read.") from None
        return key, certs
    if content_type != PKCS12_CONTENT_TYPE:
        raise _invalid("Property policy.secret_props.contentType has invalid value")
    try:
        p12_key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError:
        raise _invalid(
            "The specified PKCS#12 X.509 certificate content can not be read. Please check if "
            "certificate is in valid PKCS#12 format."
        ) from None
    if p12_key is None or cert is None:
        raise _invalid(
            "Private key is not specified in the specified X.509 PKCS#12 certificate content."
        )
    return p12_key, [cert, *extra]


class CertState(ObjectStore):
    """Certificates of one vault (see the module docstring)."""

    KIND = Kind(
        "certificates", "deletedcertificates", "certificate", "Certificate", "CertificateNotFound"
    )

    def __init__(
        self, base: str, *, soft_delete: bool = True, purge_protection: bool = False
    ) -> None:
        super().__init__(
            base, self.KIND, soft_delete=soft_delete, purge_protection=purge_protection
        )

    # ---- rendering ------------------------------------------------------------------------

    def _policy(self, record: StoredObject, v: StoredVersion) -> dict[str, Any]:
        return {
            "id": f"{self.base}/certificates/{record.name}/policy",
            **v.data["policy"],
            "attributes": {"enabled": True, "created": v.created, "updated": v.updated},
        }

    def _bundle(
        self, record: StoredObject, v: StoredVersion, *, policy: bool = True
    ) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "id": self.ident(record, v),
            "kid": self.ident(record, v, "keys"),
            "sid": self.ident(record, v, "secrets"),
            "x5t": v.data["x5t"],
            "cer": v.data["cer"],
            "contentType": v.data["policy"]["secret_props"]["contentType"],
            "attributes": self.attributes(v),
        }
        if policy:
            bundle["policy"] = self._policy(record, v)
        if v.tags is not None:
            bundle["tags"] = dict(v.tags)
        return bundle

    def _deleted_bundle(self, record: StoredObject) -> dict[str, Any]:
        return {**self._bundle(record, record.latest), **self.deleted_fields(record)}

    # ---- operations -----------------------------------------------------------------------

    def import_certificate(self, name: str, body: Any) -> dict[str, Any]:
        """POST /certificates/{name}/import: a new version from PKCS#12 or PEM."""
        validate_name(name)
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise bad_parameter("Property value is required.")
        try:
            data = base64.b64decode(body["value"], validate=True)
        except (binascii.Error, ValueError):
            raise bad_parameter("Property value has invalid value") from None
        password = body.get("pwd")
        if password is not None and not isinstance(password, str):
            raise bad_parameter("Property pwd has invalid value")
        policy_in = body.get("policy") or {}
        if not isinstance(policy_in, dict):
            raise bad_parameter("Property policy has invalid value")
        secret_props = policy_in.get("secret_props") or {}
        content_type = (
            secret_props.get("contentType") if isinstance(secret_props, dict) else None
        ) or PKCS12_CONTENT_TYPE
        tags = check_tags(body.get("tags"))
        attrs = check_attributes(body)
        key, certs = _parse(data, content_type, password)
        key_der = _public_der(key.public_key())
        leaf = next((c for c in certs if _public_der(c.public_key()) == key_der), None)
        if leaf is None:
            raise _invalid("The private key does not match the public key of the certificate.")
        der = leaf.public_bytes(serialization.Encoding.DER)
        key_props: dict[str, Any] = {"exportable": True, "reuse_key": False}
        if isinstance(key, rsa.RSAPrivateKey):
            key_props.update(kty="RSA", key_size=key.key_size)
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            curve = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
            key_props.update(kty="EC", crv=curve.get(key.curve.name, key.curve.name))
        else:
            raise _invalid("The specified certificate key type is not supported.")
        stored = {
            "cer": base64.b64encode(der).decode(),
            "x5t": b64url(hashlib.sha1(der, usedforsecurity=False).digest()),
            "policy": {
                "key_props": key_props,
                "secret_props": {"contentType": content_type},
                "x509_props": {"subject": leaf.subject.rfc4514_string()},
                "issuer": {"name": "Unknown"},
            },
        }
        version_attrs = {
            **attrs,
            "nbf": int(leaf.not_valid_before_utc.timestamp()),
            "exp": int(leaf.not_valid_after_utc.timestamp()),
        }
        record, version = self.new_version(name, stored, tags, version_attrs)
        return self._bundle(record, version)

    def list_versions(self, name: str) -> dict[str, Any]:
        record = self.active(name)
        items = [
            {
                "id": self.ident(record, v),
                "x5t": v.data["x5t"],
                "attributes": self.attributes(v),
                **({"tags": dict(v.tags)} if v.tags is not None else {}),
            }
            for v in record.versions.values()
        ]
        return {"value": items, "nextLink": None}

    def dispatch(self, op: str, params: dict[str, str], body: Any) -> dict[str, Any] | None:
        """Run one operation of :data:`CERT_OPERATIONS`; None means 204 No Content."""
        name, version = params.get("name", ""), params.get("version", "")
        if op == "ImportCertificate":
            return self.import_certificate(name, body)
        if op == "GetCertificate":
            # The versionless GET includes the policy; a versioned one does not (service).
            record, found = self.find(name, version)
            return self._bundle(record, found, policy=not version)
        if op == "GetCertificatePolicy":
            record = self.active(name)
            return self._policy(record, record.latest)
        if op == "UpdateCertificate":
            record, found = self.update(name, version, body)
            return self._bundle(record, found)
        if op == "ListCertificateVersions":
            return self.list_versions(name)
        if op == "DeleteCertificate":
            record, soft = self.delete(name)
            if soft:
                return self._deleted_bundle(record)
            return self._bundle(record, record.latest)
        if op == "GetDeletedCertificate":
            return self._deleted_bundle(self.deleted(name))
        if op == "PurgeDeletedCertificate":
            self.purge(name)
            return None
        if op == "RecoverDeletedCertificate":
            record = self.recover(name)
            return self._bundle(record, record.latest)
        raise KeyError(op)

    def certificate_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of certificate ``name`` (active or deleted), oldest first."""
        record = self.records(name)
        if record is None:
            return []
        return [self._bundle(record, v) for v in record.versions.values()]
