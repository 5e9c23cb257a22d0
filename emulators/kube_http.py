"""The REST layer of the Kubernetes emulator: URL routing, verbs, lists, Tables and watch streams.

:func:`serve` answers one parsed request from a :class:`~emulators.kube_store.Store`; it runs on
the emulator's event loop and raises :class:`~emulators.kube_types.ApiError` for error replies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import json
from typing import Any

import aiohttp.web
import kmock
import yaml

from emulators import kube_discovery as disco
from emulators import kube_proto
from emulators.kube_patch import apply_patch
from emulators.kube_select import Selector, parse_field_selector, parse_label_selector
from emulators.kube_store import Store
from emulators.kube_tokens import token_request
from emulators.kube_types import (
    ApiError,
    JsonObj,
    ResourceType,
    bad_request,
    from_storage,
    method_not_allowed,
    not_found_path,
)
from emulators.kube_watch import END

_ACTIONS = {
    "POST": kmock.action.CREATE,
    "PATCH": kmock.action.UPDATE,
    "DELETE": kmock.action.DELETE,
}
DEFAULT_WATCH_TIMEOUT = 1800  # the real server's --min-request-timeout
_IDLE_CHECK = 2.0  # how often an idle watch checks whether its client has gone


@dataclasses.dataclass(frozen=True)
class Route:
    """A resource URL: ``/api/v1/namespaces/ns/secrets/name/status`` and the like."""

    group: str
    version: str
    namespace: str | None = None
    plural: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_route(path: str) -> Route | None:
    """Parse a resource URL; ``namespaces/<name>/status|finalize`` is the namespace itself."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    own_subresource = group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")
    if len(rest) >= 3 and rest[0] == "namespaces" and not own_subresource:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    padded: list[str | None] = [*rest, None, None, None]
    return Route(group, version, namespace, *padded[:3])


@dataclasses.dataclass
class Call:
    """What :func:`serve` needs from an HTTP request."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    content_type: str
    data: Any
    raw: aiohttp.web.BaseRequest | None = None


async def parse_request(
    raw: aiohttp.web.BaseRequest, request_id: int
) -> tuple[Call, kmock.Request]:
    """Decode the body (JSON, YAML or protobuf) and describe the request for kmock's filters."""
    body = await raw.read()
    ctype = raw.content_type.lower()
    data: Any = None
    if body and ctype == kube_proto.PROTOBUF:
        data = kube_proto.decode(body)
    elif body and "yaml" in ctype:
        try:
            data = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise bad_request(f"error decoding YAML: {exc}") from exc
    elif body:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from exc
    call = Call(raw.method.upper(), raw.path, dict(raw.query), dict(raw.headers), ctype, data, raw)
    route = parse_route(raw.path)
    action = _ACTIONS.get(call.method) if route and route.plural else None
    if call.method == "GET" and route and route.plural:
        watching = call.params.get("watch", "").lower() in ("true", "1")
        action = (
            kmock.action.WATCH
            if watching
            else (kmock.action.FETCH if route.name else kmock.action.LIST)
        )
    resource = kmock.resource(route.group, route.version, route.plural) if route else None
    request = kmock.Request(
        id=request_id,
        method=raw.method,
        url=raw.url,
        params=call.params,
        headers=call.headers,
        cookies=dict(raw.cookies),
        body=body,
        text=body.decode(errors="replace"),
        data=data,
        action=action,
        resource=resource,
        namespace=route.namespace if route else None,
        name=route.name if route else None,
        subresource=route.subresource if route else None,
        raw_request=raw,
    )
    return call, request


