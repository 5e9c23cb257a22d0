"""GKE Workload Identity credentials (pushsecret.providers.gcp_auth) against the STS + IAM
Credentials emulator, over HTTPS with the emulator's CA.

Every ProviderError goes through :func:`_raises`, which also checks that no token the test saw
(KSA, federated, GSA access token) appears in its message.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from google.auth.transport.requests import Request

from emulators.gcp_identity import GCPIdentityEmulator
from pushsecret.providers.base import ProviderError
from pushsecret.providers.gcp import GCPSecretManagerProvider
from pushsecret.providers.gcp_auth import (
    CA_BUNDLE_ENV,
    IAM_CREDENTIALS_ENDPOINT_ENV,
    STS_ENDPOINT_ENV,
    WorkloadIdentityCredentials,
    WorkloadIdentityRefreshError,
    refresh_credentials,
    workload_identity_credentials,
)
from pushsecret.providers.gcp_client import GCPConfig, clear_client_cache, shared_client

PROJECT = "cluster-proj"
LOCATION = "europe-west1"
CLUSTER = "prod-1"
POOL = f"{PROJECT}.svc.id.goog"
GSA = "pusher@secrets-proj.iam.gserviceaccount.com"
NAMESPACE, KSA = "demo", "demo-secrets-sa"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"

pytestmark = pytest.mark.timeout(60)


class Tokens:
    """A token source minting KSA tokens at the emulator; records audiences and tokens."""

    def __init__(self, emulator: GCPIdentityEmulator, audiences: list[str] | None = None) -> None:
        self._emulator = emulator
        self._override = audiences
        self.calls: list[list[str]] = []
        self.issued: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, audiences: list[str]) -> str:
        token = self._emulator.mint_ksa_token(NAMESPACE, KSA, self._override or audiences)
        with self._lock:
            self.calls.append(audiences)
            self.issued.append(token)
        return token


@pytest.fixture(scope="module")
def emulator() -> Iterator[GCPIdentityEmulator]:
    with GCPIdentityEmulator(
        project_id=PROJECT, cluster_location=LOCATION, cluster_name=CLUSTER
    ) as emu:
        emu.allow_impersonation(GSA, NAMESPACE, KSA)
        yield emu


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (STS_ENDPOINT_ENV, IAM_CREDENTIALS_ENDPOINT_ENV, CA_BUNDLE_ENV):
        monkeypatch.delenv(name, raising=False)
    yield
    clear_client_cache()


def _creds(
    emulator: GCPIdentityEmulator,
    tokens: Callable[[list[str]], str],
    *,
    gsa: str | None = GSA,
    audiences: list[str] | None = None,
    **overrides: Any,
) -> WorkloadIdentityCredentials:
    args: dict[str, Any] = {
        "project_number_or_id": PROJECT,
        "cluster_location": LOCATION,
        "cluster_name": CLUSTER,
        "gsa_email": gsa,
        "audiences": audiences or [],
        "token_source": tokens,
        "sts_endpoint": emulator.url,
        "iam_endpoint": emulator.url,
        "ca_bundle": emulator.ca_cert_path,
    }
    args.update(overrides)
    return workload_identity_credentials(**args)


def _all_tokens(emulator: GCPIdentityEmulator, *sources: Tokens) -> list[str]:
    return [g.token for g in emulator.grants] + [t for s in sources for t in s.issued]


def _raises(fn: Callable[[], object], secrets: Callable[[], list[str]]) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        fn()
    message = info.value.message
    for secret in secrets():
        assert secret not in message
        assert secret[:20] not in message
    return info.value


def _ca_request(emulator: GCPIdentityEmulator) -> Request:
    session = requests.Session()
    session.verify = emulator.ca_cert_path
    return Request(session)


def _authorize(creds: WorkloadIdentityCredentials, headers: dict[str, str]) -> None:
    """What the gRPC auth plugin does before each RPC (refresh when needed, add the header)."""
    before: Any = creds.before_request  # untyped in google-auth
    before(Request(), "POST", "https://secretmanager.googleapis.com/", headers)


# ---- happy paths ----------------------------------------------------------------------------


def test_impersonates_the_annotated_gsa(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    before = len(emulator.grants)
    creds = _creds(emulator, tokens, audiences=["vault", POOL])
    assert not creds.valid and creds.service_account_email == GSA

    creds.refresh(_ca_request(emulator))

    sts, iam = emulator.grants[before:]
    assert tokens.calls == [[POOL, "vault"]]  # the pool first, extras after, no duplicates
    assert sts.kind == "sts" and sts.principal == f"{POOL}[{NAMESPACE}/{KSA}]"
    assert sts.audience == (
        f"identitynamespace:{POOL}:https://container.googleapis.com/v1/projects/{PROJECT}"
        f"/locations/{LOCATION}/clusters/{CLUSTER}"
    )
    assert iam.kind == "iam" and iam.service_account == GSA and iam.scopes == (CLOUD_PLATFORM,)
    assert creds.token == iam.token and creds.valid
    assert creds.expiry is not None and creds.expiry > dt.datetime.now(dt.UTC).replace(
        tzinfo=None
    ) + dt.timedelta(minutes=50)


def test_without_annotation_uses_the_federated_token(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    before = len(emulator.grants)
    creds = _creds(emulator, tokens, gsa="")
    assert creds.service_account_email is None and creds.impersonation_url is None

    refresh_credentials(creds)

    (sts,) = emulator.grants[before:]
    assert sts.kind == "sts" and sts.scopes == (CLOUD_PLATFORM,)
    assert creds.token == sts.token
    assert tokens.calls == [[POOL]]


def test_refresh_ignores_the_callers_transport(emulator: GCPIdentityEmulator) -> None:
    # The gRPC transport refreshes with a default Request() (certifi/system trust): the
    # credentials must still verify the emulator with their own CA bundle.
    creds = _creds(emulator, Tokens(emulator))
    creds.refresh(Request())
    assert creds.valid


def test_endpoints_and_ca_from_the_environment(
    emulator: GCPIdentityEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STS_ENDPOINT_ENV, emulator.url)
    monkeypatch.setenv(IAM_CREDENTIALS_ENDPOINT_ENV, emulator.url.removeprefix("https://"))
    monkeypatch.setenv(CA_BUNDLE_ENV, emulator.ca_cert_path)
    creds = _creds(emulator, Tokens(emulator), sts_endpoint=None, iam_endpoint=None, ca_bundle=None)
    assert creds.token_url == f"{emulator.url}/v1/token"
    refresh_credentials(creds)
    assert creds.token == emulator.grants[-1].token


def test_google_endpoints_by_default(emulator: GCPIdentityEmulator) -> None:
    creds = _creds(emulator, Tokens(emulator), sts_endpoint=None, iam_endpoint=None)
    assert creds.token_url == "https://sts.googleapis.com/v1/token"
    assert creds.impersonation_url == (
        f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{GSA}"
        ":generateAccessToken"
    )


def test_expired_token_is_renewed_with_a_new_ksa_token(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    creds = _creds(emulator, tokens, gsa=None)
    headers: dict[str, str] = {}
    _authorize(creds, headers)
    first = creds.token
    assert headers["authorization"] == f"Bearer {first}"
    creds.expiry = dt.datetime(2000, 1, 1)
    _authorize(creds, headers)
    assert creds.token != first and len(tokens.calls) == 2


def test_concurrent_first_use_exchanges_once(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    creds = _creds(emulator, tokens)
    barrier = threading.Barrier(8)

    def use() -> None:
        barrier.wait()
        _authorize(creds, {})

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(tokens.calls) == 1 and creds.valid


# ---- failures -------------------------------------------------------------------------------


def test_sts_refusal_is_final(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator, audiences=["not-the-pool"])  # a KSA token STS must refuse
    creds = _creds(emulator, tokens)
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator, tokens))
    assert err.message.startswith(
        "unable to get credentials: unable to fetch identitybindingtoken: STS returned HTTP 400 "
        "(invalid_grant:"
    )
    assert not err.retryable and err.reason == "InvalidCredentials"
    assert not creds.valid


def test_wrong_cluster_is_refused(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    creds = _creds(emulator, tokens, cluster_name="other")
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator, tokens))
    assert "invalid_target" in err.message and not err.retryable


def test_sts_echoing_the_subject_token_is_redacted(emulator: GCPIdentityEmulator) -> None:
    inner = Tokens(emulator)

    def echoing(audiences: list[str]) -> str:
        token = inner(audiences)
        emulator.fail_next(
            "sts", 400, {"error": "invalid_grant", "error_description": f"bad token {token}"}
        )
        return token

    creds = _creds(emulator, echoing)
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator, inner))
    assert "bad token <redacted>" in err.message


def test_iam_5xx_is_retryable_and_the_retry_succeeds(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    creds = _creds(emulator, tokens)
    emulator.fail_next("iam", 503)
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator, tokens))
    assert err.message.startswith(
        "unable to get credentials: unable to generate gcp access token: IAM Credentials "
        "returned HTTP 503"
    )
    assert err.retryable and err.reason == "Unavailable"
    refresh_credentials(creds)
    assert creds.valid and creds.token == emulator.grants[-1].token


def test_iam_refusal_is_final(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    creds = _creds(emulator, tokens, gsa="stranger@secrets-proj.iam.gserviceaccount.com")
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator, tokens))
    assert "HTTP 403 (PERMISSION_DENIED:" in err.message
    assert not err.retryable and err.reason == "PermissionDenied"


def test_refresh_raises_a_classified_refresh_error(emulator: GCPIdentityEmulator) -> None:
    emulator.fail_next("sts", 500)
    creds = _creds(emulator, Tokens(emulator))
    with pytest.raises(WorkloadIdentityRefreshError) as info:
        creds.refresh(Request())
    assert info.value.retryable and info.value.provider_error.retryable


def test_unreachable_sts_is_retryable(emulator: GCPIdentityEmulator) -> None:
    tokens = Tokens(emulator)
    creds = _creds(emulator, tokens, sts_endpoint="https://127.0.0.1:9")
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator, tokens))
    assert "could not reach STS" in err.message and err.retryable


def test_untrusted_certificate_is_not_accepted(emulator: GCPIdentityEmulator) -> None:
    creds = _creds(emulator, Tokens(emulator), ca_bundle=None)  # system trust only
    err = _raises(lambda: refresh_credentials(creds), lambda: _all_tokens(emulator))
    assert "could not reach STS" in err.message


def test_token_source_errors(emulator: GCPIdentityEmulator) -> None:
    def transient(audiences: list[str]) -> str:
        raise ProviderError("TokenRequest failed: 503", retryable=True, reason="Unavailable")

    def buggy(audiences: list[str]) -> str:
        raise RuntimeError("secret-ish detail eyJhbGciOi")

    err = _raises(lambda: refresh_credentials(_creds(emulator, transient)), lambda: [])
    assert err.message == (
        "unable to get credentials: unable to fetch pod token: TokenRequest failed: 503"
    )
    assert err.retryable
    err = _raises(lambda: refresh_credentials(_creds(emulator, buggy)), lambda: ["eyJhbGciOi"])
    assert err.message.endswith("unable to fetch pod token: RuntimeError") and not err.retryable
    err = _raises(lambda: refresh_credentials(_creds(emulator, lambda a: "")), lambda: [])
    assert "returned no token" in err.message


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"cluster_name": ""}, "clusterName is empty"),
        ({"project_number_or_id": "a/b"}, "clusterProjectID is empty or malformed"),
        ({"gsa": "not-an-email"}, "is not an email"),
        ({"gsa": "a@b/c:d"}, "is not an email"),
        ({"sts_endpoint": "http://127.0.0.1:1"}, "must be https"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "is not a file"),
    ],
)
def test_invalid_configuration(
    emulator: GCPIdentityEmulator, overrides: dict[str, Any], text: str
) -> None:
    err = _raises(lambda: _creds(emulator, Tokens(emulator), **overrides), lambda: [])
    assert text in err.message and not err.retryable and err.reason == "InvalidConfig"


# ---- the provider ---------------------------------------------------------------------------


def test_provider_builds_a_client_with_the_credentials(emulator: GCPIdentityEmulator) -> None:
    creds = _creds(emulator, Tokens(emulator))
    cfg = GCPConfig(project_id="secrets-proj", credentials=creds, endpoint="127.0.0.1:1")
    client = shared_client(cfg)
    transport: Any = client.transport
    assert transport._credentials is creds
    assert shared_client(GCPConfig(project_id="x", credentials=creds, endpoint="127.0.0.1:1")) is (
        client
    )
    other = _creds(emulator, Tokens(emulator))
    other_client = shared_client(
        GCPConfig(project_id="x", credentials=other, endpoint="127.0.0.1:1")
    )
    assert other_client is not client
    provider = GCPSecretManagerProvider.from_config(cfg)
    assert provider is not None
    assert "credentials=WorkloadIdentityCredentials" in repr(cfg)


def test_provider_refuses_two_credentials(emulator: GCPIdentityEmulator) -> None:
    creds = _creds(emulator, Tokens(emulator))
    cfg = GCPConfig(project_id="p", credentials=creds, credentials_info={"type": "service_account"})
    err = _raises(lambda: shared_client(cfg), lambda: [])
    assert not err.retryable and err.reason == "InvalidConfig"
    err = _raises(lambda: shared_client(GCPConfig(project_id="p", credentials=object())), list)
    assert "not a google-auth Credentials" in err.message
