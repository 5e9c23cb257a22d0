"""Mapping of our domain errors to Temporal's retry semantics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException
from temporalio.exceptions import ApplicationError

from pushsecret.kube import api_message
from pushsecret.providers.base import ProviderError


def permanent(message: str, reason: str, *details: Any) -> ApplicationError:
    """An error that retrying cannot fix (bad spec, missing object, permission, ownership)."""
    return ApplicationError(message, *details, type=reason, non_retryable=True)


def from_provider(err: ProviderError, prefix: str, *details: Any) -> ApplicationError:
    """A provider failure with an ESO-style prefix; retryable as the provider classified it."""
    delay = timedelta(seconds=err.retry_after) if err.retry_after else None
    return ApplicationError(
        prefix + err.message,
        *details,
        type=err.reason,
        non_retryable=not err.retryable,
        next_retry_delay=delay,
    )


def from_kube(err: ApiException, what: str) -> ApplicationError:
    """A Kubernetes API failure: 5xx, 429 and conflicts retry, the rest do not."""
    retryable = err.status in (409, 429) or (err.status or 0) >= 500
    return ApplicationError(
        f"{what}: {api_message(err)}", type="KubernetesError", non_retryable=not retryable
    )
