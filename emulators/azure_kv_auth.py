"""TLS material and the token service of the Azure Key Vault emulator.

Two things the official SDKs need to run offline against a local vault:

* **TLS.** The Key Vault client refuses bearer tokens over plain HTTP, so the emulator serves
  HTTPS with a throw-away CA (``CA:TRUE``) and a leaf for ``DNS:localhost, IP:127.0.0.1``
  signed by it, both EC P-256, made with ``cryptography`` at start. Clients trust it with
  ``connection_verify=<ca_cert_path>``.
* **Tokens.** :class:`TokenService` plays Microsoft Entra ID for the client-credentials grant
  (client secret, certificate-signed client assertion, or a federated assertion as used by
  workload identity) and the App Service managed-identity endpoint. It issues opaque random
  access tokens bound to a resource (audience) and a client id, and the vault accepts only
  those, unexpired and for its resource.

Emulated Entra behaviour (wording *approx.*, AADSTS codes as the service uses them):
unknown client -> 400 ``unauthorized_client`` AADSTS700016; wrong secret -> 401
``invalid_client`` AADSTS7000215; a bad assertion (wrong audience, bad signature, unknown
certificate) -> 401 ``invalid_client`` AADSTS700027; an unknown tenant -> 400
``invalid_request`` AADSTS90002; a scope other than ``<resource>/.default`` -> 400
``invalid_scope`` AADSTS70011. Not emulated: signature checks of federated assertions (any
JWT whose ``aud`` is ``api://AzureADTokenExchange`` is accepted for a client registered as
federated), issuer/subject matching, refresh tokens, user flows, CAE claims challenges,
instance discovery (clients must disable it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "FEDERATED_AUDIENCE",
    "TOKEN_LIFETIME",
    "Grant",
    "OAuthError",
    "TokenService",
    "write_tls_material",
]

FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
TOKEN_LIFETIME = 3600
_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_SYSTEM_ASSIGNED = "system-assigned"


def write_tls_material(directory: Path) -> tuple[Path, Path, Path]:
    """Write ``ca.pem``, ``server.pem`` and ``server-key.pem`` into ``directory``; returns
    their paths. The leaf has SAN ``DNS:localhost, IP:127.0.0.1`` and is valid for a day."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Azure Key Vault emulator CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = directory / "ca.pem"
    cert_path = directory / "server.pem"
    key_path = directory / "server-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


class OAuthError(Exception):
    """An OAuth2 error response of the token endpoint (``{"error", "error_description"}``)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {
            "error": self.error,
            "error_description": self.description,
            "error_codes": [int(self.description[6:].split(":", 1)[0] or 0)],
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        }


@dataclass(frozen=True)
class Grant:
    """One issued token: who got it (``client_id``), how (``flow``) and for what resource."""

    client_id: str
    flow: str  # "client_secret" | "client_certificate" | "federated" | "managed_identity"
    resource: str
    expires_on: int


@dataclass
class _Client:
    secret: str | None = None
    certificate: x509.Certificate | None = None
    federated: bool = False


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """``(header, payload, signing input, signature)``; ValueError when not a JWS."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (binascii.Error, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError("malformed JWS") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise ValueError("malformed JWS")
    return header, payload, f"{parts[0]}.{parts[1]}".encode(), signature


def _verify_jws(cert: x509.Certificate, header: dict[str, Any], data: bytes, sig: bytes) -> bool:
    key = cert.public_key()
    alg = header.get("alg")
    try:
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256" and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(sig, data, pss, hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _audiences(payload: dict[str, Any]) -> list[str]:
    aud = payload.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []


