"""Decode the Kubernetes protobuf wire format for the few kinds kubectl sends as protobuf.

kubectl's typed clients (``kubectl create namespace|secret|configmap|serviceaccount``) POST
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\x00`` and a ``runtime.Unknown`` wrapping
the object. Field numbers are from k8s.io/api/core/v1/generated.proto and
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto. Other kinds are answered with 415.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Iterator
from typing import Any, Union

from emulators.kube_types import ApiError, JsonObj

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

Schema = dict[int, tuple[str, Union[str, "Schema", tuple[str, "Schema"]]]]

_TIME: Schema = {1: ("seconds", "int"), 2: ("nanos", "int")}
_OWNER_REF: Schema = {
    1: ("kind", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_OBJECT_META: Schema = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    5: ("uid", "string"),
    6: ("resourceVersion", "string"),
    7: ("generation", "int"),
    8: ("creationTimestamp", "time"),
    9: ("deletionTimestamp", "time"),
    10: ("deletionGracePeriodSeconds", "int"),
    11: ("labels", "map_string"),
    12: ("annotations", "map_string"),
    13: ("ownerReferences", ("repeated", _OWNER_REF)),
    14: ("finalizers", "repeated_string"),
}
_OBJECT_REF: Schema = {
    1: ("kind", "string"),
    2: ("namespace", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("resourceVersion", "string"),
    7: ("fieldPath", "string"),
}
KINDS: dict[str, Schema] = {
    "Namespace": {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("finalizers", "repeated_string")}),
        3: ("status", {1: ("phase", "string")}),
    },
    "Secret": {
        1: ("metadata", _OBJECT_META),
        2: ("data", "map_bytes"),
        3: ("type", "string"),
        4: ("stringData", "map_string"),
        5: ("immutable", "bool"),
    },
    "ConfigMap": {
        1: ("metadata", _OBJECT_META),
        2: ("data", "map_string"),
        3: ("binaryData", "map_bytes"),
        4: ("immutable", "bool"),
    },
    "ServiceAccount": {
        1: ("metadata", _OBJECT_META),
        2: ("secrets", ("repeated", _OBJECT_REF)),
        3: ("imagePullSecrets", ("repeated", {1: ("name", "string")})),
        4: ("automountServiceAccountToken", "bool"),
    },
}
_UNKNOWN: Schema = {
    1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
    2: ("raw", "raw"),
    3: ("contentEncoding", "string"),
    4: ("contentType", "string"),
}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = buf[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, value


def _message(buf: bytes, schema: Schema) -> JsonObj:
    out: JsonObj = {}
    for number, value in _fields(buf):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict):
            out[name] = _message(value, kind)
        elif isinstance(kind, tuple):
            out.setdefault(name, []).append(_message(value, kind[1]))
        elif kind == "string":
            out[name] = value.decode()
        elif kind == "raw":
            out[name] = value
        elif kind == "int":
            out[name] = value - (1 << 64) if value >= 1 << 63 else value
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "repeated_string":
            out.setdefault(name, []).append(value.decode())
        elif kind == "time":
            seconds = _message(value, _TIME).get("seconds", 0)
            stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
            out[name] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif kind in ("map_string", "map_bytes"):
            entry = dict(_fields(value))
            raw = entry.get(2, b"")
            text = base64.b64encode(raw).decode() if kind == "map_bytes" else raw.decode()
            out.setdefault(name, {})[entry.get(1, b"").decode()] = text
    return out


def decode(body: bytes) -> JsonObj:
    """The JSON form of a protobuf-encoded object; 415 for kinds this module does not know."""
    if not body.startswith(MAGIC):
        raise ApiError(
            400,
            "BadRequest",
            "provided data does not appear to be a protobuf message, "
            "expected prefix [107 56 115 0]",
        )
    try:
        unknown = _message(body[len(MAGIC) :], _UNKNOWN)
        type_meta = unknown.get("typeMeta", {})
        kind = type_meta.get("kind", "")
        if kind not in KINDS:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the emulator cannot decode protobuf for kind {kind!r}; send JSON",
                {},
            )
        obj = _message(unknown.get("raw", b""), KINDS[kind])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"malformed protobuf body: {exc}") from exc
    return {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": kind, **obj}
