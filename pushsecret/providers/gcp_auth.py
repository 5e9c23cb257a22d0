"""GKE Workload Identity for the GCP Secret Manager provider (ESO's ``auth.workloadIdentity``).

ESO (``providers/v1/gcp/secretmanager/workload_identity.go``) does, once per ``NewClient``:

1. mint a Kubernetes ServiceAccount token with audiences ``[<clusterProjectID>.svc.id.goog,
   *serviceAccountRef.audiences]`` (TokenRequest, 15 min);
2. exchange it for a federated ("identity binding") access token, grant type
   ``urn:ietf:params:oauth:grant-type:token-exchange``, subject token type
   ``urn:ietf:params:oauth:token-type:jwt``, scope ``cloud-platform`` and audience
   ``identitynamespace:<project>.svc.id.goog:https://container.googleapis.com/v1/projects/
   <project>/locations/<clusterLocation>/clusters/<clusterName>``;
3. when the KSA carries ``iam.gke.io/gcp-service-account``, call IAM Credentials
   ``GenerateAccessToken`` for that GSA (scope ``cloud-platform``) with the federated token;
   otherwise use the federated token itself.

Here the same chain is google-auth's own machinery: :class:`google.auth.identity_pool.
Credentials` with a subject-token supplier (the caller's ``token_source``) for step 2 and its
``service_account_impersonation_url`` (which builds a :class:`google.auth.
impersonated_credentials.Credentials`) for step 3. google-auth 2.63 does not validate token or
impersonation URLs (``external_account`` documents that it is the caller's job), so the
endpoints are configurable without any private API; we validate them ourselves (HTTPS only).

Deliberate differences from ESO:

1. Step 2 goes to the RFC 8693 STS endpoint ``https://sts.googleapis.com/v1/token``
   (form-encoded), which accepts the same ``identitynamespace:`` audience (it is what Fleet
   Workload Identity and google-auth use), instead of the legacy JSON endpoint
   ``securetoken.googleapis.com/v1/identitybindingtoken``.
2. Tokens are refreshed: ESO wraps the tokens in static token sources, so a client outlives
   them only because ESO builds a new client per reconcile. Our credentials mint a new KSA
   token and redo the exchange whenever the access token is about to expire.
3. Empty ``clusterProjectID``/``clusterLocation``/``clusterName`` are refused: ESO's GKE
   metadata-server fallback is not implemented (the worker may not run on GKE).
4. Duplicate audiences are dropped (order kept).

Errors: :func:`refresh_credentials` raises :class:`ProviderError` with ESO's texts
(``unable to get credentials: unable to fetch pod token|unable to fetch identitybindingtoken|
unable to generate gcp access token: ...``). Messages carry the HTTP status and the service's
error code and description, with every token seen during the attempt redacted; google-auth's
own exception texts are never quoted (they embed whole response bodies). HTTP 408/429/5xx and
transport failures are retryable; other HTTP errors are not.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from google.auth import credentials as ga_credentials
from google.auth import exceptions as auth_exceptions
from google.auth import identity_pool
from google.auth.transport import requests as ga_requests

from pushsecret.providers.base import ProviderError

__all__ = [
    "CA_BUNDLE_ENV",
    "DEFAULT_IAM_CREDENTIALS_ENDPOINT",
    "DEFAULT_STS_ENDPOINT",
    "GCP_SA_ANNOTATION",
    "IAM_CREDENTIALS_ENDPOINT_ENV",
    "STS_ENDPOINT_ENV",
    "TokenSource",
    "WorkloadIdentityCredentials",
    "WorkloadIdentityRefreshError",
    "identity_namespace_audience",
    "refresh_credentials",
    "workload_identity_credentials",
    "workload_identity_pool",
    "workload_identity_provider",
]

STS_ENDPOINT_ENV = "PUSHSECRET_GCP_STS_ENDPOINT"
IAM_CREDENTIALS_ENDPOINT_ENV = "PUSHSECRET_GCP_IAM_CREDENTIALS_ENDPOINT"
CA_BUNDLE_ENV = "PUSHSECRET_GCP_CA_BUNDLE"
DEFAULT_STS_ENDPOINT = "https://sts.googleapis.com"
DEFAULT_IAM_CREDENTIALS_ENDPOINT = "https://iamcredentials.googleapis.com"
GCP_SA_ANNOTATION = "iam.gke.io/gcp-service-account"

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_SUBJECT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
_HTTP_TIMEOUT = 30.0
_MAX_QUOTED = 300
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_PREFIX = "unable to get credentials: "
_STAGE_TEXT = {
    "token": "unable to fetch pod token",
    "sts": "unable to fetch identitybindingtoken",
    "iam": "unable to generate gcp access token",
}
_SERVICE_NAME = {"sts": "STS", "iam": "IAM Credentials"}

TokenSource = Callable[[list[str]], str]
"""``audiences -> token``: a Kubernetes ServiceAccount token (JWT) valid for all audiences.
Should raise :class:`ProviderError` to classify its failures (others are treated as final,
except ``OSError``, which is retryable)."""


def workload_identity_pool(project_id: str) -> str:
    """The GKE workload identity pool of a cluster project: ``<project>.svc.id.goog``."""
    return f"{project_id}.svc.id.goog"


def workload_identity_provider(project_id: str, cluster_location: str, cluster_name: str) -> str:
    """The identity provider of a GKE cluster, as ESO spells it."""
    return (
        f"https://container.googleapis.com/v1/projects/{project_id}"
        f"/locations/{cluster_location}/clusters/{cluster_name}"
    )


def identity_namespace_audience(project_id: str, cluster_location: str, cluster_name: str) -> str:
    """The token-exchange audience: ``identitynamespace:<pool>:<provider>``."""
    pool = workload_identity_pool(project_id)
    provider = workload_identity_provider(project_id, cluster_location, cluster_name)
    return f"identitynamespace:{pool}:{provider}"


class WorkloadIdentityRefreshError(auth_exceptions.RefreshError):
    """A failed refresh, already classified: ``provider_error`` is what to report.

    A RefreshError (not a ProviderError) because google-auth callers, the gRPC auth plugin
    among them, expect that type from ``Credentials.refresh``. Its text is the safe
    ProviderError message.
    """

    def __init__(self, provider_error: ProviderError) -> None:
        init: Any = auth_exceptions.RefreshError.__init__  # untyped in google-auth
        init(self, provider_error.message, retryable=provider_error.retryable)
        self.provider_error = provider_error


@dataclass
class _Failure:
    stage: str
    message: str
    retryable: bool
    reason: str
    retry_after: float | None = None


@dataclass
class _Attempt:
    """What one refresh saw: the stage of the HTTP call in flight, the first failure, and every
    token that went by (redacted from messages)."""

    stage: str = "token"
    failure: _Failure | None = None
    secrets: set[str] = field(default_factory=set)

    def fail(self, failure: _Failure) -> None:
        if self.failure is None:  # the first failure is the cause; later ones are fallout
            self.failure = failure

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 8:  # short strings would blank innocent words
                text = text.replace(secret, "<redacted>")
        return text[:_MAX_QUOTED]


def _supplier_error() -> auth_exceptions.RefreshError:
    # google-auth only needs *a* RefreshError here; the classified failure is in the attempt.
    make: Any = auth_exceptions.RefreshError  # untyped constructor
    error: auth_exceptions.RefreshError = make("token source failed")
    return error


class _Supplier(identity_pool.SubjectTokenSupplier):
    """Asks the caller's token source for a KSA token on every exchange (google-auth does not
    cache subject tokens; Kubernetes tokens are cheap and short-lived, so neither do we)."""

    def __init__(self, token_source: TokenSource, audiences: list[str]) -> None:
        self._token_source = token_source
        self._audiences = audiences
        # Set by WorkloadIdentityCredentials.refresh (under its lock) for the attempt running.
        self.attempt: _Attempt | None = None

    def get_subject_token(self, context: Any, request: Any) -> str:
        attempt = self.attempt if self.attempt is not None else _Attempt()
        attempt.stage = "token"
        try:
            token = self._token_source(list(self._audiences))
        except ProviderError as exc:
            attempt.fail(
                _Failure(
                    "token", exc.message, exc.retryable, exc.reason, retry_after=exc.retry_after
                )
            )
            raise _supplier_error() from None
        except OSError as exc:
            attempt.fail(_Failure("token", type(exc).__name__, True, "Unavailable"))
            raise _supplier_error() from None
        except Exception as exc:
            attempt.fail(_Failure("token", type(exc).__name__, False, "InvalidCredentials"))
            raise _supplier_error() from None
        if not isinstance(token, str) or not token.strip():
            attempt.fail(
                _Failure("token", "the token source returned no token", False, "InvalidCredentials")
            )
            raise _supplier_error()
        attempt.secrets.add(token)
        return token


class _RecordingRequest:
    """A google-auth transport Request on our session that notes, for the running attempt,
    which stage each call belongs to, the tokens in successful answers, and the first HTTP
    failure (status + the service's error code/description)."""

    def __init__(
        self,
        inner: ga_requests.Request,
        attempt: _Attempt,
        sts_url: str,
        iam_base: str,
        verify: str | None,
    ) -> None:
        self._inner = inner
        self._attempt = attempt
        self._sts_url = sts_url
        self._iam_base = iam_base
        self._verify = verify

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        stage = "sts" if url.startswith(self._sts_url) else "iam"
        attempt = self._attempt
        attempt.stage = stage
        if headers:
            auth = str(dict(headers).get("authorization", dict(headers).get("Authorization", "")))
            if auth.startswith("Bearer "):
                attempt.secrets.add(auth[len("Bearer ") :])
        if self._verify is not None:
            # Per request, not Session.verify: requests lets $REQUESTS_CA_BUNDLE override a
            # session's verify setting (psf/requests#3829), but not an explicit argument.
            kwargs["verify"] = self._verify
        call: Any = self._inner  # untyped in google-auth
        response = call(
            url=url,
            method=method,
            body=body,
            headers=headers,
            timeout=_HTTP_TIMEOUT if timeout is None else timeout,
            **kwargs,
        )
        status = int(response.status)
        raw = response.data
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        try:
            doc = json.loads(text) if text else {}
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            doc = {}
        if status == 200:
            for key in ("access_token", "accessToken"):
                if isinstance(doc.get(key), str):
                    attempt.secrets.add(doc[key])
        else:
            attempt.fail(self._http_failure(stage, status, doc, response.headers))
        return response

    def _http_failure(self, stage: str, status: int, doc: dict[str, Any], headers: Any) -> _Failure:
        detail = f"{_SERVICE_NAME[stage]} returned HTTP {status}"
        error = doc.get("error")
        if isinstance(error, dict):  # Google API error (IAM Credentials)
            parts = [str(error.get("status") or ""), str(error.get("message") or "")]
        else:  # OAuth 2.0 error (STS)
            parts = [str(error or ""), str(doc.get("error_description") or "")]
        quoted = ": ".join(p for p in parts if p)
        if quoted:
            detail += f" ({self._attempt.redact(quoted)})"
        retry_after: float | None = None
        if status == 429:
            reason = "RateLimited"
            try:
                retry_after = float(dict(headers or {}).get("Retry-After", ""))
            except ValueError:
                retry_after = None
        elif status in _RETRYABLE_STATUS:
            reason = "Unavailable"
        elif status in (401, 403):
            reason = "PermissionDenied" if status == 403 else "Unauthenticated"
        elif status == 404:
            reason = "NotFound"
        else:
            reason = "InvalidCredentials"
        return _Failure(stage, detail, status in _RETRYABLE_STATUS, reason, retry_after)


class WorkloadIdentityCredentials(ga_credentials.Credentials):
    """google-auth credentials for a KSA, optionally impersonating a GSA.

    Contract:

    * ``refresh(request)`` ignores ``request`` and uses its own HTTP session, so the CA bundle
      chosen at construction applies however the credentials are used (the Secret Manager gRPC
      transport refreshes with a default ``Request()`` that would only trust certifi).
    * Refreshes are serialised; a thread that waited for another's refresh returns at once
      when that refresh produced a fresh token (one KSA token and exchange, not N).
    * On failure ``refresh`` raises :class:`WorkloadIdentityRefreshError` (a RefreshError)
      whose ``provider_error`` is the classified :class:`ProviderError`; the credentials keep
      no token from a failed attempt.
    * Thread-safe; holds a ``requests.Session`` for its lifetime.
    """

    def __init__(
        self,
        *,
        inner: identity_pool.Credentials,
        supplier: _Supplier,
        session: requests.Session,
        ca_bundle: str | None,
        sts_url: str,
        iam_base: str,
        service_account_email: str | None,
    ) -> None:
        init: Any = ga_credentials.Credentials.__init__  # untyped in google-auth
        init(self)
        self._inner = inner
        self._supplier = supplier
        self._transport = ga_requests.Request(session)
        self._ca_bundle = ca_bundle
        self._sts_url = sts_url
        self._iam_base = iam_base
        self._service_account_email = service_account_email
        self._lock = threading.Lock()
        self._generation = 0

    @property
    def service_account_email(self) -> str | None:
        """The impersonated GSA, or None when the federated token is used directly."""
        return self._service_account_email

    @property
    def token_url(self) -> str:
        """The STS token-exchange URL in use."""
        return self._sts_url

    @property
    def impersonation_url(self) -> str | None:
        """The IAM Credentials ``generateAccessToken`` URL, or None without a GSA."""
        if self._service_account_email is None:
            return None
        return (
            f"{self._iam_base}/v1/projects/-/serviceAccounts/"
            f"{self._service_account_email}:generateAccessToken"
        )

    def refresh(self, request: Any) -> None:
        seen = self._generation
        with self._lock:
            if self._generation != seen and self.token_state == ga_credentials.TokenState.FRESH:
                return  # another thread refreshed while we waited
            attempt = _Attempt()
            self._supplier.attempt = attempt
            http = _RecordingRequest(
                self._transport, attempt, self._sts_url, self._iam_base, self._ca_bundle
            )
            inner: Any = self._inner  # refresh is untyped in google-auth
            try:
                inner.refresh(http)
                token, expiry = inner.token, inner.expiry
            except Exception as exc:
                raise WorkloadIdentityRefreshError(_provider_error(attempt, exc)) from None
            finally:
                self._supplier.attempt = None
            if not isinstance(token, str) or not token:
                raise WorkloadIdentityRefreshError(
                    _provider_error(attempt, ValueError("no access token"))
                )
            self.token, self.expiry = token, expiry
            self._generation += 1


def _provider_error(attempt: _Attempt, exc: BaseException) -> ProviderError:
    """Classify a failed refresh from what the attempt recorded; ``exc`` only names the type
    when nothing was recorded (its text is google-auth's and may quote a response body)."""
    failure = attempt.failure
    if failure is None:
        stage = attempt.stage
        if isinstance(exc, auth_exceptions.TransportError | requests.RequestException):
            what = _SERVICE_NAME.get(stage, "the token source")
            failure = _Failure(
                stage, f"could not reach {what} ({type(exc).__name__})", True, "Unavailable"
            )
        else:
            failure = _Failure(
                stage, f"unexpected answer ({type(exc).__name__})", False, "InvalidCredentials"
            )
    message = f"{_PREFIX}{_STAGE_TEXT[failure.stage]}: {attempt.redact(failure.message)}"
    return ProviderError(
        message,
        retryable=failure.retryable,
        reason=failure.reason,
        retry_after=failure.retry_after,
    )


def _invalid(message: str) -> ProviderError:
    return ProviderError(_PREFIX + message, retryable=False, reason="InvalidConfig")


def _base_url(explicit: str | None, env: str, default: str) -> str:
    """``explicit``, else ``$env``, else ``default``, as ``https://host[:port][/prefix]``
    (a bare ``host:port`` gets ``https://``). Plain HTTP is refused: tokens travel here."""
    value = (explicit or os.environ.get(env, "") or default).strip()
    if "://" not in value:
        value = "https://" + value
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme != "https" or not parsed.netloc or parsed.query or parsed.fragment:
        raise _invalid(f"invalid endpoint {value!r} (from {env} or the caller): must be https")
    return value.rstrip("/")


def _ca_bundle(explicit: str | None) -> str | None:
    path = (explicit or os.environ.get(CA_BUNDLE_ENV, "")).strip()
    if not path:
        return None
    if not os.path.isfile(path):
        raise _invalid(f"the CA bundle {path!r} ({CA_BUNDLE_ENV} or the caller) is not a file")
    return path


def workload_identity_credentials(
    *,
    project_number_or_id: str,
    cluster_location: str,
    cluster_name: str,
    gsa_email: str | None,
    audiences: list[str],
    token_source: TokenSource,
    sts_endpoint: str | None = None,
    iam_endpoint: str | None = None,
    ca_bundle: str | None = None,
) -> WorkloadIdentityCredentials:
    """Credentials for ESO's ``auth.workloadIdentity``; makes no call (see
    :func:`refresh_credentials` for ESO's eager check).

    ``project_number_or_id`` is ``clusterProjectID`` (the pool is ``<it>.svc.id.goog``);
    ``gsa_email`` is the KSA's ``iam.gke.io/gcp-service-account`` annotation (None or empty:
    the federated token is used directly); ``audiences`` are ``serviceAccountRef.audiences``,
    requested after the pool. ``token_source`` is called with those audiences on every
    exchange. Endpoints are base URLs (``https://host[:port]``): argument, else
    ``$PUSHSECRET_GCP_STS_ENDPOINT`` / ``$PUSHSECRET_GCP_IAM_CREDENTIALS_ENDPOINT``, else
    Google's; ``ca_bundle`` (else ``$PUSHSECRET_GCP_CA_BUNDLE``, else the system/certifi
    store) is a PEM file to verify both with.

    Raises a non-retryable ProviderError (reason ``InvalidConfig``) for empty cluster fields,
    a malformed GSA email, a non-HTTPS endpoint or a missing CA bundle.
    """
    for name, value in (
        ("clusterProjectID", project_number_or_id),
        ("clusterLocation", cluster_location),
        ("clusterName", cluster_name),
    ):
        if not value or not value.strip() or "/" in value or any(c.isspace() for c in value):
            raise _invalid(
                f"unable to lookup workload identity: {name} is empty or malformed (the GKE "
                "metadata server fallback is not supported)"
            )
    gsa = (gsa_email or "").strip() or None
    # google-auth takes the impersonated principal from the URL between the last "/" and
    # ":generateAccessToken", so "/" and ":" would silently change the target.
    if gsa is not None and ("@" not in gsa or any(c in gsa for c in "/:?#") or " " in gsa):
        raise _invalid(f"invalid {GCP_SA_ANNOTATION} annotation: {gsa!r} is not an email")
    sts_base = _base_url(sts_endpoint, STS_ENDPOINT_ENV, DEFAULT_STS_ENDPOINT)
    iam_base = _base_url(
        iam_endpoint, IAM_CREDENTIALS_ENDPOINT_ENV, DEFAULT_IAM_CREDENTIALS_ENDPOINT
    )
    verify = _ca_bundle(ca_bundle)
    session = requests.Session()

    wanted = [workload_identity_pool(project_number_or_id), *audiences]
    ordered = list(dict.fromkeys(a for a in wanted if a))
    supplier = _Supplier(token_source, ordered)
    sts_url = f"{sts_base}/v1/token"
    impersonation_url = (
        f"{iam_base}/v1/projects/-/serviceAccounts/{gsa}:generateAccessToken" if gsa else None
    )
    make: Any = identity_pool.Credentials  # untyped constructor
    try:
        inner = make(
            audience=identity_namespace_audience(
                project_number_or_id, cluster_location, cluster_name
            ),
            subject_token_type=_SUBJECT_TOKEN_TYPE,
            token_url=sts_url,
            subject_token_supplier=supplier,
            service_account_impersonation_url=impersonation_url,
            scopes=[CLOUD_PLATFORM_SCOPE],
        )
    except (auth_exceptions.GoogleAuthError, ValueError) as exc:
        session.close()
        raise _invalid(f"invalid workload identity configuration ({type(exc).__name__})") from None
    return WorkloadIdentityCredentials(
        inner=inner,
        supplier=supplier,
        session=session,
        ca_bundle=verify,
        sts_url=sts_url,
        iam_base=iam_base,
        service_account_email=gsa,
    )


def refresh_credentials(creds: ga_credentials.Credentials) -> None:
    """Fetch a token now (ESO's ``ts.Token()`` in ``NewClient``), so a refused identity fails
    with its real classification instead of as a retryable UNAVAILABLE on the first RPC (the
    gRPC auth plugin reduces every refresh error to that).

    Raises ProviderError; a non-workload-identity credential's errors are reported by type.
    """
    call: Any = creds.refresh  # untyped in google-auth for other credential types
    try:
        call(ga_requests.Request())
    except WorkloadIdentityRefreshError as exc:
        raise exc.provider_error from None
    except auth_exceptions.TransportError as exc:
        raise ProviderError(
            f"{_PREFIX}could not reach the token endpoint ({type(exc).__name__})",
            retryable=True,
            reason="Unavailable",
        ) from None
    except auth_exceptions.GoogleAuthError as exc:
        raise ProviderError(
            f"{_PREFIX}credentials rejected ({type(exc).__name__})",
            retryable=bool(getattr(exc, "retryable", False)),
            reason="InvalidCredentials",
        ) from None