class TokenService:
    """Registered clients, issued tokens and the two token endpoints' logic (no HTTP).

    Not thread-safe on its own: the emulator calls it under its lock.
    """

    def __init__(self, *, tenant_id: str, resource: str, identity_header: str) -> None:
        self.tenant_id = tenant_id
        self.resource = resource.rstrip("/")
        self.identity_header = identity_header
        self._clients: dict[str, _Client] = {}
        self._tokens: dict[str, Grant] = {}
        self.grants: list[Grant] = []

    def register_client(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate_pem: bytes | None = None,
        federated: bool = False,
    ) -> None:
        cert = x509.load_pem_x509_certificate(certificate_pem) if certificate_pem else None
        self._clients[client_id] = _Client(secret=secret, certificate=cert, federated=federated)

    def reset_tokens(self) -> None:
        """Forget issued tokens (clients must fetch new ones) and the grant log."""
        self._tokens.clear()
        self.grants.clear()

    def _issue(self, client_id: str, flow: str, resource: str) -> tuple[str, Grant]:
        token = secrets.token_urlsafe(32)
        grant = Grant(client_id, flow, resource, int(time.time()) + TOKEN_LIFETIME)
        self._tokens[token] = grant
        self.grants.append(grant)
        return token, grant

    def check(self, token: str) -> Grant | None:
        """The grant behind a bearer token the vault received, if it is valid for the vault."""
        grant = self._tokens.get(token)
        if grant is None or grant.expires_on <= time.time() or grant.resource != self.resource:
            return None
        return grant

    def openid_configuration(self, base: str, tenant: str) -> dict[str, Any]:
        self._check_tenant(tenant)
        root = f"{base}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/{tenant}/v2.0",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "WW",
        }

    def _check_tenant(self, tenant: str) -> None:
        if tenant.lower() not in (self.tenant_id.lower(), "organizations"):
            raise OAuthError(
                400,
                "invalid_request",
                f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the "
                "correct tenant ID and are signing into the correct cloud.",
            )

    def _resource_of(self, scope: str) -> str:
        scopes = scope.split()
        wanted = f"{self.resource}/.default"
        if len(scopes) != 1 or scopes[0].rstrip("/") not in (wanted, f"{self.resource}//.default"):
            raise OAuthError(
                400,
                "invalid_scope",
                f"AADSTS70011: The provided request must include a 'scope' input parameter. "
                f"The provided value for the input parameter 'scope' is not valid. The scope "
                f"{scope} is not valid.",
            )
        return self.resource

    def client_credentials(
        self, base: str, tenant: str, form: dict[str, str]
    ) -> tuple[dict[str, Any], Grant]:
        """``POST /{tenant}/oauth2/v2.0/token`` with ``grant_type=client_credentials``."""
        self._check_tenant(tenant)
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            )
        client_id = form.get("client_id", "")
        resource = self._resource_of(form.get("scope", ""))
        client = self._clients.get(client_id)
        if client is None:
            raise OAuthError(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                f"directory '{self.tenant_id}'.",
            )
        if "client_secret" in form:
            if client.secret is None or not secrets.compare_digest(
                form["client_secret"].encode(), client.secret.encode()
            ):
                raise OAuthError(
                    401,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                    f"in the request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{client_id}'.",
                )
            flow = "client_secret"
        elif form.get("client_assertion_type") == _JWT_BEARER and "client_assertion" in form:
            flow = self._check_assertion(
                client_id, client, form["client_assertion"], f"{base}/{tenant}"
            )
        else:
            raise OAuthError(
                401,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
            )
        token, grant = self._issue(client_id, flow, resource)
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": token,
        }, grant

    def _check_assertion(self, client_id: str, client: _Client, assertion: str, root: str) -> str:
        bad = OAuthError(
            401,
            "invalid_client",
            "AADSTS700027: The certificate with identifier used to sign the client assertion "
            f"is not registered on application {client_id}, or the assertion is invalid.",
        )
        try:
            header, payload, data, signature = _decode_jwt(assertion)
        except ValueError:
            raise bad from None
        audiences = _audiences(payload)
        if FEDERATED_AUDIENCE in audiences:
            if not client.federated:
                raise bad
            return "federated"
        token_endpoint = f"{root}/oauth2/v2.0/token"
        if (
            client.certificate is None
            or token_endpoint not in audiences
            or payload.get("iss") != client_id
            or payload.get("sub") != client_id
            or not isinstance(payload.get("exp"), int | float)
            or isinstance(payload["exp"], bool)
            or payload["exp"] < time.time()
            or not _verify_jws(client.certificate, header, data, signature)
        ):
            raise bad
        return "client_certificate"

    def managed_identity(
        self, query: dict[str, str], header: str | None
    ) -> tuple[dict[str, Any], Grant]:
        """App Service managed identity: ``GET ?api-version=2019-08-01&resource=...``."""
        if header is None or not secrets.compare_digest(
            header.encode(), self.identity_header.encode()
        ):
            raise OAuthError(401, "unauthorized", "AADSTS0: X-IDENTITY-HEADER missing or wrong.")
        if query.get("api-version") != "2019-08-01":
            raise OAuthError(400, "invalid_request", "AADSTS0: api-version 2019-08-01 required.")
        resource = query.get("resource", "").rstrip("/")
        if resource.endswith("/.default"):
            resource = resource.removesuffix("/.default")
        if resource != self.resource:
            raise OAuthError(400, "invalid_resource", f"AADSTS500011: Resource {resource} unknown.")
        client_id = query.get("client_id") or _SYSTEM_ASSIGNED
        token, grant = self._issue(client_id, "managed_identity", resource)
        return {
            "access_token": token,
            "expires_on": str(grant.expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }, grant
