"""One SDK call of the GCP provider, and how its failures become :class:`ProviderError`.

Messages are ours: ``GCP Secret Manager <Method> on <resource> failed: <CODE>``, followed by
the service's own text only for NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION and
ALREADY_EXISTS (those name resources and rules), truncated, and dropped entirely when it
contains any value the caller asked us to protect. ``str(exc)`` of SDK exceptions is never
used; the original exception is not chained either (``from None``), so a logged traceback
cannot print it.

Retryable (``reason``): UNAVAILABLE (``Unavailable``), RESOURCE_EXHAUSTED (``RateLimited``,
``retry_after`` from the ``google.rpc.RetryInfo`` detail), DEADLINE_EXCEEDED (``Timeout``),
INTERNAL, ABORTED, UNKNOWN, CANCELLED, ALREADY_EXISTS (a racing creator: the next attempt
reads the secret), a token-endpoint transport failure, and FAILED_PRECONDITION when the caller
says the call carried an etag (``Conflict``: someone changed the resource between our read and
our write; a fresh attempt re-reads). Everything else is final, with ``reason`` the CamelCase
code name (``PermissionDenied``, ``Unauthenticated``, ``InvalidArgument``, ``NotFound``, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import grpc
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth_exceptions

from pushsecret.providers.base import ProviderError

__all__ = ["VersionNotEnabled", "call", "error_from", "version_number"]

_T = TypeVar("_T")

_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "RateLimited",
    grpc.StatusCode.DEADLINE_EXCEEDED: "Timeout",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.CANCELLED: "Cancelled",
}
_QUOTABLE = {
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
}
_MAX_QUOTED = 300
_STATE_RE = re.compile(r"(DISABLED|DESTROYED) state")
_VERSION_NAME_RE = re.compile(r"\[([^\]]+/versions/[^\]]+)\]")


class VersionNotEnabled(Exception):
    """AccessSecretVersion hit a DISABLED or DESTROYED version (FAILED_PRECONDITION with the
    service's ``is in <STATE> state`` text). Internal to the provider, which always turns it
    into a ProviderError or a result."""

    def __init__(self, state: str, version: str | None) -> None:
        super().__init__(state)
        self.state = state
        self.version = version


def version_number(version_name: str) -> str:
    """``"3"`` for ``projects/p/secrets/s/versions/3``."""
    return version_name.rsplit("/", 1)[-1]


def _status(exc: gexc.GoogleAPICallError) -> grpc.StatusCode | None:
    code = exc.grpc_status_code
    return code if isinstance(code, grpc.StatusCode) else None


def _retry_after(exc: gexc.GoogleAPICallError) -> float | None:
    for detail in exc.details or ():
        descriptor = getattr(detail, "DESCRIPTOR", None)
        if descriptor is not None and descriptor.full_name == "google.rpc.RetryInfo":
            delay = detail.retry_delay
            return float(delay.seconds) + float(delay.nanos) / 1e9
    return None


def _contains_any(text: str, values: Iterable[bytes]) -> bool:
    # Values shorter than 4 bytes ("1", "true") would match innocent text and hide every
    # service message; they are not worth that.
    return any(len(v) >= 4 and v.decode("utf-8", "replace") in text for v in values)


def error_from(
    method: str,
    resource: str,
    exc: gexc.GoogleAPICallError,
    *,
    protect: Iterable[bytes] = (),
    conflict_retryable: bool = False,
) -> ProviderError:
    """The ProviderError for an API error of ``method`` on ``resource`` (see module doc)."""
    code = _status(exc)
    code_name = code.name if code is not None else type(exc).__name__
    message = f"GCP Secret Manager {method} on {resource} failed: {code_name}"
    service_text = (exc.message or "").strip()
    if code in _QUOTABLE and service_text and not _contains_any(service_text, protect):
        message += f": {service_text[:_MAX_QUOTED]}"
    if code in _RETRYABLE:
        return ProviderError(
            message, retryable=True, reason=_RETRYABLE[code], retry_after=_retry_after(exc)
        )
    if code == grpc.StatusCode.FAILED_PRECONDITION and conflict_retryable:
        return ProviderError(message, retryable=True, reason="Conflict")
    if code == grpc.StatusCode.ALREADY_EXISTS:
        return ProviderError(message, retryable=True, reason="AlreadyExists")
    reason = "".join(p.capitalize() for p in code.name.split("_")) if code else "ProviderError"
    return ProviderError(message, retryable=False, reason=reason)


def call(
    method: str,
    resource: str,
    fn: Callable[..., _T],
    request: dict[str, Any],
    *,
    timeout: float,
    protect: Iterable[bytes] = (),
    conflict_retryable: bool = False,
) -> _T:
    """``fn(request=request)`` with SDK retries off and ``timeout`` seconds; any failure is
    raised as ProviderError (or :class:`VersionNotEnabled` for AccessSecretVersion)."""
    try:
        return fn(request=request, retry=None, timeout=timeout)
    except gexc.GoogleAPICallError as exc:
        if method == "AccessSecretVersion" and _status(exc) == grpc.StatusCode.FAILED_PRECONDITION:
            state = _STATE_RE.search(exc.message or "")
            if state is not None:
                found = _VERSION_NAME_RE.search(exc.message or "")
                version = version_number(found.group(1)) if found else None
                raise VersionNotEnabled(state.group(1), version) from None
        raise error_from(
            method, resource, exc, protect=protect, conflict_retryable=conflict_retryable
        ) from None
    except gexc.RetryError:
        raise ProviderError(
            f"GCP Secret Manager {method} on {resource} failed: DEADLINE_EXCEEDED",
            retryable=True,
            reason="Timeout",
        ) from None
    except auth_exceptions.TransportError as exc:
        raise ProviderError(
            f"GCP Secret Manager {method} on {resource} failed: could not reach the token "
            f"endpoint ({type(exc).__name__})",
            retryable=True,
            reason="Unavailable",
        ) from None
    except auth_exceptions.GoogleAuthError as exc:
        raise ProviderError(
            f"GCP Secret Manager {method} on {resource} failed: credentials rejected "
            f"({type(exc).__name__})",
            retryable=False,
            reason="Unauthenticated",
        ) from None
    except ProviderError:
        raise
    except Exception as exc:
        # Not an API answer (a bug or a library change): name it, do not quote it.
        raise ProviderError(
            f"GCP Secret Manager {method} on {resource} failed unexpectedly ({type(exc).__name__})",
            retryable=False,
            reason="Unexpected",
        ) from None
