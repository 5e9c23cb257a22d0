"""A local, faithful stand-in for the Kubernetes API server, built on kmock.

What it emulates (driven by the official ``kubernetes`` client and by ``kubectl``):

* core ``v1`` namespaces, secrets, configmaps, serviceaccounts, events; ``events.k8s.io/v1``
  events (same storage as core events); ``apiextensions.k8s.io/v1`` CRDs, whose every served
  version is registered at once (one storage per CRD, apiVersion rewritten on read);
* create/get/list/watch/replace/patch/delete/deletecollection, ``dryRun=All``, the ``/status``
  subresource with real isolation, JSON/merge/strategic-merge patch, resourceVersion
  preconditions (409), generation, finalizers and graceful deletion, namespace termination,
  CRD cleanup, owner-reference garbage collection, Secret ``stringData`` folding and validation;
* label and field selectors, ``limit``/``continue``, watch resume from a resourceVersion with a
  bounded event history (410 Expired beyond it), ``timeoutSeconds``;
* discovery, ``/version`` (1.32), a minimal OpenAPI v3 so ``kubectl apply`` validates on the
  server, server-side Tables for ``kubectl get`` (CRD printer columns included), and protobuf
  request bodies for the kinds ``kubectl create`` sends that way.

What it deliberately does not do: authentication/authorisation (any token is accepted),
admission webhooks, OpenAPI schema validation/pruning/defaulting of custom resources, CRD version
conversion webhooks, server-side apply (``application/apply-patch+yaml`` answers 415), managed
fields, pods and every other built-in kind, event TTLs, and watch bookmarks (but for the
``sendInitialEvents`` end marker); the namespace, CRD-cleanup and garbage-collection controllers
are reduced to deleting what they own, ``controller_delay`` seconds after the trigger.

Run it in a thread with :class:`KubernetesEmulatorServer` (sync code), in the current event loop
with :func:`serve` (async code), or standalone: ``python -m emulators.kubernetes --port 8001
--kubeconfig /tmp/kubeconfig``. kmock reactions (``emulator['get /api/v1/...'] << 500``) still
take precedence over the emulated behaviour, for fault injection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import pathlib
import signal
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp.web
import attrs
import kmock
import yaml
from kmock._internal import apps, rendering

from emulators import kube_http
from emulators.kube_store import Store
from emulators.kube_types import ApiError, JsonObj

__all__ = ["ApiError", "KubernetesApiEmulator", "KubernetesEmulatorServer", "serve"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@attrs.define(kw_only=True)
class KubernetesApiEmulator(kmock.KubernetesEmulator):
    """The emulated API server as a kmock handler (an aiohttp low-level request handler).

    ``history_limit`` bounds the watch event history (older resume points get 410 Expired);
    ``request_history`` bounds kmock's request log (between N and 2N are kept; 0 keeps none);
    ``controller_delay`` is how long the namespace/CRD/garbage controllers lag behind writes.
    The direct accessors (:meth:`get_object` ...) must run on the loop that serves requests;
    :class:`KubernetesEmulatorServer` offers thread-safe versions.
    """

    history_limit: int = 10_000
    request_history: int = 1_000
    controller_delay: float = 0.2
    store: Store = attrs.field(init=False)
    _streams: set[asyncio.Queue[Any]] = attrs.field(factory=set, init=False)
    _request_count: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        # kmock's own fallback reactions are deliberately not installed: the Store serves instead.
        self.store = Store(self.history_limit)
        self.store.defer = self._defer

    def _defer(self, work: Callable[[], None]) -> None:
        # Namespace/CRD cleanup and garbage collection are asynchronous in a real cluster: e.g.
        # `kubectl delete -f` deletes a namespace's objects itself before the controller does.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work()
        else:
            loop.call_later(self.controller_delay, work)

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """The aiohttp entry point: parse, record (bounded), answer; errors become Status."""
        try:
            self._request_count += 1
            call, request = await kube_http.parse_request(raw, self._request_count)
            self._record(request)
            return await self._respond(call, request)
        except ApiError as exc:
            return aiohttp.web.json_response(exc.status(), status=exc.code)
        except kmock.KubernetesError as exc:
            return await self._render_error(exc)
        except rendering.StreamingError as exc:
            return exc.args[0]  # type: ignore[no-any-return]  # a reaction's stream broke
        except Exception as exc:
            log.exception("Kubernetes emulator failed on %s %s", raw.method, raw.path_qs)
            error = ApiError(500, "InternalError", f"Internal error occurred: {exc!r}")
            return aiohttp.web.json_response(error.status(), status=500)

    def _record(self, request: kmock.Request) -> None:
        if self.request_history <= 0:
            return
        self._requests.append(request)
        if len(self._requests) > 2 * self.request_history:
            del self._requests[: -self.request_history]

    async def _respond(
        self, call: kube_http.Call, request: kmock.Request
    ) -> aiohttp.web.StreamResponse:
        if self._payloads:  # user-defined kmock reactions win (fault injection)
            try:
                return await apps.RawHandler._handle(self, request)
            except NotImplementedError:
                pass
        return await kube_http.serve(self.store, call, self._streams)

    @property
    def objects(self) -> Any:
        """Not kmock's object array: this emulator keeps its state in :attr:`store`."""
        raise AttributeError("use get_object()/put_object()/list_objects() or .store instead")

    @property
    def resources(self) -> Any:
        """Not kmock's resource declarations: resources come from built-ins and CRDs."""
        raise AttributeError("create a CustomResourceDefinition to serve more resources")

    def close_watches(self) -> None:
        """End every open watch stream (the clients see a normal end of stream)."""
        for queue in list(self._streams):
            queue.put_nowait(None)

    # --------------------------------------------------------------------------- direct access

    def get_object(self, resource: str, namespace: str | None, name: str) -> JsonObj | None:
        """The object as the API would return it, or None."""
        try:
            return self.store.get(self.store.resolve(resource), namespace, name)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise

    def list_objects(self, resource: str, namespace: str | None = None) -> list[JsonObj]:
        rt = self.store.resolve(resource)
        return [
            self.store.get(rt, o["metadata"].get("namespace"), o["metadata"]["name"])
            for o in self.store.items(rt, namespace, lambda _: True)
        ]

    def put_object(self, obj: JsonObj) -> JsonObj:
        """Create ``obj`` (by its apiVersion/kind), or replace it unconditionally if it exists."""
        rt = self.store.type_of(obj)
        meta = obj.get("metadata") or {}
        namespace = (meta.get("namespace") or "default") if rt.namespaced else None
        try:
            self.store.get(rt, namespace, str(meta.get("name")))
        except ApiError:
            return self.store.create(rt, namespace, obj)
        body = {**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
        updated = self.store.update(rt, namespace, str(meta["name"]), lambda _: body)
        if "status" in obj and rt.has_status:
            status = obj["status"]
            updated = self.store.update(
                rt, namespace, str(meta["name"]), lambda cur: {**cur, "status": status}, "status"
            )
        return updated

    def delete_object(self, resource: str, namespace: str | None, name: str) -> bool:
        """Delete like the API does (finalizers hold it); False if it did not exist."""
        try:
            self.store.delete(self.store.resolve(resource), namespace, name)
        except ApiError as exc:
            if exc.code == 404:
                return False
            raise
        return True

    def apply_manifests(self, paths: Iterable[str | pathlib.Path]) -> list[JsonObj]:
        """put_object every document of the YAML files, CRDs first (e.g. deploy/crds/*.yaml)."""
        docs = [
            doc
            for path in paths
            for doc in yaml.safe_load_all(pathlib.Path(path).read_text())
            if isinstance(doc, dict)
        ]
        docs.sort(key=lambda d: d.get("kind") != "CustomResourceDefinition")
        return [self.put_object(doc) for doc in docs]


@contextlib.asynccontextmanager
async def serve(
    emulator: KubernetesApiEmulator | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[tuple[KubernetesApiEmulator, str]]:
    """Serve on the running loop: ``async with serve() as (emu, url): ...``."""
    emulator = emulator if emulator is not None else KubernetesApiEmulator()
    async with emulator:
        runner = aiohttp.web.ServerRunner(aiohttp.web.Server(emulator), shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = aiohttp.web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            advertised = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
            yield emulator, f"http://{advertised}:{bound}"
        finally:
            emulator.close_watches()
            await runner.cleanup()


class KubernetesEmulatorServer:
    """Runs a :class:`KubernetesApiEmulator` on its own thread and event loop, for sync code.

    ``with KubernetesEmulatorServer() as server: server.write_kubeconfig(path)``; ``url`` is
    valid after :meth:`start`. The object accessors are thread-safe (they run on the loop).
    """

    def __init__(self, emulator: KubernetesApiEmulator | None = None) -> None:
        self.emulator = emulator if emulator is not None else KubernetesApiEmulator()
        self._url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return self._url

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving in a background thread; returns the base URL (``http://host:port``)."""
        if self._thread is not None:
            raise RuntimeError("the emulator server is already started")
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(
            target=self._run, args=(host, port), name="kubernetes-emulator", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None or self._url is None:
            self._thread.join(timeout=5)
            self._thread = None
            raise RuntimeError(f"the emulator did not start: {self._error!r}") from self._error
        return self._url

    def _run(self, host: str, port: int) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            async with serve(self.emulator, host, port) as (_, url):
                self._url = url
                self._ready.set()
                await self._stop.wait()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
            log.exception("the Kubernetes emulator thread failed")
        finally:
            self._ready.set()

    def stop(self) -> None:
        """Stop serving (open watches end) and join the thread; idempotent."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have just finished
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._thread, self._url, self._loop, self._stop = None, None, None, None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def write_kubeconfig(
        self, path: str | pathlib.Path, namespace: str = "default"
    ) -> pathlib.Path:
        """A kubeconfig for kubectl and ``kubernetes.config.load_kube_config`` (dummy token)."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {"token": "emulator-token"}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "emulator", "namespace": namespace},
                }
            ],
            "current-context": "emulator",
        }
        target = pathlib.Path(path)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    def call(self, fn: Callable[[KubernetesApiEmulator], T], timeout: float = 30) -> T:
        """Run ``fn(emulator)`` on the emulator's loop and return its result (thread-safe)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the emulator is not running: call start() first")

        async def run() -> T:
            return fn(self.emulator)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)

    def get_object(self, resource: str, namespace: str | None, name: str) -> JsonObj | None:
        return self.call(lambda emu: emu.get_object(resource, namespace, name))

    def list_objects(self, resource: str, namespace: str | None = None) -> list[JsonObj]:
        return self.call(lambda emu: emu.list_objects(resource, namespace))

    def put_object(self, obj: JsonObj) -> JsonObj:
        return self.call(lambda emu: emu.put_object(obj))

    def delete_object(self, resource: str, namespace: str | None, name: str) -> bool:
        return self.call(lambda emu: emu.delete_object(resource, namespace, name))

    def apply_manifests(self, paths: Iterable[str | pathlib.Path]) -> list[JsonObj]:
        return self.call(lambda emu: emu.apply_manifests(list(paths)))


def install_crds(
    server: KubernetesEmulatorServer, paths: Iterable[str | pathlib.Path]
) -> list[JsonObj]:
    """Create (or replace) the CRDs and other objects in the YAML files, e.g. deploy/crds/*."""
    return server.apply_manifests(paths)


def main(argv: list[str] | None = None) -> None:
    """``python -m emulators.kubernetes``: serve in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Run the Kubernetes API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for the emulator here")
    parser.add_argument("--namespace", default="default", help="the kubeconfig's namespace")
    parser.add_argument(
        "--apply",
        action="append",
        default=[],
        metavar="YAML",
        help="create the objects in this file at start (repeatable)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(
        logging.INFO if args.access_log else logging.WARNING
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(signum, lambda *_: stop.set())
    server = KubernetesEmulatorServer()
    server.start(args.host, args.port)
    with server:
        if args.apply:
            server.apply_manifests(args.apply)
        if args.kubeconfig:
            server.write_kubeconfig(args.kubeconfig, args.namespace)
        print(f"Kubernetes API emulator at {server.url}", flush=True)
        if args.kubeconfig:
            print(f"export KUBECONFIG={pathlib.Path(args.kubeconfig).resolve()}", flush=True)
        while not stop.wait(0.5):  # a timed wait lets the signal handlers run promptly
            pass


if __name__ == "__main__":
    main()
