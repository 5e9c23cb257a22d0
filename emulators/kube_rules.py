"""Per-kind server-side rules: what the real API server's registry strategies do on write.

Each function takes the object in its storage form and mutates it in place (the store hands it a
private copy), or raises :class:`~emulators.kube_types.ApiError` as the real validation would.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import secrets
from typing import Any

from emulators.kube_select import jsonpath_get
from emulators.kube_types import (
    BASE_FIELDS,
    CRD_FINALIZER,
    CRDS,
    NAME,
    NAMESPACES,
    ApiError,
    Column,
    JsonObj,
    ResourceType,
)

NAMESPACE_LABEL = "kubernetes.io/metadata.name"
_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_CONFIG_KEY = r"[-._a-zA-Z0-9]+"
_MAX_SECRET_BYTES = 1024 * 1024


def now() -> str:
    """The RFC 3339 second-precision timestamp the API server writes."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_name(rt: ResourceType, name: str) -> None:
    """``metadata.name`` must be a DNS subdomain (a DNS label for namespaces)."""
    if rt is NAMESPACES:
        pattern, what, limit = _LABEL, "RFC 1123 label", 63
        example = "'my-name',  or '123-abc'"
    else:
        pattern, what, limit = _SUBDOMAIN, "RFC 1123 subdomain", 253
        example = "'example.com'"
    if len(name) > limit:
        raise rt.invalid(
            name,
            [
                (
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{name}": must be no more than {limit} characters',
                )
            ],
        )
    if not re.fullmatch(pattern, name):
        chars = "'-'" if pattern is _LABEL else "'-' or '.'"
        raise rt.invalid(
            name,
            [
                (
                    "FieldValueInvalid",
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase {what} must consist of lower case '
                    f"alphanumeric characters, {chars}, and must start and end with an "
                    f"alphanumeric character (e.g. {example}, regex used for validation is "
                    f"'{pattern}')",
                )
            ],
        )


def name_new_object(rt: ResourceType, meta: JsonObj) -> None:
    """Check a new object's metadata; ``generateName`` picks the name (5 random characters)."""
    if meta.get("resourceVersion"):  # the real server fails this deep in storage: a 500
        raise ApiError(
            500, "InternalError", "resourceVersion should not be set on objects to be created"
        )
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
        meta.pop(field, None)
    if not meta.get("name"):
        if not meta.get("generateName"):
            raise rt.invalid(
                "",
                [
                    (
                        "FieldValueRequired",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    )
                ],
            )
        suffix = "".join(secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        meta["name"] = meta["generateName"] + suffix
    validate_name(rt, meta["name"])


def check_no_new_finalizers(rt: ResourceType, name: str, old_meta: JsonObj, meta: JsonObj) -> None:
    """An object being deleted may lose finalizers but not gain any (422 Forbidden)."""
    added = [f for f in meta.get("finalizers") or [] if f not in (old_meta.get("finalizers") or [])]
    if added:
        found = "[]string{" + ", ".join(f'"{f}"' for f in added) + "}"
        raise rt.invalid(
            name,
            [
                (
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is "
                    f"being deleted, found new finalizers {found}",
                )
            ],
        )


def on_create(rt: ResourceType, obj: JsonObj) -> None:
    """Defaults a new object of kind ``rt`` gets (status the server owns, labels, fields)."""
    if rt.has_status and rt.crd is not None:
        obj.pop("status", None)  # CRs with a status subresource ignore status on create
    if rt is NAMESPACES:
        obj["spec"] = {"finalizers": ["kubernetes"], **(obj.get("spec") or {})}
        obj["status"] = {"phase": "Active"}
    if rt is CRDS:
        _crd_status(obj, None)
        meta = obj["metadata"]
        meta["finalizers"] = [*meta.get("finalizers", []), CRD_FINALIZER]


def normalise(rt: ResourceType, obj: JsonObj, old: JsonObj | None) -> None:
    """The rules applied on create and on every update (``old`` is None on create)."""
    name = obj["metadata"]["name"]
    # ObjectMeta (and every field of the built-in kinds) is encoded with omitempty.
    meta = obj["metadata"]
    for field in [k for k, v in meta.items() if v in (None, "", [], {})]:
        del meta[field]
    if rt.crd is None:
        for field in [k for k, v in obj.items() if k != "spec" and v in (None, "", [], {})]:
            del obj[field]
    if rt.group == "":
        if rt.plural == "secrets":
            _secret(rt, name, obj, old)
        elif rt.plural == "configmaps":
            _check_keys(rt, name, obj, ("data", "binaryData"))
            _check_immutable(rt, name, obj, old, ("data", "binaryData"))
        elif rt.plural == "namespaces":
            obj["metadata"]["labels"] = {
                **(obj["metadata"].get("labels") or {}),
                NAMESPACE_LABEL: name,
            }
    elif rt is CRDS:
        crd_types(obj)  # raises 422 when malformed
        if old is not None:
            _crd_status(obj, old.get("status"))


def _crd_status(crd: JsonObj, old_status: JsonObj | None) -> None:
    """What the CRD controllers write: accepted names, Established, stored versions."""
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    stamp = now()
    stored = [v["name"] for v in spec.get("versions", []) if v.get("storage")]
    old_status = old_status or {}
    old_stored = old_status.get("storedVersions") or []
    crd["status"] = {
        "acceptedNames": names,
        "conditions": old_status.get("conditions")
        or [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": stamp,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": stamp,
            },
        ],
        "storedVersions": list(dict.fromkeys([*old_stored, *stored])),
    }


