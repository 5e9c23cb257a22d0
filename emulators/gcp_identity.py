"""Google STS and IAM Credentials emulator for GKE Workload Identity (tests and local stack).

One HTTPS server (a throw-away CA and leaf from :func:`emulators.azure_kv_auth.
write_tls_material`; clients trust ``ca_cert_path``) plays three parts:

* **Kubernetes TokenRequest** (in-process, no HTTP): :meth:`GCPIdentityEmulator.mint_ksa_token`
  issues a JWT-shaped token for ``system:serviceaccount:<ns>:<name>`` with the given
  audiences. Tests hand it to the code under test as its ``token_source``.
* **STS** ``POST /v1/token`` (RFC 8693, form-encoded as google-auth sends it; JSON is accepted
  too, as ESO's ``identitybindingtoken`` client sends it): ``grant_type`` must be
  token-exchange, ``subject_token_type`` JWT, ``requested_token_type`` (when given) access
  token, ``audience`` exactly ``identitynamespace:<project>.svc.id.goog:<cluster provider>``,
  and the subject token one we minted (or, with ``accept_foreign_subjects``, any JWT-shaped
  token, e.g. from the Kubernetes emulator's TokenRequest), unexpired, whose ``aud`` holds the
  pool. Issues an
  opaque federated token for ``<project>.svc.id.goog[<ns>/<name>]``. Errors are OAuth JSON:
  400 ``unsupported_grant_type`` / ``invalid_request`` / ``invalid_target`` / ``invalid_grant``.
* **IAM Credentials** ``POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken``:
  needs ``Authorization: Bearer <federated token>``, unexpired (401 UNAUTHENTICATED), a GSA
  registered with :meth:`allow_impersonation` for that KSA (403 PERMISSION_DENIED, as Google
  answers for both "no such account" and "no roles/iam.workloadIdentityUser") and a non-empty
  ``scope`` (400 INVALID_ARGUMENT). Returns ``accessToken`` and ``expireTime``
  (``%Y-%m-%dT%H:%M:%SZ``). Errors are Google API JSON ``{"error": {code, message, status}}``.

Every successful exchange is recorded as a :class:`Grant`; :meth:`fail_next` queues canned
error answers per service (fault injection). Not emulated: JWT signatures and issuers,
``lifetime`` limits, delegates, ``sts/v1/introspect``, the legacy securetoken URL path.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from emulators.azure_kv_auth import write_tls_material

__all__ = ["GCPIdentityEmulator", "Grant"]

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_LIFETIME = 3600
_GENERATE = re.compile(r"^/v1/projects/-/serviceAccounts/([^/:]+):generateAccessToken$")


@dataclass(frozen=True)
class Grant:
    """One issued token: ``kind`` is ``sts`` or ``iam``; ``principal`` is the KSA principal
    (``<pool>[ns/name]``); ``service_account`` the impersonated GSA (``iam`` only)."""

    kind: str
    principal: str
    audience: str
    scopes: tuple[str, ...]
    token: str
    service_account: str | None = None


@dataclass(frozen=True)
class _Federated:
    principal: str
    expires: float


class _Error(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _oauth_error(error: str, description: str) -> _Error:
    return _Error(400, {"error": error, "error_description": description})


def _google_error(code: int, status: str, message: str) -> _Error:
    return _Error(code, {"error": {"code": code, "message": message, "status": status}})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class GCPIdentityEmulator:
    """STS + IAM Credentials for one GKE cluster (``project_id``, ``cluster_location``,
    ``cluster_name``). Thread-safe; use as a context manager or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        project_id: str = "demo-project",
        cluster_location: str = "europe-west1",
        cluster_name: str = "demo-cluster",
        cert_dir: str | Path | None = None,
        accept_foreign_subjects: bool = False,
    ) -> None:
        self.project_id = project_id
        self._accept_foreign = accept_foreign_subjects
        self.pool = f"{project_id}.svc.id.goog"
        self.audience = (
            f"identitynamespace:{self.pool}:https://container.googleapis.com/v1/projects/"
            f"{project_id}/locations/{cluster_location}/clusters/{cluster_name}"
        )
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()
        self._ksa_tokens: dict[str, float] = {}  # minted subject tokens -> expiry
        self._federated: dict[str, _Federated] = {}
        self._bindings: dict[str, set[str]] = {}  # GSA email -> KSA principals
        self._faults: dict[str, deque[tuple[int, dict[str, Any]]]] = {
            "sts": deque(),
            "iam": deque(),
        }
        self._grants: list[Grant] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._ca_path: Path | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve HTTPS on ``host:port`` (0: a free port); returns ``https://host:PORT``."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        if self._cert_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="gcp-identity-emulator-")
            directory = Path(self._tmp.name)
        else:
            directory = self._cert_dir
        ca_path, cert_path, key_path = write_tls_material(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        server = ThreadingHTTPServer((host, port), _handler_for(self))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server, self._ca_path = server, ca_path
        url_host = f"[{host}]" if ":" in host else host
        self._url = f"https://{url_host}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever, name="gcp-identity-emulator", daemon=True
        )
        self._thread.start()
        return self._url

    def stop(self) -> None:
        """Stop serving and remove a temporary cert dir. Idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL for both STS and IAM Credentials; raises when not started."""
        if self._url is None:
            raise RuntimeError("emulator not started")
        return self._url

    @property
    def ca_cert_path(self) -> str:
        """The CA certificate (PEM) that signed the server certificate."""
        if self._ca_path is None:
            raise RuntimeError("emulator not started")
        return str(self._ca_path)

    # ---- setup and inspection ---------------------------------------------------------------

    def mint_ksa_token(
        self, namespace: str, name: str, audiences: list[str], lifetime: int = 900
    ) -> str:
        """A Kubernetes-like ServiceAccount token (unsigned JWT shape) STS will accept."""
        now = int(time.time())
        payload = {
            "iss": "https://kubernetes.default.svc",
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "aud": list(audiences),
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(8),
        }
        header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload).encode())
        token = f"{header}.{body}.{_b64(secrets.token_bytes(32))}"
        with self._lock:
            self._ksa_tokens[token] = float(now + lifetime)
        return token

    def allow_impersonation(self, gsa_email: str, namespace: str, name: str) -> None:
        """Grant ``roles/iam.workloadIdentityUser`` on ``gsa_email`` to the KSA."""
        with self._lock:
            self._bindings.setdefault(gsa_email, set()).add(f"{self.pool}[{namespace}/{name}]")

    def fail_next(
        self, service: str, status: int, body: dict[str, Any] | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests to ``service`` (``sts``/``iam``) with ``status``
        and ``body`` (default: a generic error in that service's format)."""
        if body is None:
            body = (
                {"error": "temporarily_unavailable", "error_description": "injected"}
                if service == "sts"
                else {"error": {"code": status, "message": "injected", "status": "UNAVAILABLE"}}
            )
        with self._lock:
            for _ in range(times):
                self._faults[service].append((status, body))

    @property
    def grants(self) -> list[Grant]:
        """Every successful exchange, oldest first."""
        with self._lock:
            return list(self._grants)

    def expire_tokens(self) -> None:
        """Make every federated token issued so far expired (tests of 401 handling)."""
        with self._lock:
            for token, fed in self._federated.items():
                self._federated[token] = _Federated(fed.principal, 0.0)

    # ---- request handling -------------------------------------------------------------------

    def _fault(self, service: str) -> None:
        with self._lock:
            queue = self._faults[service]
            fault = queue.popleft() if queue else None
        if fault is not None:
            raise _Error(*fault)

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Route one request; returns (status, JSON body)."""
        try:
            if method == "POST" and path == "/v1/token":
                self._fault("sts")
                return 200, self._exchange(headers, body)
            match = _GENERATE.match(path)
            if method == "POST" and match is not None:
                self._fault("iam")
                return 200, self._generate(urllib.parse.unquote(match.group(1)), headers, body)
            return 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}
        except _Error as exc:
            return exc.status, exc.body

    def _exchange(self, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        if headers.get("content-type", "").startswith("application/json"):
            try:
                form = {str(k): str(v) for k, v in json.loads(body or b"{}").items()}
            except (ValueError, AttributeError):
                raise _oauth_error("invalid_request", "malformed JSON body") from None
        else:
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if form.get("grant_type") != TOKEN_EXCHANGE:
            raise _oauth_error("unsupported_grant_type", "grant_type must be token-exchange")
        if form.get("subject_token_type") != JWT_TOKEN_TYPE:
            raise _oauth_error("invalid_request", "subject_token_type must be jwt")
        if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
            raise _oauth_error("invalid_request", "requested_token_type must be access_token")
        audience = form.get("audience", "")
        if audience != self.audience:
            raise _oauth_error("invalid_target", f"unknown audience {audience!r}")
        subject = form.get("subject_token", "")
        with self._lock:
            expiry = self._ksa_tokens.get(subject)
        try:
            claims = json.loads(base64.urlsafe_b64decode(subject.split(".")[1] + "=="))
            if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
                raise ValueError("no subject")
        except (ValueError, IndexError):
            raise _oauth_error("invalid_grant", "the subject token is not a JWT") from None
        if expiry is None and self._accept_foreign:
            expiry = float(claims.get("exp", 0))
        if expiry is None or expiry < time.time():
            raise _oauth_error("invalid_grant", "the subject token is invalid or expired")
        audiences = claims.get("aud", [])
        claims["aud"] = [audiences] if isinstance(audiences, str) else audiences
        if self.pool not in claims.get("aud", []):
            raise _oauth_error(
                "invalid_grant", f"the subject token's audience does not include {self.pool}"
            )
        parts = str(claims["sub"]).split(":")
        if len(parts) != 4 or parts[:2] != ["system", "serviceaccount"]:
            raise _oauth_error("invalid_grant", "the subject is not a Kubernetes ServiceAccount")
        namespace, name = parts[2], parts[3]
        principal = f"{self.pool}[{namespace}/{name}]"
        token = "ya29.fed-" + secrets.token_urlsafe(24)
        scopes = tuple(form.get("scope", "").split())
        with self._lock:
            self._federated[token] = _Federated(principal, time.time() + TOKEN_LIFETIME)
            self._grants.append(Grant("sts", principal, audience, scopes, token))
        return {
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
        }

    def _generate(self, email: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        bearer = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        with self._lock:
            fed = self._federated.get(bearer)
            allowed = self._bindings.get(email, set())
        if fed is None or fed.expires < time.time():
            raise _google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
            )
        if fed.principal not in allowed:
            raise _google_error(
                403,
                "PERMISSION_DENIED",
                "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                "(or it may not exist).",
            )
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise _google_error(400, "INVALID_ARGUMENT", "malformed JSON body") from None
        scopes = tuple(str(s) for s in request.get("scope") or ())
        if not scopes:
            raise _google_error(400, "INVALID_ARGUMENT", "Scope required.")
        token = "ya29.gsa-" + secrets.token_urlsafe(24)
        expire = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=TOKEN_LIFETIME)
        with self._lock:
            self._grants.append(Grant("iam", fed.principal, "", scopes, token, email))
        return {"accessToken": token, "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _handler_for(emulator: GCPIdentityEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = urllib.parse.urlsplit(self.path).path
            status, doc = emulator.handle("POST", path, headers, body)
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST  # answered 404 by handle()

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: tokens would otherwise be logged with query strings

    return Handler


def main() -> None:
    """``python -m emulators.gcp_identity``: serve until interrupted; prints the URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert-dir", default=None)
    parser.add_argument("--project-id", default="demo-project")
    parser.add_argument("--cluster-location", default="europe-west1")
    parser.add_argument("--cluster-name", default="demo-cluster")
    parser.add_argument(
        "--accept-foreign-subjects",
        action="store_true",
        help="accept any unexpired ServiceAccount JWT (e.g. from the Kubernetes emulator)",
    )
    args = parser.parse_args()
    emulator = GCPIdentityEmulator(
        project_id=args.project_id,
        cluster_location=args.cluster_location,
        cluster_name=args.cluster_name,
        cert_dir=args.cert_dir,
        accept_foreign_subjects=args.accept_foreign_subjects,
    )
    url = emulator.start(args.host, args.port)
    print(f"GCP identity emulator at {url} (CA {emulator.ca_cert_path})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