def _json(body: JsonObj, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(body, status=status)


def _flag_dry_run(call: Call) -> bool:
    value = call.params.get("dryRun")
    if value not in (None, "", "All"):
        raise bad_request(f'Invalid dry run value: "{value}": supported values: "All"')
    return value == "All"


def _matcher(rt: ResourceType, call: Call, namespace: str | None, name: str | None) -> Selector:
    labels = (
        parse_label_selector(call.params["labelSelector"])
        if call.params.get("labelSelector")
        else None
    )
    fields = (
        parse_field_selector(call.params["fieldSelector"], rt.field_selectors)
        if call.params.get("fieldSelector")
        else None
    )

    def matches(obj: JsonObj) -> bool:
        meta = obj.get("metadata") or {}
        return (
            (namespace is None or meta.get("namespace") == namespace)
            and (name is None or meta.get("name") == name)
            and (labels is None or labels(obj))
            and (fields is None or fields(obj))
        )

    return matches


def _render_items(rt: ResourceType, stored: list[JsonObj]) -> list[JsonObj]:
    items = [from_storage(rt, obj) for obj in stored]
    if rt.crd is None:  # typed lists of built-ins carry no per-item apiVersion/kind
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
    return items


def _list(store: Store, rt: ResourceType, call: Call, namespace: str | None) -> JsonObj:
    stored = store.items(rt, namespace, _matcher(rt, call, namespace, None))
    meta: JsonObj = {"resourceVersion": store.resource_version}
    if call.params.get("continue"):
        try:
            token = json.loads(base64.urlsafe_b64decode(call.params["continue"]))
            after = (str(token["start"][0]), str(token["start"][1]))
        except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
            raise ApiError(400, "BadRequest", "continue key is not valid") from None
        stored = [
            o for o in stored if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after
        ]
    limit = int(call.params.get("limit") or 0)
    if 0 < limit < len(stored):
        last = stored[limit - 1]["metadata"]
        start = [last.get("namespace", ""), last["name"]]
        meta["continue"] = base64.urlsafe_b64encode(
            json.dumps({"start": start, "rv": store.resource_version}).encode()
        ).decode()
        meta["remainingItemCount"] = len(stored) - limit
        stored = stored[:limit]
    table_v = disco.table_version(call.headers.get("Accept", ""))
    if table_v:
        pairs = list(zip(stored, [from_storage(rt, o) for o in stored], strict=True))
        return disco.table(rt, table_v, pairs, meta, call.params.get("includeObject", "Metadata"))
    return {
        "kind": f"{rt.kind}List",
        "apiVersion": rt.api_version,
        "metadata": meta,
        "items": _render_items(rt, stored),
    }


def _one(rt: ResourceType, call: Call, obj: JsonObj) -> JsonObj:
    """A single object, as a one-row Table when the client asked for one (``kubectl get x``)."""
    table_v = disco.table_version(call.headers.get("Accept", "")) if call.method == "GET" else None
    if table_v is None:
        return obj
    meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
    return disco.table(
        rt, table_v, [(obj, obj)], meta, call.params.get("includeObject", "Metadata")
    )


def discovery(store: Store, call: Call) -> JsonObj | None:
    """The non-resource GET documents, or None if ``call`` is not one of them."""
    path = call.path.rstrip("/") or "/"
    parts = [p for p in path.split("/") if p]
    if path == "/":
        return disco.root_paths(store)
    if path == "/version":
        return dict(disco.VERSION_INFO)
    if path == "/api":
        return disco.api_versions(call.headers.get("Host", "127.0.0.1"))
    if path == "/apis":
        return disco.api_group_list(store)
    if len(parts) == 2 and parts[0] == "apis":
        return disco.api_group(store, parts[1])
    if path == "/openapi/v3":
        return disco.openapi_root(store)
    if path.startswith("/openapi/v3/"):
        return disco.openapi_document(store, path[len("/openapi/v3/") :])
    if path.startswith("/openapi/"):
        raise not_found_path()
    return None


async def serve(
    store: Store, call: Call, streams: set[asyncio.Queue[Any]]
) -> aiohttp.web.StreamResponse:
    """Answer one API request; watch streams register their queue in ``streams``."""
    if call.method in ("GET", "HEAD"):
        if call.path.rstrip("/") in ("/healthz", "/livez", "/readyz") or call.path.startswith(
            ("/healthz/", "/livez/", "/readyz/")
        ):
            return aiohttp.web.Response(text="ok")
        document = discovery(store, call)
        if document is not None:
            return _json(document)
    route = parse_route(call.path)
    if route is None:
        raise not_found_path()
    if route.plural is None:
        if call.method != "GET":
            raise method_not_allowed()
        return _json(disco.resource_list(store, route.group, route.version))
    rt = store.lookup(route.group, route.version, route.plural)
    if (
        rt is None
        or (not rt.namespaced and route.namespace is not None)
        or (rt.namespaced and route.name is not None and route.namespace is None)
        or (route.subresource is not None and route.subresource not in rt.subresources)
    ):
        raise not_found_path()
    ns, name, sub = route.namespace, route.name, route.subresource
    watching = str(call.params.get("watch", "")).lower() in ("true", "1")
    if call.method == "GET" and watching:
        return await _watch(store, rt, call, _matcher(rt, call, ns, name), streams)
    if name is None:
        if call.method == "GET":
            return _json(_list(store, rt, call, ns))
        if call.method == "POST" and (ns is not None or not rt.namespaced):
            return _json(store.create(rt, ns, call.data, _flag_dry_run(call)), 201)
        if call.method == "DELETE":
            return _json(_delete_collection(store, rt, call, ns))
        raise method_not_allowed()
    if sub == "token" and ns is not None:
        if call.method != "POST":
            raise method_not_allowed()
        sa = store.get(rt, ns, name)  # 404 for a missing ServiceAccount, as the server does
        uid = str((sa.get("metadata") or {}).get("uid") or "")
        return _json(token_request(ns, name, uid, call.data), 201)
    if call.method == "GET":
        return _json(_one(rt, call, store.get(rt, ns, name)))
    if call.method == "PUT":
        body = call.data
        return _json(store.update(rt, ns, name, lambda _: body, sub, _flag_dry_run(call)))
    if call.method == "PATCH":
        if sub == "finalize":
            raise method_not_allowed()
        patch, ctype, strategic = call.data, call.content_type, rt.crd is None
        return _json(
            store.update(
                rt,
                ns,
                name,
                lambda cur: apply_patch(ctype, cur, patch, strategic=strategic),
                sub,
                _flag_dry_run(call),
            )
        )
    if call.method == "DELETE" and sub is None:
        options = call.data if isinstance(call.data, dict) else {}
        _, result = store.delete(rt, ns, name, options, _flag_dry_run(call))
        return _json(result)
    raise method_not_allowed()


def _delete_collection(store: Store, rt: ResourceType, call: Call, ns: str | None) -> JsonObj:
    dry_run = _flag_dry_run(call)
    options = call.data if isinstance(call.data, dict) else {}
    deleted = []
    for obj in store.items(rt, ns, _matcher(rt, call, ns, None)):
        meta = obj["metadata"]
        _, result = store.delete(rt, meta.get("namespace"), meta["name"], options, dry_run)
        deleted.append(from_storage(rt, obj) if result.get("kind") == "Status" else result)
    return {
        "kind": f"{rt.kind}List",
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": store.resource_version},
        "items": _render_items(rt, [d for d in deleted if d]),
    }


async def _watch(
    store: Store, rt: ResourceType, call: Call, matches: Selector, streams: set[asyncio.Queue[Any]]
) -> aiohttp.web.StreamResponse:
    """A chunked stream of ``{"type", "object"}`` lines until timeoutSeconds or shutdown."""
    assert call.raw is not None
    queue: asyncio.Queue[tuple[str, JsonObj] | None] = asyncio.Queue()
    table_v = disco.table_version(call.headers.get("Accept", ""))
    include = call.params.get("includeObject", "Metadata")
    try:
        timeout = float(call.params.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
    except ValueError:
        raise bad_request("timeoutSeconds must be an integer") from None
    response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    # A streaming list (sendInitialEvents) always starts with the current state.
    initial = str(call.params.get("sendInitialEvents", "")).lower() == "true"
    since = None if initial else call.params.get("resourceVersion")
    try:
        unwatch = store.watch(rt, since, matches, lambda kind, obj: queue.put_nowait((kind, obj)))
        if initial:
            end = {"k8s.io/initial-events-end": "true"}
            mark = {"metadata": {"resourceVersion": store.resource_version, "annotations": end}}
            queue.put_nowait(("BOOKMARK", mark))
    except ApiError as exc:
        if exc.code != 410:
            raise
        await response.prepare(call.raw)  # a real server reports an expired RV in the stream
        await response.write(json.dumps({"type": "ERROR", "object": exc.status()}).encode() + b"\n")
        await response.write_eof()
        return response
    streams.add(queue)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # One pending get() survives idle checks: cancelling it (as wait_for does) could drop an item.
    getter: asyncio.Future[tuple[str, JsonObj] | None] | None = None
    try:
        await response.prepare(call.raw)
        while (remaining := deadline - loop.time()) > 0:
            getter = getter or asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter}, timeout=min(remaining, _IDLE_CHECK))
            if not done:
                transport = call.raw.transport
                if transport is None or transport.is_closing():
                    break  # the client went away without a word
                continue
            item, getter = getter.result(), None
            if item is None or item[0] == END:  # shutting down, or the resource is gone
                break
            kind, stored = item
            obj = from_storage(rt, stored)
            if table_v:
                meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                obj = disco.table(rt, table_v, [(stored, obj)], meta, include)
            await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
        with contextlib.suppress(ConnectionError, RuntimeError):  # RuntimeError: already closed
            await response.write_eof()
    except ConnectionError:
        pass  # the client went away
    finally:
        if getter is not None:
            getter.cancel()
        unwatch()
        streams.discard(queue)
    return response