def _check_keys(rt: ResourceType, name: str, obj: JsonObj, fields: tuple[str, ...]) -> None:
    causes = []
    for field in fields:
        for key in obj.get(field) or {}:
            if not re.fullmatch(_CONFIG_KEY, key):
                causes.append(
                    (
                        "FieldValueInvalid",
                        f"{field}[{key}]",
                        f'Invalid value: "{key}": a valid config key must consist of alphanumeric '
                        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                        f"'key-name', regex used for validation is '{_CONFIG_KEY}')",
                    )
                )
    if causes:
        raise rt.invalid(name, causes)


def _check_immutable(
    rt: ResourceType, name: str, obj: JsonObj, old: JsonObj | None, fields: tuple[str, ...]
) -> None:
    if old is None or not old.get("immutable"):
        return
    why = "Forbidden: field is immutable when `immutable` is set"
    causes = [
        ("FieldValueForbidden", field, why)
        for field in fields
        if (obj.get(field) or {}) != (old.get(field) or {})
    ]
    if not obj.get("immutable"):
        causes.append(("FieldValueForbidden", "immutable", why))
    if causes:
        raise rt.invalid(name, causes)


def _secret(rt: ResourceType, name: str, obj: JsonObj, old: JsonObj | None) -> None:
    # stringData is write-only: it is merged into data (winning over it) and never stored.
    data: dict[str, Any] = dict(obj.get("data") or {})
    for key, value in data.items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(
                400,
                "BadRequest",
                f"illegal base64 data at input byte 0 (data[{key}])",
            ) from exc
    for key, value in (obj.pop("stringData", None) or {}).items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    if data:
        obj["data"] = data
    else:
        obj.pop("data", None)
    obj["type"] = obj.get("type") or "Opaque"
    _check_keys(rt, name, obj, ("data",))
    size = sum(len(base64.b64decode(v)) for v in data.values())
    if size > _MAX_SECRET_BYTES:
        raise rt.invalid(
            name,
            [
                (
                    "FieldValueTooLong",
                    "data",
                    f"Too long: must have at most {_MAX_SECRET_BYTES} bytes",
                )
            ],
        )
    if old is not None:
        if obj["type"] != old.get("type"):
            raise rt.invalid(
                name,
                [
                    (
                        "FieldValueInvalid",
                        "type",
                        f'Invalid value: "{obj["type"]}": field is immutable',
                    )
                ],
            )
        _check_immutable(rt, name, obj, old, ("data",))


# ----------------------------------------------------------------------------- CRDs


def _jsonpath_column(col: JsonObj) -> Column:
    path = str(col.get("jsonPath", ""))
    return Column(
        name=str(col.get("name", "")),
        type=str(col.get("type", "string")),
        getter=lambda obj: jsonpath_get(obj, path),
        format=str(col.get("format", "")),
        priority=int(col.get("priority", 0)),
        description=str(col.get("description", "")),
    )


def crd_types(crd: JsonObj) -> list[ResourceType]:
    """The resource types a v1 CustomResourceDefinition serves; raises 422 if it is malformed."""
    name = str(crd.get("metadata", {}).get("name", ""))
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    versions = spec.get("versions") or []
    causes: list[tuple[str, str, str]] = []
    if not group:
        causes.append(("FieldValueRequired", "spec.group", "Required value"))
    if not plural:
        causes.append(("FieldValueRequired", "spec.names.plural", "Required value"))
    if not kind:
        causes.append(("FieldValueRequired", "spec.names.kind", "Required value"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        value = spec.get("scope", "")
        causes.append(
            (
                "FieldValueNotSupported",
                "spec.scope",
                f'Unsupported value: "{value}": supported values: "Cluster", "Namespaced"',
            )
        )
    if not versions:
        causes.append(("FieldValueRequired", "spec.versions", "Required value"))
    elif sum(bool(v.get("storage")) for v in versions) != 1:
        causes.append(
            (
                "FieldValueInvalid",
                "spec.versions",
                "Invalid value: must have exactly one version marked as storage version",
            )
        )
    if group and plural and name != f"{plural}.{group}":
        causes.append(
            (
                "FieldValueInvalid",
                "metadata.name",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    if causes:
        raise CRDS.invalid(name, causes)
    result = []
    for version in versions:
        if not version.get("served", True):
            continue
        columns = version.get("additionalPrinterColumns")
        subresources = version.get("subresources") or {}
        selectable = tuple(f["jsonPath"].lstrip(".") for f in version.get("selectableFields", []))
        result.append(
            ResourceType(
                group=str(group),
                version=str(version["name"]),
                plural=str(plural),
                kind=str(kind),
                namespaced=spec["scope"] == "Namespaced",
                singular=str(names.get("singular") or str(kind).lower()),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=frozenset({"status"} if "status" in subresources else ()),
                field_selectors=(*BASE_FIELDS, *selectable),
                columns=(NAME, *map(_jsonpath_column, columns)) if columns else None,
                crd=name,
            )
        )
    return result
