"""Read-only documents: /version, legacy discovery, a minimal OpenAPI v3, and server-side Tables.

The OpenAPI v3 documents carry just what kubectl reads from them: one path per resource with the
operations' ``x-kubernetes-group-version-kind`` and the ``fieldValidation`` query parameter, so that
``kubectl apply`` leaves validation to the server (which accepts any field: the emulator does not
validate schemas). Schemas are open objects, so ``kubectl explain`` shows nothing useful.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any

from emulators.kube_store import Store
from emulators.kube_types import (
    ALL_VERBS,
    DEFAULT_COLUMNS,
    ApiError,
    JsonObj,
    ResourceType,
    not_found_path,
)

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:02:27Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "finalize": ["update"]}


def api_versions(server_address: str) -> JsonObj:
    """``GET /api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(group: str, versions: list[str]) -> JsonObj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(store: Store) -> JsonObj:
    """``GET /apis``: every named group (the core group is served under /api)."""
    groups = [_group(g, vs) for g, vs in store.groups().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(store: Store, group: str) -> JsonObj:
    """``GET /apis/<group>``."""
    versions = store.groups().get(group)
    if not group or not versions:
        raise not_found_path()
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def _served(store: Store, group: str, version: str) -> list[ResourceType]:
    found = [rt for (g, v, _), rt in sorted(store.types.items()) if (g, v) == (group, version)]
    if not found:
        raise not_found_path()
    return found


def resource_list(store: Store, group: str, version: str) -> JsonObj:
    """``GET /api/v1`` or ``GET /apis/<group>/<version>``: APIResourceList."""
    resources: list[JsonObj] = []
    for rt in _served(store, group, version):
        entry: JsonObj = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(ALL_VERBS),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        entry["storageVersionHash"] = hashlib.sha256(
            f"{rt.group}/{rt.plural}".encode()
        ).hexdigest()[:12]
        resources.append(entry)
        for sub in sorted(rt.subresources):
            resources.append(
                {
                    "name": f"{rt.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"]),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def root_paths(store: Store) -> JsonObj:
    """``GET /``."""
    paths = {"/api", "/api/v1", "/apis", "/version", "/healthz", "/livez", "/readyz", "/openapi/v3"}
    for group, versions in store.groups().items():
        if group:
            paths.add(f"/apis/{group}")
            paths.update(f"/apis/{group}/{v}" for v in versions)
    return {"paths": sorted(paths)}


# ----------------------------------------------------------------------------- OpenAPI v3


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _digest(store: Store, group: str, version: str) -> str:
    names = [(rt.plural, rt.kind, rt.namespaced) for rt in _served(store, group, version)]
    return hashlib.sha512(json.dumps(names).encode()).hexdigest()[:64].upper()


def openapi_root(store: Store) -> JsonObj:
    """``GET /openapi/v3``: where each group-version's document is."""
    paths = {}
    for group, versions in store.groups().items():
        for version in versions:
            gv = _gv_path(group, version)
            paths[gv] = {
                "serverRelativeURL": f"/openapi/v3/{gv}?hash={_digest(store, group, version)}"
            }
    return {"paths": paths}


def openapi_document(store: Store, gv_path: str) -> JsonObj:
    """``GET /openapi/v3/api/v1`` etc.: operations with their GVK and fieldValidation."""
    parts = gv_path.strip("/").split("/")
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        raise not_found_path()
    paths: JsonObj = {}
    schemas: JsonObj = {}
    params = [
        {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
        for name in ("dryRun", "fieldManager", "fieldValidation", "pretty")
    ]
    for rt in _served(store, group, version):
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        schema_name = f"{rt.group or 'io.k8s.api.core'}.{rt.version}.{rt.kind}"
        schemas[schema_name] = {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
            "x-kubernetes-group-version-kind": [gvk],
        }
        body = {
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
            }
        }

        def op(
            action: str,
            rt: ResourceType = rt,
            gvk: JsonObj = gvk,
            body: JsonObj = body,
            mime: tuple[str, ...] = (),
        ) -> JsonObj:
            found: JsonObj = {
                "operationId": f"{action}{rt.kind}",
                "parameters": params,
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": body},
            }
            if mime:
                found["requestBody"] = {
                    "content": {m: {"schema": {"type": "object"}} for m in mime}
                }
            elif action in ("post", "put"):
                found["requestBody"] = body
            return found

        prefix = f"/{_gv_path(group, version)}"
        if rt.namespaced:
            prefix += "/namespaces/{namespace}"
        patch_types = ("application/json-patch+json", "application/merge-patch+json")
        paths[f"{prefix}/{rt.plural}"] = {"get": op("list"), "post": op("post")}
        paths[f"{prefix}/{rt.plural}/{{name}}"] = {
            "get": op("get"),
            "put": op("put"),
            "delete": op("delete"),
            "patch": op("patch", mime=patch_types),
        }
    info = {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]}
    return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": schemas}}


# ----------------------------------------------------------------------------- Tables


def table_version(accept: str) -> str | None:
    """The meta.k8s.io version of the Table the client asks for first, if it asks for one."""
    for media in accept.split(","):
        params = dict(p.strip().partition("=")[::2] for p in media.split(";")[1:])
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return params.get("v", "v1")
        if media.split(";")[0].strip() in ("application/json", "*/*", "application/*"):
            return None
    return None


def human_duration(seconds: int) -> str:
    """k8s.io/apimachinery's duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours = seconds // 60, seconds // 3600
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _cell(column_type: str, value: Any) -> Any:
    if value is None:
        return None
    if column_type == "date":
        try:  # Time or MicroTime, always UTC
            then = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return "<unknown>"
        return human_duration(int((datetime.datetime.now(datetime.UTC) - then).total_seconds()))
    if column_type in ("integer", "number", "boolean") or isinstance(value, (int, float, bool)):
        return value
    return value if isinstance(value, str) else json.dumps(value)


def table(
    rt: ResourceType,
    version: str,
    objects: list[tuple[JsonObj, JsonObj]],
    list_meta: JsonObj,
    include: str,
) -> JsonObj:
    """A ``meta.k8s.io`` Table; ``objects`` pairs each stored object with its rendered form."""
    if include not in ("None", "Metadata", "Object"):
        raise ApiError(400, "BadRequest", f'includeObject: unsupported value "{include}"')
    columns = rt.columns or DEFAULT_COLUMNS
    rows = []
    for stored, rendered in objects:
        row: JsonObj = {"cells": [_cell(c.type, c.getter(stored)) for c in columns]}
        if include == "Object":
            row["object"] = rendered
        elif include == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": f"meta.k8s.io/{version}",
                "metadata": rendered.get("metadata", {}),
            }
        rows.append(row)
    definitions = [
        {
            "name": c.name,
            "type": "string" if c.type == "date" else c.type,
            "format": c.format,
            "description": c.description,
            "priority": c.priority,
        }
        for c in columns
    ]
    return {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
