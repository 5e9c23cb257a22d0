"""Resource types, API errors and version conversion for the Kubernetes emulator.

A :class:`ResourceType` describes one served ``group/version/plural``. All versions of a resource
share one storage (``ResourceType.storage``); objects are kept in the storage form and converted
on the way in and out (only ``events.k8s.io/v1`` events differ from their storage form, core v1).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

JsonObj = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
BASE_FIELDS = ("metadata.name", "metadata.namespace")


class ApiError(Exception):
    """An error the API server reports as a ``v1 Status`` body with an HTTP status code."""

    def __init__(
        self, code: int, reason: str, message: str, details: JsonObj | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> JsonObj:
        """The ``Status`` object exactly as a real API server would send it."""
        body: JsonObj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


@dataclasses.dataclass(frozen=True)
class Column:
    """A Table column: ``getter`` maps a stored object to the cell value."""

    name: str
    type: str
    getter: Callable[[JsonObj], Any]
    format: str = ""
    priority: int = 0
    description: str = ""


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """One served group/version/plural and the semantics the server applies to it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    # Core kinds without a spec (Secret, ConfigMap, Namespace, ...) carry no metadata.generation.
    tracks_generation: bool = True
    field_selectors: tuple[str, ...] = BASE_FIELDS
    columns: tuple[Column, ...] | None = None  # None: the default Name/Age table
    crd: str | None = None  # the name of the CustomResourceDefinition that defines it
    storage_group: str | None = None  # set when the storage is shared with another group

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage(self) -> tuple[str, str]:
        return (self.group if self.storage_group is None else self.storage_group, self.plural)

    @property
    def qualified(self) -> str:
        """``secrets`` or ``pushsecrets.external-secrets.io``, as used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def details(self, name: str) -> JsonObj:
        found: JsonObj = {"name": name, "kind": self.plural}
        if self.group:
            found["group"] = self.group
        return found

    # The errors this type's endpoints raise; the message formats are the real server's.
    def not_found(self, name: str) -> ApiError:
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', self.details(name))

    def already_exists(self, name: str) -> ApiError:
        msg = f'{self.qualified} "{name}" already exists'
        return ApiError(409, "AlreadyExists", msg, self.details(name))

    def conflict(self, name: str, why: str | None = None) -> ApiError:
        why = why or (
            "the object has been modified; please apply your changes to the latest version"
            " and try again"
        )
        msg = f'Operation cannot be fulfilled on {self.qualified} "{name}": {why}'
        return ApiError(409, "Conflict", msg, self.details(name))

    def invalid(self, name: str, causes: Iterable[tuple[str, str, str]]) -> ApiError:
        """422 Invalid; each cause is ``(reason, field, message)``, e.g. FieldValueForbidden."""
        causes = list(causes)
        text = ", ".join(f"{field}: {message}" for _, field, message in causes)
        text = f"[{text}]" if len(causes) > 1 else text  # how Go aggregates field errors
        details: JsonObj = {"name": name, "kind": self.kind}
        if self.group:
            details["group"] = self.group
        details["causes"] = [
            {"reason": reason, "message": message, "field": field}
            for reason, field, message in causes
        ]
        msg = f'{self.qualified_kind} "{name}" is invalid: {text}'
        return ApiError(422, "Invalid", msg, details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def not_found_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    msg = "the server does not allow this method on the requested resource"
    return ApiError(405, "MethodNotAllowed", msg, {})


def version_key(version: str) -> tuple[int, int, int, str]:
    """Kubernetes' version priority: GA before beta before alpha, higher numbers first."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if match is None:
        return (3, 0, 0, version)
    rank = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    return (rank, -int(match.group(1)), -int(match.group(3) or 0), "")


# ----------------------------------------------------------------------------- built-in types


def _age(obj: JsonObj) -> Any:
    return obj.get("metadata", {}).get("creationTimestamp")


def _count(field: str) -> Callable[[JsonObj], Any]:
    return lambda obj: len(obj.get(field) or {})


def _path(*keys: str) -> Callable[[JsonObj], Any]:
    def get(obj: JsonObj) -> Any:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return get


def _name(obj: JsonObj) -> Any:
    return obj.get("metadata", {}).get("name")


NAME = Column(
    "Name", "string", _name, "name", description="Name must be unique within a namespace."
)
AGE = Column("Age", "date", _age, description="CreationTimestamp of the object.")
DEFAULT_COLUMNS = (NAME, AGE)

