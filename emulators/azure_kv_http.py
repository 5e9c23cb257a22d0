"""Routing, fault injection and response helpers of the Azure Key Vault emulator's HTTP layer.

The route table names every operation the emulator serves (the names :meth:`fail_next` and
:attr:`calls` use, after the SDK's method names) with its documented path; ``vault`` routes
need ``api-version`` and a bearer token, identity routes need neither.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aiohttp import web

from emulators.azure_kv_certs import CERT_ROUTES
from emulators.azure_kv_keys import KEY_ROUTES
from emulators.azure_kv_state import KvError, bad_parameter

__all__ = ["OPERATIONS", "ROUTES", "Fault", "FaultQueue", "Route", "json_response", "parse_body"]

_DEFAULT_CODES = {
    400: "BadParameter",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    408: "RequestTimeout",
    409: "Conflict",
    429: "Throttled",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # as documented, e.g. "/secrets/{name}/{version}"
    op: str
    vault: bool  # needs api-version + bearer token

    @cached_property
    def regex(self) -> re.Pattern[str]:
        body = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]*)", self.pattern)
        return re.compile(f"^{body}$")


# Order matters: "/secrets/{name}/versions" before "/secrets/{name}/{version}".
ROUTES = (
    Route("GET", "/secrets", "ListSecrets", True),
    Route("GET", "/secrets/{name}/versions", "ListSecretVersions", True),
    Route("PUT", "/secrets/{name}", "SetSecret", True),
    Route("GET", "/secrets/{name}", "GetSecret", True),
    Route("GET", "/secrets/{name}/{version}", "GetSecret", True),
    Route("PATCH", "/secrets/{name}", "UpdateSecret", True),
    Route("PATCH", "/secrets/{name}/{version}", "UpdateSecret", True),
    Route("DELETE", "/secrets/{name}", "DeleteSecret", True),
    Route("GET", "/deletedsecrets", "ListDeletedSecrets", True),
    Route("GET", "/deletedsecrets/{name}", "GetDeletedSecret", True),
    Route("DELETE", "/deletedsecrets/{name}", "PurgeDeletedSecret", True),
    Route("POST", "/deletedsecrets/{name}/recover", "RecoverDeletedSecret", True),
    *(Route(method, pattern, op, True) for method, pattern, op in KEY_ROUTES + CERT_ROUTES),
    Route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", "OpenIdConfiguration", False),
    Route("POST", "/{tenant}/oauth2/v2.0/token", "Token", False),
    Route("GET", "/msi/token", "ManagedIdentityToken", False),
)

OPERATIONS = frozenset(r.op for r in ROUTES)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """``(route, path parameters, path known?)`` for a request."""
    known = False
    for route in ROUTES:
        found = route.regex.match(path)
        if found is not None:
            known = True
            if route.method == method:
                return route, found.groupdict(), True
    return None, {}, known


def op_of(route_or_op: str) -> str:
    """The operation an operation name or a ``"METHOD /pattern"`` route designates."""
    if route_or_op in OPERATIONS:
        return route_or_op
    for route in ROUTES:
        if route_or_op == f"{route.method} {route.pattern}":
            return route.op
    raise ValueError(f"unknown operation or route {route_or_op!r}")


@dataclass
class Fault:
    status: int
    remaining: int
    code: str
    message: str
    inner_code: str | None
    retry_after: float | None

    def response(self, extra_headers: dict[str, str]) -> web.Response:
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            seconds = self.retry_after
            headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        headers.update(extra_headers)
        err = KvError(self.status, self.code, self.message, self.inner_code)
        return json_response(self.status, err.body(), headers)


class FaultQueue:
    """Injected failures per operation, consumed in order. Not thread-safe on its own."""

    def __init__(self) -> None:
        self._faults: dict[str, deque[Fault]] = {}

    def add(
        self,
        op: str,
        status: int,
        times: int,
        retry_after: float | None,
        code: str | None,
        message: str | None,
        inner_code: str | None,
    ) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(
            status=status,
            remaining=times,
            code=code or _DEFAULT_CODES.get(status, "Error"),
            message=message if message is not None else f"injected {status} for {op}",
            inner_code=inner_code,
            retry_after=retry_after,
        )
        self._faults.setdefault(op, deque()).append(fault)

    def take(self, op: str) -> Fault | None:
        queue = self._faults.get(op)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    def clear(self) -> None:
        self._faults.clear()


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def parse_body(raw: bytes) -> Any:
    """A request's JSON body (None when empty); 400 ``BadParameter`` when not JSON."""
    try:
        return json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_parameter("The request body is not valid JSON.") from None
