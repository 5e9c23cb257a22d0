"""An in-memory Google Cloud Secret Manager (v1 gRPC API) for tests and local runs.

It serves ``google.cloud.secretmanager.v1.SecretManagerService`` on a plaintext gRPC port using
the SDK's own proto-plus message classes for (de)serialisation (generic handlers, no protoc),
so the official clients, sync and async, talk to it unchanged over an insecure channel.

Emulated, with the service's status codes and (where known) its wording:

* Secrets, global (``projects/p/secrets/s``) and regional (``projects/p/locations/l/secrets/s``):
  CreateSecret (secret id ``[A-Za-z0-9_-]{1,255}``; replication required for global secrets and
  rejected for regional ones; labels, annotations and topics validated), GetSecret,
  UpdateSecret (only the ``update_mask`` paths; ``labels``/``annotations`` replace the whole
  map; replication is immutable), DeleteSecret (removes every version), ListSecrets (paging,
  ``name:``/``labels.k=v``/``labels.k:*`` filters). Every mutation changes the quoted etag, and
  a stale etag gives FAILED_PRECONDITION.
* Versions: AddSecretVersion (numbers from 1, payload 1..65536 bytes, ``data_crc32c`` verified
  when sent), GetSecretVersion and AccessSecretVersion (``latest`` is the highest number;
  the access response names the resolved version and carries the payload CRC32C),
  ListSecretVersions (newest first, ``state:`` filters, paging), Enable/Disable/Destroy with
  etags. Accessing a DISABLED or DESTROYED version gives FAILED_PRECONDITION ``Secret Version
  [...] is in DISABLED state.``; a missing or versionless secret gives NOT_FOUND ``Secret
  [...] not found or has no versions.``. Destroying clears the payload and sets destroy_time.
* Test hooks: :meth:`GcpSecretManagerEmulator.fail_next` makes the next N calls of a method
  fail with a status code (optionally with a ``RetryInfo`` delay), :attr:`calls` counts calls
  per method, and :meth:`versions`/:meth:`get_secret` inspect state without an RPC.

Not emulated: IAM (SetIamPolicy & co.; every caller is allowed), authentication (metadata is
ignored), project numbers (names echo what the client sent), expiry/TTL and
``version_destroy_ttl`` (stored, never acted on), rotation and Pub/Sub notifications, version
aliases in resource names, checks that topics or KMS keys exist, the REST transport, quotas.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import re
import signal
import threading
import unicodedata
from collections import Counter, deque
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType, TracebackType
from typing import Any, NoReturn, Self

import google_crc32c
import grpc
from google.cloud import secretmanager_v1 as sm
from google.protobuf import any_pb2, duration_pb2, empty_pb2
from google.rpc import error_details_pb2, status_pb2

__all__ = ["SERVICE", "GcpSecretManagerEmulator", "crc32c", "main"]

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"

MAX_PAYLOAD_BYTES = 65536
MAX_LABELS = 64
MAX_ANNOTATIONS_BYTES = 16384
_MAX_PAGE_SIZE = 25000

_State: Any = sm.SecretVersion.State

_PARENT_RE = re.compile(r"^projects/([^/]+)(?:/locations/([^/]+))?$")
_SECRET_RE = re.compile(r"^projects/([^/]+)(?:/locations/([^/]+))?/secrets/([^/]+)$")
_VERSION_RE = re.compile(r"^(projects/[^/]+(?:/locations/[^/]+)?/secrets/[^/]+)/versions/([^/]+)$")
_SECRET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_TOPIC_RE = re.compile(r"^projects/[^/]+/topics/[^/]+$")
_ANNOTATION_KEY_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")

# Paths UpdateSecret accepts in its mask (Secret fields that are mutable).
_UPDATABLE = frozenset(
    {
        "labels",
        "annotations",
        "topics",
        "expire_time",
        "ttl",
        "rotation",
        "version_aliases",
        "version_destroy_ttl",
        "customer_managed_encryption",
    }
)


# --------------------------------------------------------------------------------------------
# CRC32C (Castagnoli), which the service uses for payload integrity
# --------------------------------------------------------------------------------------------


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``: the unsigned int Secret Manager keeps in ``data_crc32c``."""
    return int(google_crc32c.value(data))


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class _RpcError(Exception):
    """Raised inside an RPC implementation; turned into a gRPC status by the dispatcher."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Version:
    number: int
    state: Any  # sm.SecretVersion.State
    data: bytes
    crc32c: int
    client_checksum: bool
    create_time: datetime
    etag: str
    destroy_time: datetime | None = None


@dataclass
class _Secret:
    secret: Any  # sm.Secret, the stored resource (output fields included)
    versions: dict[int, _Version] = field(default_factory=dict)
    next_number: int = 1


@dataclass
class _Fault:
    code: grpc.StatusCode
    remaining: int
    message: str
    retry_delay: float | None


def _copy(message: Any) -> Any:
    """A deep copy of a proto-plus message (the store never hands out its own objects)."""
    cls = type(message)
    return cls.deserialize(cls.serialize(message))


def _has(message: Any, name: str) -> bool:
    """Whether a singular message field (or proto3 optional scalar) is present."""
    return bool(type(message).pb(message).HasField(name))


def _not_found_secret(name: str) -> _RpcError:
    return _RpcError(grpc.StatusCode.NOT_FOUND, f"Secret [{name}] not found.")


def _bad_format(name: str, expected: str) -> _RpcError:
    return _RpcError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"The provided Secret ID [{name}] does not match the expected format [{expected}]",
    )


def _stale_etag() -> _RpcError:
    return _RpcError(
        grpc.StatusCode.FAILED_PRECONDITION,
        "The etag provided in the request does not match the current etag of the resource.",
    )


def _is_label_char(ch: str, *, first: bool) -> bool:
    category = unicodedata.category(ch)
    if category in ("Ll", "Lo"):
        return True
    if first:
        return False
    return ch in "_-" or category.startswith("N")


def _validate_labels(labels: dict[str, str]) -> None:
    """The service's label rules: <= 64 labels; keys 1..63 chars starting with a lowercase
    letter, then lowercase letters, digits, ``_`` and ``-``; values 0..63 such chars."""
    if len(labels) > MAX_LABELS:
        raise _RpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"A secret can have at most {MAX_LABELS} labels; got {len(labels)}.",
        )
    for key, value in labels.items():
        key_ok = (
            0 < len(key) <= 63
            and len(key.encode()) <= 128
            and _is_label_char(key[0], first=True)
            and all(_is_label_char(c, first=False) for c in key[1:])
        )
        if not key_ok:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Invalid label key [{key}]: keys must be 1-63 characters, start with a "
                "lowercase letter and contain only lowercase letters, digits, '_' and '-'.",
            )
        value_ok = (
            len(value) <= 63
            and len(value.encode()) <= 128
            and all(_is_label_char(c, first=False) for c in value)
        )
        if not value_ok:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Invalid value for label [{key}]: values must be at most 63 characters of "
                "lowercase letters, digits, '_' and '-'.",
            )


def _validate_annotations(annotations: dict[str, str]) -> None:
    total = 0
    for key, value in annotations.items():
        if not _ANNOTATION_KEY_RE.match(key) or len(key.encode()) > 128:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Invalid annotation key [{key}]: keys must be 1-63 characters, begin and end "
                "with an alphanumeric character and contain only alphanumerics, '-', '_', '.'.",
            )
        total += len(key.encode()) + len(value.encode())
    if total > MAX_ANNOTATIONS_BYTES:
        raise _RpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "The total size of annotation keys and values must be less than 16KiB.",
        )


def _validate_topics(topics: Any) -> None:
    for topic in topics:
        if not _TOPIC_RE.match(topic.name):
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Invalid topic name [{topic.name}]: expected projects/*/topics/*.",
            )


def _validate_replication(replication: Any) -> None:
    kind = type(replication).pb(replication).WhichOneof("replication")
    if kind is None:
        raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, "Field [secret.replication] is required.")
    if kind == "user_managed":
        replicas = replication.user_managed.replicas
        if not replicas:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "Field [secret.replication.user_managed.replicas] must not be empty.",
            )
        seen: set[str] = set()
        for replica in replicas:
            if not replica.location or replica.location in seen:
                raise _RpcError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "Each user-managed replica needs a distinct location.",
                )
            seen.add(replica.location)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("offset:"):
            raise ValueError(token)
        offset = int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid page token.") from exc
    if offset < 0:
        raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, "Invalid page token.")
    return offset


def _page_size(requested: int) -> int:
    if requested < 0:
        raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, "page_size must not be negative.")
    return min(requested or _MAX_PAGE_SIZE, _MAX_PAGE_SIZE)


def _version_filter(expr: str) -> Callable[[_Version], bool]:
    """ListSecretVersions filters: space-separated terms (AND) of ``state:X``/``state=X``,
    optionally negated with ``NOT`` or ``-``. Anything else is INVALID_ARGUMENT."""
    terms: list[tuple[Any, bool]] = []
    tokens = expr.split()
    i = 0
    while i < len(tokens):
        token = tokens[i]
        negate = False
        if token == "NOT" and i + 1 < len(tokens):
            negate, i = True, i + 1
            token = tokens[i]
        elif token.startswith("-"):
            negate, token = True, token[1:]
        match = re.fullmatch(r"state[:=](ENABLED|DISABLED|DESTROYED)", token, re.IGNORECASE)
        if match is None:
            raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid filter [{expr}].")
        state = _State[match.group(1).upper()]

        terms.append((state, negate))
        i += 1

    def keep(v: _Version) -> bool:
        return all((v.state == state) != negate for state, negate in terms)

    return keep


def _secret_filter(expr: str) -> Callable[[str, Any], bool]:
    """ListSecrets filters: space-separated terms (AND) of ``name:SUB``, ``labels.K=V``,
    ``labels.K:V`` and ``labels.K:*``. Anything else is INVALID_ARGUMENT."""
    # (kind, key, value): ("name", substring, ""), ("has", label key, ""), ("eq", key, value)
    terms: list[tuple[str, str, str]] = []
    for token in expr.split():
        name_match = re.fullmatch(r"name:(.+)", token)
        label_match = re.fullmatch(r"labels\.([^=:]+)([=:])(.*)", token)
        if name_match:
            terms.append(("name", name_match.group(1), ""))
        elif label_match:
            key, op, value = label_match.groups()
            terms.append(("has", key, "") if op == ":" and value == "*" else ("eq", key, value))
        else:
            raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid filter [{expr}].")

    def keep(secret_id: str, secret: Any) -> bool:
        labels = dict(secret.labels)
        for kind, key, value in terms:
            if kind == "name" and key not in secret_id:
                return False
            if kind == "has" and key not in labels:
                return False
            if kind == "eq" and labels.get(key) != value:
                return False
        return True

    return keep


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


class GcpSecretManagerEmulator:
    """An in-memory Secret Manager gRPC server. Thread-safe; every RPC runs under one lock.

    Use as a context manager, or call :meth:`start` / :meth:`stop`::

        with GcpSecretManagerEmulator() as emu:
            channel = grpc.insecure_channel(emu.address)
    """

    def __init__(self, *, max_workers: int = 16) -> None:
        self._lock = threading.RLock()
        self._secrets: dict[str, _Secret] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._calls: Counter[str] = Counter()
        self._etags = itertools.count(1)
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._address: str | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving on ``host:port`` (0 picks a free port); returns ``"host:PORT"``."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._max_workers))
        server.add_generic_rpc_handlers((self._generic_handler(),))
        bound = server.add_insecure_port(f"{host}:{port}")
        if bound == 0:
            raise RuntimeError(f"could not bind {host}:{port}")
        server.start()
        self._server = server
        self._address = f"{host}:{bound}"
        return self._address

    def stop(self, grace: float | None = None) -> None:
        """Stop serving (in-flight calls are cancelled unless ``grace`` is given). Idempotent."""
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def wait(self) -> None:
        """Block until the server stops (used by ``python -m``)."""
        if self._server is not None:
            self._server.wait_for_termination()

    @property
    def address(self) -> str:
        """``host:port`` the server listens on; raises when not started."""
        if self._address is None:
            raise RuntimeError("emulator not started")
        return self._address

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

    # ---- test hooks ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        code: grpc.StatusCode,
        times: int = 1,
        *,
        message: str | None = None,
        retry_delay: float | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (e.g. ``"AddSecretVersion"``) fail with
        ``code`` before touching any state. ``retry_delay`` attaches a ``google.rpc.RetryInfo``
        detail, as the service does for quota errors. Faults queue up in call order."""
        if times < 1:
            raise ValueError("times must be >= 1")
        text = message if message is not None else f"injected {code.name} for {method}"
        with self._lock:
            self._faults.setdefault(method, deque()).append(_Fault(code, times, text, retry_delay))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def calls(self) -> Counter[str]:
        """A snapshot of how many times each method was called (failed calls included)."""
        with self._lock:
            return Counter(self._calls)

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """Forget every secret, fault and call count."""
        with self._lock:
            self._secrets.clear()
            self._faults.clear()
            self._calls.clear()

    def secret_names(self) -> list[str]:
        with self._lock:
            return list(self._secrets)

    def get_secret(self, name: str) -> Any:
        """A copy of the stored ``sm.Secret`` ``name``, or None."""
        with self._lock:
            record = self._secrets.get(name)
            return None if record is None else _copy(record.secret)

    def versions(self, name: str) -> list[tuple[int, str, bytes]]:
        """``(number, state name, data)`` of every version of secret ``name``, oldest first
        (empty data once destroyed); ``[]`` when the secret does not exist."""
        with self._lock:
            record = self._secrets.get(name)
            if record is None:
                return []
            return [(v.number, v.state.name, v.data) for v in record.versions.values()]

    # ---- dispatch -----------------------------------------------------------------------

    def _generic_handler(self) -> grpc.GenericRpcHandler:
        def unary(
            method: str, impl: Callable[[Any], Any], req_cls: Any, resp_ser: Callable[[Any], bytes]
        ) -> grpc.RpcMethodHandler:
            def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
                with self._lock:
                    self._calls[method] += 1
                    fault = self._take_fault(method)
                if fault is not None:
                    self._abort(context, fault.code, fault.message, fault.retry_delay)
                try:
                    with self._lock:
                        return impl(request)
                except _RpcError as err:
                    self._abort(context, err.code, err.message, None)

            return grpc.unary_unary_rpc_method_handler(
                behaviour, request_deserializer=req_cls.deserialize, response_serializer=resp_ser
            )

        empty = empty_pb2.Empty.SerializeToString
        handlers = {
            "CreateSecret": unary(
                "CreateSecret", self._create_secret, sm.CreateSecretRequest, sm.Secret.serialize
            ),
            "GetSecret": unary(
                "GetSecret", self._get_secret, sm.GetSecretRequest, sm.Secret.serialize
            ),
            "UpdateSecret": unary(
                "UpdateSecret", self._update_secret, sm.UpdateSecretRequest, sm.Secret.serialize
            ),
            "DeleteSecret": unary(
                "DeleteSecret", self._delete_secret, sm.DeleteSecretRequest, empty
            ),
            "ListSecrets": unary(
                "ListSecrets",
                self._list_secrets,
                sm.ListSecretsRequest,
                sm.ListSecretsResponse.serialize,
            ),
            "AddSecretVersion": unary(
                "AddSecretVersion",
                self._add_version,
                sm.AddSecretVersionRequest,
                sm.SecretVersion.serialize,
            ),
            "GetSecretVersion": unary(
                "GetSecretVersion",
                self._get_version,
                sm.GetSecretVersionRequest,
                sm.SecretVersion.serialize,
            ),
            "AccessSecretVersion": unary(
                "AccessSecretVersion",
                self._access_version,
                sm.AccessSecretVersionRequest,
                sm.AccessSecretVersionResponse.serialize,
            ),
            "ListSecretVersions": unary(
                "ListSecretVersions",
                self._list_versions,
                sm.ListSecretVersionsRequest,
                sm.ListSecretVersionsResponse.serialize,
            ),
            "DisableSecretVersion": unary(
                "DisableSecretVersion",
                lambda r: self._set_state(r, _State.DISABLED),
                sm.DisableSecretVersionRequest,
                sm.SecretVersion.serialize,
            ),
            "EnableSecretVersion": unary(
                "EnableSecretVersion",
                lambda r: self._set_state(r, _State.ENABLED),
                sm.EnableSecretVersionRequest,
                sm.SecretVersion.serialize,
            ),
            "DestroySecretVersion": unary(
                "DestroySecretVersion",
                lambda r: self._set_state(r, _State.DESTROYED),
                sm.DestroySecretVersionRequest,
                sm.SecretVersion.serialize,
            ),
        }
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault

    @staticmethod
    def _abort(
        context: grpc.ServicerContext,
        code: grpc.StatusCode,
        message: str,
        retry_delay: float | None,
    ) -> NoReturn:
        if retry_delay is not None:
            # How the service (and grpcio-status) carry details: a google.rpc.Status in the
            # grpc-status-details-bin trailer, which google.api_core parses into exc.details.
            delay = duration_pb2.Duration()
            delay.FromTimedelta(timedelta(seconds=retry_delay))
            detail = any_pb2.Any()
            detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
            status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
            context.set_trailing_metadata(
                (("grpc-status-details-bin", status.SerializeToString()),)
            )
        context.abort(code, message)
        raise AssertionError("unreachable: ServicerContext.abort raises")

    # ---- helpers ------------------------------------------------------------------------

    def _new_etag(self) -> str:
        return f'"{next(self._etags):014x}"'

    def _record(self, name: str) -> _Secret:
        if not _SECRET_RE.match(name):
            raise _bad_format(name, "projects/*/secrets/*")
        record = self._secrets.get(name)
        if record is None:
            raise _not_found_secret(name)
        return record

    def _resolve(self, name: str, *, for_access: bool = False) -> tuple[_Secret, _Version]:
        """The version a ``.../versions/{N|latest}`` name designates."""
        match = _VERSION_RE.match(name)
        if not match:
            raise _bad_format(name, "projects/*/secrets/*/versions/*")
        secret_name, version_id = match.groups()
        record = self._secrets.get(secret_name)
        if record is None or (version_id == "latest" and not record.versions):
            if for_access:
                raise _RpcError(
                    grpc.StatusCode.NOT_FOUND,
                    f"Secret [{secret_name}] not found or has no versions.",
                )
            if record is None:
                raise _not_found_secret(secret_name)
            raise _RpcError(grpc.StatusCode.NOT_FOUND, f"Secret Version [{name}] not found.")
        if version_id == "latest":
            return record, record.versions[max(record.versions)]
        if not version_id.isdigit() or int(version_id) < 1:
            raise _bad_format(name, "projects/*/secrets/*/versions/*")
        version = record.versions.get(int(version_id))
        if version is None:
            raise _RpcError(grpc.StatusCode.NOT_FOUND, f"Secret Version [{name}] not found.")
        return record, version

    @staticmethod
    def _version_message(secret_name: str, v: _Version) -> Any:
        msg: Any = sm.SecretVersion(
            name=f"{secret_name}/versions/{v.number}",
            create_time=v.create_time,
            state=v.state,
            etag=v.etag,
            client_specified_payload_checksum=v.client_checksum,
        )
        if v.destroy_time is not None:
            msg.destroy_time = v.destroy_time
        return msg

    # ---- secrets ------------------------------------------------------------------------

    def _create_secret(self, req: Any) -> Any:
        parent = _PARENT_RE.match(req.parent)
        if not parent:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Resource ID [{req.parent}] is not in a valid format.",
            )
        if not _SECRET_ID_RE.match(req.secret_id):
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"The provided Secret ID [{req.secret_id}] does not match the expected format "
                "[[a-zA-Z_0-9-]{1,255}]",
            )
        regional = parent.group(2) is not None
        incoming = req.secret
        if regional:
            if _has(incoming, "replication"):
                raise _RpcError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "Replication policy cannot be set for regional secrets.",
                )
        else:
            _validate_replication(incoming.replication)
        _validate_labels(dict(incoming.labels))
        _validate_annotations(dict(incoming.annotations))
        _validate_topics(incoming.topics)
        name = f"{req.parent}/secrets/{req.secret_id}"
        if name in self._secrets:
            raise _RpcError(grpc.StatusCode.ALREADY_EXISTS, f"Secret [{name}] already exists.")

        stored = _copy(incoming)
        now = datetime.now(UTC)
        stored.name = name
        stored.create_time = now
        stored.etag = self._new_etag()
        stored.tags.clear()  # input only
        if _has(incoming, "ttl"):
            stored.expire_time = now + incoming.ttl
            stored.ttl = None
        self._secrets[name] = _Secret(stored)
        return _copy(stored)

    def _get_secret(self, req: Any) -> Any:
        return _copy(self._record(req.name).secret)

    def _update_secret(self, req: Any) -> Any:
        incoming = req.secret
        record = self._record(incoming.name)
        paths = list(req.update_mask.paths)
        if not paths:
            raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, "Field [update_mask] is required.")
        for path in paths:
            if path == "replication":
                raise _RpcError(
                    grpc.StatusCode.INVALID_ARGUMENT, "Secret replication cannot be updated."
                )
            if path not in _UPDATABLE:
                raise _RpcError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"Invalid update_mask path [{path}]."
                )
        if incoming.etag and incoming.etag != record.secret.etag:
            raise _stale_etag()
        if "labels" in paths:
            _validate_labels(dict(incoming.labels))
        if "annotations" in paths:
            _validate_annotations(dict(incoming.annotations))
        if "topics" in paths:
            _validate_topics(incoming.topics)

        updated = _copy(record.secret)
        pb_updated = type(updated).pb(updated)
        pb_incoming = type(incoming).pb(incoming)
        for path in paths:
            if path == "ttl":
                if _has(incoming, "ttl"):
                    updated.expire_time = datetime.now(UTC) + incoming.ttl
                continue
            pb_updated.ClearField(path)
            target = getattr(pb_updated, path)
            source = getattr(pb_incoming, path)
            if path in ("labels", "annotations", "version_aliases"):
                target.update(source)
            elif path == "topics":
                target.extend(source)
            elif pb_incoming.HasField(path):
                target.CopyFrom(source)
        updated.etag = self._new_etag()
        record.secret = updated
        return _copy(updated)

    def _delete_secret(self, req: Any) -> Any:
        record = self._record(req.name)
        if req.etag and req.etag != record.secret.etag:
            raise _stale_etag()
        del self._secrets[req.name]
        return empty_pb2.Empty()

    def _list_secrets(self, req: Any) -> Any:
        if not _PARENT_RE.match(req.parent):
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Resource ID [{req.parent}] is not in a valid format.",
            )
        keep = _secret_filter(req.filter)
        prefix = f"{req.parent}/secrets/"
        matching = [
            r.secret
            for name, r in self._secrets.items()
            if name.startswith(prefix) and keep(name.removeprefix(prefix), r.secret)
        ]
        offset, size = _decode_token(req.page_token), _page_size(req.page_size)
        page = matching[offset : offset + size]
        more = offset + size < len(matching)
        return sm.ListSecretsResponse(
            secrets=[_copy(s) for s in page],
            next_page_token=_encode_token(offset + size) if more else "",
            total_size=len(matching),
        )

    # ---- versions -----------------------------------------------------------------------

    def _add_version(self, req: Any) -> Any:
        record = self._record(req.parent)
        payload = req.payload
        data = bytes(payload.data)
        if not data:
            raise _RpcError(grpc.StatusCode.INVALID_ARGUMENT, "Field [payload] is required.")
        if len(data) > MAX_PAYLOAD_BYTES:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Secret Payload cannot be larger than {MAX_PAYLOAD_BYTES // 1024}KiB.",
            )
        checksum = crc32c(data)
        sent = _has(payload, "data_crc32c")
        if sent and payload.data_crc32c != checksum:
            raise _RpcError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "The checksum of the payload data does not match data_crc32c.",
            )
        version = _Version(
            number=record.next_number,
            state=_State.ENABLED,
            data=data,
            crc32c=checksum,
            client_checksum=sent,
            create_time=datetime.now(UTC),
            etag=self._new_etag(),
        )
        record.versions[version.number] = version
        record.next_number += 1
        return self._version_message(req.parent, version)

    def _get_version(self, req: Any) -> Any:
        record, version = self._resolve(req.name)
        return self._version_message(record.secret.name, version)

    def _access_version(self, req: Any) -> Any:
        record, version = self._resolve(req.name, for_access=True)
        resolved = f"{record.secret.name}/versions/{version.number}"
        if version.state != _State.ENABLED:
            raise _RpcError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"Secret Version [{resolved}] is in {version.state.name} state.",
            )
        return sm.AccessSecretVersionResponse(
            name=resolved,
            payload=sm.SecretPayload(data=version.data, data_crc32c=version.crc32c),
        )

    def _list_versions(self, req: Any) -> Any:
        record = self._record(req.parent)
        keep = _version_filter(req.filter)
        matching = [v for v in sorted(record.versions.values(), key=lambda v: -v.number) if keep(v)]
        offset, size = _decode_token(req.page_token), _page_size(req.page_size)
        page = matching[offset : offset + size]
        more = offset + size < len(matching)
        return sm.ListSecretVersionsResponse(
            versions=[self._version_message(req.parent, v) for v in page],
            next_page_token=_encode_token(offset + size) if more else "",
            total_size=len(matching),
        )

    def _set_state(self, req: Any, state: Any) -> Any:
        match = _VERSION_RE.match(req.name)
        if match and not match.group(2).isdigit():
            # Aliases such as "latest" are for reads only.
            raise _bad_format(req.name, "projects/*/secrets/*/versions/[0-9]+")
        record, version = self._resolve(req.name)
        if req.etag and req.etag != version.etag:
            raise _stale_etag()
        if version.state == _State.DESTROYED:
            raise _RpcError(
                grpc.StatusCode.FAILED_PRECONDITION, "SecretVersion.state is already DESTROYED."
            )
        version.state = state
        if state == _State.DESTROYED:
            version.data = b""
            version.destroy_time = datetime.now(UTC)
        version.etag = self._new_etag()
        return self._version_message(record.secret.name, version)


def main(argv: list[str] | None = None) -> int:
    """``python -m emulators.gcp_secret_manager --port N``: serve in the foreground until
    SIGINT/SIGTERM. Prints the address, then the ``SECRETMANAGER_EMULATOR_HOST`` line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    args = parser.parse_args(argv)
    emulator = GcpSecretManagerEmulator()
    address = emulator.start(args.host, args.port)

    def _stop(signum: int, frame: FrameType | None) -> None:
        # Stop from another thread: grpc's stop() must not run inside the signal frame that
        # interrupted wait_for_termination on the main thread.
        threading.Thread(target=emulator.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"GCP Secret Manager emulator listening on {address}", flush=True)
    print(f"export SECRETMANAGER_EMULATOR_HOST={address}", flush=True)
    emulator.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
