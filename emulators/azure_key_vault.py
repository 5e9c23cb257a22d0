"""An in-memory Azure Key Vault (secrets REST API) with its own Entra ID, for tests and local runs.

One HTTPS port (aiohttp, in a background thread with its own event loop) serves three things,
so the unmodified ``azure-keyvault-secrets`` clients (sync and aio) and ``azure-identity``
credentials work against it offline:

* **The vault** (``https://127.0.0.1:PORT``): the secrets API of
  :mod:`emulators.azure_kv_state` (set/get/update/delete, versions, list with ``nextLink``
  paging, the soft-delete collection with recover and purge) with the service's status codes,
  ``{"error": {"code", "message", "innererror"}}`` bodies and (where known) wording.
  Every vault request needs ``?api-version=`` (any value; without it 400 ``BadParameter``,
  checked first) and a bearer token issued by this emulator for its resource. A request
  without one gets the service's challenge: 401, body
  ``AKV10000: Request is missing a Bearer or PoP token.`` and ``WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
  resource="https://vault.azure.net"``; an unknown or expired token gets 401 ``AKV10032``
  (*approx.*) with the same challenge, which the SDK retries once and then raises.
* **Entra ID** (:attr:`AzureKeyVaultEmulator.authority_url`): OIDC discovery at
  ``/{tenant}/v2.0/.well-known/openid-configuration`` and the client-credentials token endpoint
  ``POST /{tenant}/oauth2/v2.0/token`` (client secret, certificate assertion, federated
  assertion), for clients registered with :meth:`AzureKeyVaultEmulator.register_client`.
* **App Service managed identity** (:attr:`AzureKeyVaultEmulator.identity_endpoint`):
  ``GET /msi/token?api-version=2019-08-01&resource=...`` with header ``X-IDENTITY-HEADER``.

Pointing the SDK at it (see ``tests/emulators/test_azure_emulator.py``)::

    SecretClient(emu.vault_url, credential, verify_challenge_resource=False,
                 connection_verify=emu.ca_cert_path)
    ClientSecretCredential(emu.tenant_id, client_id, secret, authority=emu.authority_url,
                           disable_instance_discovery=True, connection_verify=emu.ca_cert_path)
    # env IDENTITY_ENDPOINT=emu.identity_endpoint, IDENTITY_HEADER=emu.identity_header:
    ManagedIdentityCredential(connection_verify=emu.ca_cert_path)

``verify_challenge_resource=False`` is needed because the SDK wants the vault host to be a
subdomain of the challenge resource (``vault.azure.net``), impossible for ``127.0.0.1``.

Test hooks: :meth:`~AzureKeyVaultEmulator.fail_next` (status, optional ``Retry-After``, error
code and innererror) per operation name or ``"METHOD /route"``, applied after authentication;
:attr:`calls` counts the requests that reached each operation (vault ones once authenticated;
injected failures included; challenges are counted in :attr:`challenges`); :attr:`grants`
records who got tokens (client id, flow, resource).

Keys (import, get, update, soft delete) and certificates (import, get, update, soft delete)
are served by :mod:`emulators.azure_kv_keys` and :mod:`emulators.azure_kv_certs`, with the
same fault injection and counters (operations ``ImportKey``, ``GetKey``, ``DeleteKey``,
``ImportCertificate``, ...).

Not emulated: key/certificate operations beyond those, backup/restore, the asynchronous
delete/recover window, throttling by itself (inject 429s), RBAC/access policies (every valid
token may do everything), network rules, HTTP/2, PoP tokens and CAE claims challenges. See
:mod:`emulators.azure_kv_state` and :mod:`emulators.azure_kv_auth` for the details.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import socket
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl

from aiohttp import web

from emulators.azure_kv_auth import Grant, OAuthError, TokenService, write_tls_material
from emulators.azure_kv_certs import CERT_OPERATIONS, CertState
from emulators.azure_kv_http import (
    OPERATIONS,
    FaultQueue,
    json_response,
    match,
    op_of,
    parse_body,
)
from emulators.azure_kv_keys import KEY_OPERATIONS, KeyState
from emulators.azure_kv_state import KvError, VaultState, bad_parameter

__all__ = ["DEFAULT_TENANT_ID", "OPERATIONS", "VAULT_RESOURCE", "AzureKeyVaultEmulator", "main"]

DEFAULT_TENANT_ID = "72f988bf-0000-4000-8000-00000000e5e0"
VAULT_RESOURCE = "https://vault.azure.net"


class AzureKeyVaultEmulator:
    """An in-memory Key Vault + token service on one HTTPS port. Thread-safe.

    Use as a context manager, or :meth:`start` / :meth:`stop`::

        with AzureKeyVaultEmulator() as emu:
            emu.register_client("app-id", secret="s3cret")
            client = SecretClient(emu.vault_url, ..., connection_verify=emu.ca_cert_path)

    ``cert_dir`` receives ``ca.pem``/``server.pem``/``server-key.pem`` (default: a temporary
    directory removed by :meth:`stop`). ``soft_delete``/``purge_protection`` set the vault's
    recovery level. ``identity_header`` is the managed-identity secret (random by default).
    """

    def __init__(
        self,
        *,
        tenant_id: str = DEFAULT_TENANT_ID,
        resource: str = VAULT_RESOURCE,
        cert_dir: str | Path | None = None,
        soft_delete: bool = True,
        purge_protection: bool = False,
        identity_header: str | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._tenant_id = tenant_id
        self._resource = resource.rstrip("/")
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._soft_delete = soft_delete
        self._purge_protection = purge_protection
        self._tokens = TokenService(
            tenant_id=tenant_id,
            resource=self._resource,
            identity_header=identity_header or secrets.token_urlsafe(16),
        )
        self._state: VaultState | None = None
        self._keys: KeyState | None = None
        self._certs: CertState | None = None
        self._faults = FaultQueue()
        self._calls: Counter[str] = Counter()
        self._challenges = 0
        self._ca_path: Path | None = None
        self._url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = threading.Event()

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on ``host:port`` (0 picks a free port); returns the vault URL
        ``https://host:PORT``. Writes the TLS material first (see the class docstring)."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        if self._cert_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="azure-kv-emulator-")
            directory = Path(self._tmp.name)
        else:
            directory = self._cert_dir
        ca_path, cert_path, key_path = write_tls_material(directory)
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(cert_path, key_path)

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"could not bind {host}:{port}") from exc
        url_host = f"[{host}]" if ":" in host else host
        self._url = f"https://{url_host}:{sock.getsockname()[1]}"
        self._ca_path = ca_path
        with self._lock:
            # Before the first request can arrive: ids embed the vault URL.
            self._state = VaultState(
                self._url, soft_delete=self._soft_delete, purge_protection=self._purge_protection
            )
            self._keys = KeyState(
                self._url, soft_delete=self._soft_delete, purge_protection=self._purge_protection
            )
            self._certs = CertState(
                self._url, soft_delete=self._soft_delete, purge_protection=self._purge_protection
            )

        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock, ssl_context))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._cleanup())
                loop.close()
                self._stopped.set()

        self._stopped.clear()
        self._thread = threading.Thread(target=run, name="azure-kv-emulator", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            sock.close()
            raise RuntimeError(f"could not serve on {host}:{port}") from failure[0]
        return self._url

    async def _serve(self, sock: socket.socket, ssl_context: ssl.SSLContext) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runner = runner
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        """Stop serving (open connections are closed) and remove a temporary cert dir.
        Idempotent; the stored state is kept until the object is dropped."""
        thread, loop = self._thread, self._loop
        if thread is not None and loop is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
        self._thread = self._loop = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def wait(self) -> None:
        """Block until :meth:`stop` ran (used by ``python -m``)."""
        self._stopped.wait()

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- addresses ------------------------------------------------------------------------

    @property
    def vault_url(self) -> str:
        """``https://host:PORT``; raises when not started."""
        if self._url is None:
            raise RuntimeError("emulator not started")
        return self._url

    @property
    def ca_cert_path(self) -> str:
        """The CA certificate (PEM) to trust: pass it as ``connection_verify``."""
        if self._ca_path is None:
            raise RuntimeError("emulator not started")
        return str(self._ca_path)

    @property
    def authority_url(self) -> str:
        """The Entra authority host to give azure-identity (``authority=``): the vault URL."""
        return self.vault_url

    @property
    def identity_endpoint(self) -> str:
        """Value for ``IDENTITY_ENDPOINT`` (App Service managed identity)."""
        return f"{self.vault_url}/msi/token"

    @property
    def identity_header(self) -> str:
        """Value for ``IDENTITY_HEADER``: the secret the endpoint expects back."""
        return self._tokens.identity_header

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    # ---- test hooks -----------------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        certificate_pem: bytes | None = None,
        federated: bool = False,
    ) -> None:
        """Register an app for the client-credentials grant: with a ``secret``, a certificate
        (PEM, whose key signs client assertions) and/or as ``federated`` (workload identity:
        accepts any JWT assertion with audience ``api://AzureADTokenExchange``)."""
        with self._lock:
            self._tokens.register_client(
                client_id, secret=secret, certificate_pem=certificate_pem, federated=federated
            )

    def fail_next(
        self,
        route_or_op: str,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        *,
        code: str | None = None,
        message: str | None = None,
        inner_code: str | None = None,
    ) -> None:
        """Make the next ``times`` authenticated calls of an operation (``"SetSecret"``) or
        route (``"PUT /secrets/{name}"``) fail with ``status`` before touching state.
        ``retry_after`` sets a ``Retry-After`` header (seconds). Faults queue in call order."""
        op = op_of(route_or_op)
        with self._lock:
            self._faults.add(op, status, times, retry_after, code, message, inner_code)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def calls(self) -> Counter[str]:
        """A snapshot of authenticated requests per operation (failed ones included)."""
        with self._lock:
            return Counter(self._calls)

    @property
    def challenges(self) -> int:
        """How many vault requests were answered with the 401 bearer challenge."""
        with self._lock:
            return self._challenges

    @property
    def grants(self) -> list[Grant]:
        """Every token issued so far, oldest first (client id, flow, resource)."""
        with self._lock:
            return list(self._tokens.grants)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._challenges = 0

    def reset(self) -> None:
        """Forget every secret, key, certificate, fault and count (registered clients and
        tokens stay)."""
        with self._lock:
            self._vault().reset()
            self._key_state().reset()
            self._cert_state().reset()
            self._faults.clear()
            self._calls.clear()
            self._challenges = 0

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (the next vault call with one gets a 401)."""
        with self._lock:
            self._tokens.reset_tokens()

    def secret_names(self) -> list[str]:
        with self._lock:
            return self._vault().names()

    def deleted_names(self) -> list[str]:
        with self._lock:
            return self._vault().deleted_names()

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of secret ``name`` (active or deleted) as SecretBundles with values,
        oldest first; ``[]`` when unknown."""
        with self._lock:
            return self._vault().versions(name)

    def key_names(self, *, deleted: bool = False) -> list[str]:
        """Names of the active (or, with ``deleted``, soft-deleted) keys."""
        with self._lock:
            state = self._key_state()
            return state.deleted_names() if deleted else state.names()

    def key_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of key ``name`` as KeyBundles (public JWK only), oldest first."""
        with self._lock:
            return self._key_state().key_versions(name)

    def certificate_names(self, *, deleted: bool = False) -> list[str]:
        """Names of the active (or, with ``deleted``, soft-deleted) certificates."""
        with self._lock:
            state = self._cert_state()
            return state.deleted_names() if deleted else state.names()

    def certificate_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of certificate ``name`` as CertificateBundles, oldest first."""
        with self._lock:
            return self._cert_state().certificate_versions(name)

    def _vault(self) -> VaultState:
        if self._state is None:
            raise RuntimeError("emulator not started")
        return self._state

    def _key_state(self) -> KeyState:
        if self._keys is None:
            raise RuntimeError("emulator not started")
        return self._keys

    def _cert_state(self) -> CertState:
        if self._certs is None:
            raise RuntimeError("emulator not started")
        return self._certs

    # ---- HTTP -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route, params, known = match(request.method, request.path)
        if route is None:
            return json_response(
                405 if known else 404,
                {"error": {"code": "BadParameter", "message": "Unknown request URI or method."}},
            )
        query = dict(parse_qsl(request.query_string, keep_blank_values=True))
        body = await request.read()
        if not route.vault:
            return self._identity(route.op, params, query, request, body)
        if not query.get("api-version"):
            return json_response(
                400, bad_parameter("The request URI must contain api-version.").body()
            )
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        with self._lock:
            self._calls[route.op] += 1
            fault = self._faults.take(route.op)
            if fault is not None:
                return fault.response(self._challenge_header() if fault.status == 401 else {})
            try:
                return self._dispatch(route.op, params, query, body)
            except KvError as err:
                return json_response(err.status, err.body())

    def _challenge_header(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": (
                f'Bearer authorization="https://login.microsoftonline.com/{self._tenant_id}", '
                f'resource="{self._resource}"'
            )
        }

    def _authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        with self._lock:
            if scheme.lower() != "bearer" or not token:
                self._challenges += 1
                message = "AKV10000: Request is missing a Bearer or PoP token."
            elif self._tokens.check(token.strip()) is None:
                self._challenges += 1
                message = "AKV10032: Invalid issuer, audience or expired token."
            else:
                return None
        return json_response(
            401, {"error": {"code": "Unauthorized", "message": message}}, self._challenge_header()
        )

    def _dispatch(
        self, op: str, params: dict[str, str], query: dict[str, str], raw: bytes
    ) -> web.Response:
        if op in KEY_OPERATIONS or op in CERT_OPERATIONS:
            store = self._key_state() if op in KEY_OPERATIONS else self._cert_state()
            # GET/DELETE carry no body; parse only what the operation reads.
            result = store.dispatch(op, params, parse_body(raw) if raw else None)
            return web.Response(status=204) if result is None else json_response(200, result)
        state = self._vault()
        name = params.get("name", "")
        version = params.get("version", "")
        handlers: dict[str, Callable[[], dict[str, Any] | None]] = {
            "ListSecrets": lambda: state.list_secrets(query),
            "ListSecretVersions": lambda: state.list_versions(name, query),
            "SetSecret": lambda: state.set_secret(name, parse_body(raw)),
            "GetSecret": lambda: state.get_secret(name, version),
            "UpdateSecret": lambda: state.update_secret(name, version, parse_body(raw)),
            "DeleteSecret": lambda: state.delete_secret(name),
            "ListDeletedSecrets": lambda: state.list_deleted(query),
            "GetDeletedSecret": lambda: state.get_deleted(name),
            "PurgeDeletedSecret": lambda: state.purge_deleted(name),
            "RecoverDeletedSecret": lambda: state.recover_deleted(name),
        }
        result = handlers[op]()
        if result is None:
            return web.Response(status=204)
        return json_response(200, result)

    def _identity(
        self,
        op: str,
        params: dict[str, str],
        query: dict[str, str],
        request: web.Request,
        raw: bytes,
    ) -> web.Response:
        with self._lock:
            self._calls[op] += 1
            fault = self._faults.take(op)
            if fault is not None:
                return fault.response({})
            try:
                if op == "OpenIdConfiguration":
                    return json_response(
                        200, self._tokens.openid_configuration(self.vault_url, params["tenant"])
                    )
                if op == "Token":
                    form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
                    body, _ = self._tokens.client_credentials(
                        self.vault_url, params["tenant"], form
                    )
                    return json_response(200, body)
                body, _ = self._tokens.managed_identity(
                    query, request.headers.get("X-IDENTITY-HEADER")
                )
                return json_response(200, body)
            except OAuthError as err:
                return json_response(err.status, err.body())


def main(argv: list[str] | None = None) -> int:
    """``python -m emulators.azure_key_vault --port N``: serve in the foreground until
    SIGINT/SIGTERM; prints the vault URL, the CA path and the managed-identity settings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument("--cert-dir", default=None, help="where to write ca.pem (default: temp)")
    parser.add_argument("--tenant", default=DEFAULT_TENANT_ID)
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="register an app: ID:SECRET (client secret) or ID (federated); repeatable",
    )
    args = parser.parse_args(argv)
    emulator = AzureKeyVaultEmulator(tenant_id=args.tenant, cert_dir=args.cert_dir)
    for spec in args.client:
        client_id, _, secret = spec.partition(":")
        emulator.register_client(client_id, secret=secret or None, federated=not secret)
    url = emulator.start(args.host, args.port)

    def _stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=emulator.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"Azure Key Vault emulator listening on {url}", flush=True)
    print(f"CA certificate: {emulator.ca_cert_path}", flush=True)
    print(f"tenant: {emulator.tenant_id}  authority: {emulator.authority_url}", flush=True)
    print(f"export IDENTITY_ENDPOINT={emulator.identity_endpoint}", flush=True)
    print(f"export IDENTITY_HEADER={emulator.identity_header}", flush=True)
    emulator.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