_EVENT_FIELDS = (
    *BASE_FIELDS,
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)


def _event_object(obj: JsonObj) -> Any:
    inv = obj.get("involvedObject") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


def _core(plural: str, kind: str, **kwargs: Any) -> ResourceType:
    return ResourceType("", "v1", plural, kind, tracks_generation=False, **kwargs)


def _builtins() -> list[ResourceType]:
    event_columns = (
        Column("Last Seen", "date", lambda o: o.get("lastTimestamp") or o.get("eventTime")),
        Column("Type", "string", _path("type")),
        Column("Reason", "string", _path("reason")),
        Column("Object", "string", _event_object),
        Column("Message", "string", _path("message")),
    )
    return [
        _core(
            "namespaces",
            "Namespace",
            namespaced=False,
            short_names=("ns",),
            subresources=frozenset({"status", "finalize"}),
            field_selectors=(*BASE_FIELDS, "status.phase"),
            columns=(NAME, Column("Status", "string", _path("status", "phase")), AGE),
        ),
        _core(
            "secrets",
            "Secret",
            namespaced=True,
            field_selectors=(*BASE_FIELDS, "type"),
            columns=(
                NAME,
                Column("Type", "string", _path("type")),
                Column("Data", "string", _count("data")),
                AGE,
            ),
        ),
        _core(
            "configmaps",
            "ConfigMap",
            namespaced=True,
            short_names=("cm",),
            columns=(NAME, Column("Data", "string", _count("data")), AGE),
        ),
        _core(
            "serviceaccounts",
            "ServiceAccount",
            namespaced=True,
            short_names=("sa",),
            subresources=frozenset({"token"}),
            columns=(NAME, Column("Secrets", "string", lambda o: len(o.get("secrets") or [])), AGE),
        ),
        _core(
            "events",
            "Event",
            namespaced=True,
            short_names=("ev",),
            field_selectors=_EVENT_FIELDS,
            columns=event_columns,
        ),
        ResourceType(
            group="events.k8s.io",
            version="v1",
            plural="events",
            kind="Event",
            namespaced=True,
            short_names=("ev",),
            tracks_generation=False,
            storage_group="",
            field_selectors=_EVENT_FIELDS,
            columns=event_columns,
        ),
        ResourceType(
            group="apiextensions.k8s.io",
            version="v1",
            plural="customresourcedefinitions",
            kind="CustomResourceDefinition",
            namespaced=False,
            short_names=("crd", "crds"),
            categories=("api-extensions",),
            subresources=frozenset({"status"}),
            columns=(NAME, Column("Created At", "date", _age)),
        ),
    ]


BUILTINS: tuple[ResourceType, ...] = tuple(
    dataclasses.replace(rt, singular=rt.singular or rt.kind.lower()) for rt in _builtins()
)
NAMESPACES = next(rt for rt in BUILTINS if rt.plural == "namespaces")
CRDS = next(rt for rt in BUILTINS if rt.plural == "customresourcedefinitions")
CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


# ----------------------------------------------------------------------------- conversion

# events.k8s.io/v1 field name -> core v1 field name (k8s.io/kubernetes/pkg/apis/events/v1).
_EVENTS_V1_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_CORE_TO_EVENTS_V1 = {core: new for new, core in _EVENTS_V1_TO_CORE.items()}


def _rename(obj: JsonObj, names: dict[str, str]) -> JsonObj:
    return {names.get(key, key): value for key, value in obj.items()}


def to_storage(rt: ResourceType, obj: JsonObj, storage_api_version: str) -> JsonObj:
    """Convert an object as sent to ``rt``'s endpoint into its storage form (a deep copy)."""
    obj = copy.deepcopy(obj)
    if rt.storage_group is not None:  # events.k8s.io/v1 -> v1
        obj = _rename(obj, _EVENTS_V1_TO_CORE)
    obj["apiVersion"] = storage_api_version
    obj["kind"] = rt.kind
    return obj


def from_storage(rt: ResourceType, obj: JsonObj) -> JsonObj:
    """Render a stored object as ``rt``'s version (a deep copy): apiVersion, kind, field names."""
    obj = copy.deepcopy(obj)
    if rt.storage_group is not None:
        obj = _rename(obj, _CORE_TO_EVENTS_V1)
    obj["apiVersion"] = rt.api_version
    obj["kind"] = rt.kind
    return obj
