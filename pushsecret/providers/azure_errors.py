"""One SDK call of the Azure Key Vault provider, and how its failures become ProviderErrors.

Messages are ours: ``Azure Key Vault <Operation> on <vault>/secrets/<name> failed: HTTP <status>
<error code>[/<innererror code>]``, followed by the service's own text only for 400, 404 and
409 (those name the secret and the rule), truncated, and dropped entirely when it contains a
value the caller asked us to protect. 403 texts are never quoted (they name the caller's
identity and roles). ``str(exc)`` of SDK exceptions never goes into a message (only AADSTS
codes are picked out of credential errors) and the original exception is not chained
(``from None``), so a logged traceback cannot print a response body.

Retryable (``reason``): 429 (``RateLimited``), 408 (``Timeout``), 500 (``Internal``), 502/503/504
and other 5xx (``Unavailable``), 409 ``ObjectIsBeingRecovered``/``ObjectIsBeingDeleted``
(``Conflict``: the service finishes a recover/purge in the background), and transport
failures (``ServiceRequestError``/``ServiceResponseError``: ``Unavailable``). ``retry_after``
comes from ``Retry-After`` (seconds or an HTTP date), ``retry-after-ms`` or
``x-ms-retry-after-ms``; a token endpoint that cannot be reached is ``Unavailable`` too.
Final: 400 (``InvalidArgument``), 401 and rejected credentials (``Unauthenticated``), 403
(``PermissionDenied``, or ``SecretDisabled``), 404 (``NotFound``), 409
``ObjectIsDeletedButRecoverable`` (``DeletedButRecoverable``, which the provider handles),
other 409s (``Conflict``), any other status, a challenge that fails resource verification
(``InvalidConfig``) and anything unexpected (``Unexpected``).
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from azure.core import exceptions as azexc

from pushsecret.providers.base import ProviderError

__all__ = ["call", "error_from", "inner_code", "retry_after"]

_T = TypeVar("_T")

_RETRYABLE_STATUS = {408: "Timeout", 429: "RateLimited", 500: "Internal"}
_FINAL_STATUS = {
    400: "InvalidArgument",
    401: "Unauthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    409: "Conflict",
}
_QUOTABLE = {400, 404, 409}
_TRANSIENT_CONFLICTS = {"ObjectIsBeingRecovered", "ObjectIsBeingDeleted"}
_MAX_QUOTED = 300
_AADSTS_RE = re.compile(r"\bAADSTS\d+\b")


def inner_code(exc: azexc.HttpResponseError) -> str | None:
    """The ``error.innererror.code`` of a Key Vault error response, if any."""
    error: Any = exc.error
    inner = getattr(error, "innererror", None)
    if isinstance(inner, dict):
        code = inner.get("code")
        return code if isinstance(code, str) else None
    return None


def _error_code(exc: azexc.HttpResponseError) -> str:
    error: Any = exc.error
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else ""


def _service_message(exc: azexc.HttpResponseError) -> str:
    error: Any = exc.error
    message = getattr(error, "message", None)
    return message.strip() if isinstance(message, str) else ""


def _header(exc: azexc.HttpResponseError, name: str) -> str | None:
    response: Any = exc.response
    if response is None:
        return None
    value = response.headers.get(name)
    return value if isinstance(value, str) else None


def retry_after(exc: azexc.HttpResponseError) -> float | None:
    """Seconds the service asked us to wait (the headers azure-core's RetryPolicy honours)."""
    for name, scale in (("retry-after-ms", 1000.0), ("x-ms-retry-after-ms", 1000.0)):
        raw = _header(exc, name)
        if raw is not None:
            try:
                return max(0.0, float(raw) / scale)
            except ValueError:
                pass
    raw = _header(exc, "Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _contains_any(text: str, values: Iterable[bytes]) -> bool:
    # Values shorter than 4 bytes ("1", "true") would match innocent text and hide every
    # service message; they are not worth that.
    return any(len(v) >= 4 and v.decode("utf-8", "replace") in text for v in values)


def error_from(
    op: str, resource: str, exc: azexc.HttpResponseError, *, protect: Iterable[bytes] = ()
) -> ProviderError:
    """The ProviderError for an HTTP error of ``op`` on ``resource`` (see the module doc)."""
    status = exc.status_code or 0
    code = _error_code(exc)
    inner = inner_code(exc)
    label = code + (f"/{inner}" if inner else "")
    message = f"Azure Key Vault {op} on {resource} failed: HTTP {status}"
    if label:
        message += f" {label}"
    text = _service_message(exc)
    if status in _QUOTABLE and text and not _contains_any(text, protect):
        message += f": {text[:_MAX_QUOTED]}"
    if status in _RETRYABLE_STATUS or status >= 500:
        reason = _RETRYABLE_STATUS.get(status, "Unavailable")
        return ProviderError(message, retryable=True, reason=reason, retry_after=retry_after(exc))
    if status == 409 and inner in _TRANSIENT_CONFLICTS:
        return ProviderError(message, retryable=True, reason="Conflict", retry_after=2.0)
    if status == 409 and inner == "ObjectIsDeletedButRecoverable":
        return ProviderError(message, retryable=False, reason="DeletedButRecoverable")
    if status == 403 and inner == "SecretDisabled":
        return ProviderError(message, retryable=False, reason="SecretDisabled")
    reason = _FINAL_STATUS.get(status, f"Http{status}")
    return ProviderError(message, retryable=False, reason=reason)


def _caused_by_transport(exc: BaseException) -> bool:
    seen: set[int] = set()
    cause: BaseException | None = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, azexc.ServiceRequestError | azexc.ServiceResponseError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def call(op: str, resource: str, fn: Callable[[], _T], *, protect: Iterable[bytes] = ()) -> _T:
    """Run one SDK call; any failure is raised as a ProviderError (see the module doc)."""
    try:
        return fn()
    except azexc.ClientAuthenticationError as exc:
        if exc.response is not None:
            # The vault's 401 (after the SDK's one re-challenge), or a token endpoint's error
            # response (a 429/5xx there is as transient as one from the vault).
            raise error_from(op, resource, exc, protect=protect) from None
        if _caused_by_transport(exc):
            # azure-identity wraps a network failure of the token endpoint into an
            # authentication error (``raise ... from ex``): it is as transient as any other.
            raise ProviderError(
                f"Azure Key Vault {op} on {resource} failed: could not reach the token "
                f"endpoint ({type(exc).__name__})",
                retryable=True,
                reason="Unavailable",
            ) from None
        codes = sorted(set(_AADSTS_RE.findall(exc.message or "")))
        detail = f", {', '.join(codes)}" if codes else ""
        raise ProviderError(
            f"Azure Key Vault {op} on {resource} failed: could not get a token "
            f"({type(exc).__name__}{detail})",
            retryable=False,
            reason="Unauthenticated",
        ) from None
    except azexc.HttpResponseError as exc:
        raise error_from(op, resource, exc, protect=protect) from None
    except (azexc.ServiceRequestError, azexc.ServiceResponseError) as exc:
        raise ProviderError(
            f"Azure Key Vault {op} on {resource} failed: could not reach the service "
            f"({type(exc).__name__})",
            retryable=True,
            reason="Unavailable",
        ) from None
    except ProviderError:
        raise
    except ValueError as exc:
        if "challenge" in str(exc):
            # azure-keyvault's resource verification: the vault's 401 challenge names a
            # resource whose domain the vault host is not under.
            raise ProviderError(
                f"Azure Key Vault {op} on {resource} failed: the vault's authentication "
                "challenge names a resource that does not match the vault's host "
                "(verify_challenge_resource)",
                retryable=False,
                reason="InvalidConfig",
            ) from None
        raise ProviderError(
            f"Azure Key Vault {op} on {resource} failed unexpectedly ({type(exc).__name__})",
            retryable=False,
            reason="Unexpected",
        ) from None
    except Exception as exc:
        # Not an API answer (a bug or a library change): name it, do not quote it.
        raise ProviderError(
            f"Azure Key Vault {op} on {resource} failed unexpectedly ({type(exc).__name__})",
            retryable=False,
            reason="Unexpected",
        ) from None
