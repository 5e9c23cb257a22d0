"""List-then-watch of one resource, in a thread, on the official client's ``watch.Watch``.

An informer keeps a cache of the objects it has seen (key → resourceVersion and the
object), lists everything on start and whenever the watch cannot resume (410 Gone, or any error
after a backoff), and reports differences, so a dropped connection never loses an event: a
relist reports objects that changed or vanished meanwhile. It resumes watches from the last
resourceVersion it saw, and the server's ``timeoutSeconds`` bounds each watch call.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

Obj = dict[str, Any]
EventHandler = Callable[[str, str, Obj], None]  # (resource name, event type, object)

log = logging.getLogger("pushsecret.starter.informer")

#: Event types delivered to handlers. SYNC is an object seen by a (re)list.
ADDED, MODIFIED, DELETED, SYNC = "ADDED", "MODIFIED", "DELETED", "SYNC"


def _key(obj: Obj) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return md.get("namespace") or "", md.get("name") or ""


class Informer:
    """Watches one resource (optionally one namespace) and calls ``handler`` per change.

    ``list_fn(**kwargs)`` must be a list call of the official client that returns a dict
    (CustomObjectsApi) or a model; ``watch.Watch().stream`` is called on the same function.
    The handler runs in the informer's thread and must not block for long.
    """

    def __init__(
        self,
        resource: str,
        list_fn: Callable[..., Any],
        handler: EventHandler,
        *,
        serialize: Callable[[Any], Obj] | None = None,
        trim: Callable[[Obj], Obj] | None = None,
        watch_timeout: int = 300,
        backoff: float = 1.0,
    ) -> None:
        self.resource = resource
        self._list_fn = list_fn
        self._handler = handler
        self._serialize = serialize
        # Secrets arrive with their data; trimming them to metadata keeps values out of the
        # long-lived cache and out of handlers.
        self._trim = trim or (lambda o: o)
        self._watch_timeout = watch_timeout
        self._backoff = backoff
        self._stop = threading.Event()
        self._watch: watch.Watch | None = None
        self._thread: threading.Thread | None = None
        self.cache: dict[tuple[str, str], Obj] = {}
        self.synced = threading.Event()
        #: how many full lists were made (1 at start; more after 410s and errors)
        self.relists = 0

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"informer-{self.resource}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # -- internals --------------------------------------------------------------------------

    def _as_dict(self, obj: Any) -> Obj:
        if isinstance(obj, dict):
            return obj
        assert self._serialize is not None, "typed list results need a serializer"
        return self._serialize(obj)

    def _relist(self) -> str:
        res = self._as_dict(self._list_fn())
        self.relists += 1
        items: list[Obj] = res.get("items") or []
        seen: dict[tuple[str, str], Obj] = {}
        for item in items:
            seen[_key(item)] = self._trim(self._as_dict(item))
        for key, old in list(self.cache.items()):
            if key not in seen:
                del self.cache[key]
                self._emit(DELETED, old)
        for key, item in seen.items():
            prev = self.cache.get(key)
            self.cache[key] = item
            if prev is None or _rv(prev) != _rv(item):
                self._emit(SYNC, item)
        self.synced.set()
        rv: str = (res.get("metadata") or {}).get("resourceVersion") or ""
        return rv

    def _emit(self, etype: str, obj: Obj) -> None:
        try:
            self._handler(self.resource, etype, obj)
        except Exception:
            log.exception("handler failed for %s %s %s", self.resource, etype, _key(obj))

    def _run(self) -> None:
        rv = ""
        while not self._stop.is_set():
            try:
                if not rv:
                    rv = self._relist()
                rv = self._watch_from(rv)
            except ApiException as err:
                if err.status == 410:
                    log.info("%s: watch expired (410), relisting", self.resource)
                else:
                    log.warning(
                        "%s: API error %s, relisting after backoff", self.resource, err.status
                    )
                    self._stop.wait(self._backoff)
                rv = ""
            except (HTTPError, OSError, ValueError) as err:
                log.warning(
                    "%s: watch failed (%s), relisting after backoff",
                    self.resource,
                    type(err).__name__,
                )
                self._stop.wait(self._backoff)
                rv = ""

    def _watch_from(self, rv: str) -> str:
        """Watch from ``rv`` until the server ends the call; return the last version seen."""
        self._watch = w = watch.Watch()
        for event in w.stream(
            self._list_fn,
            resource_version=rv,
            timeout_seconds=self._watch_timeout,
            allow_watch_bookmarks=True,
        ):
            if self._stop.is_set():
                break
            etype = event.get("type")
            raw: Obj = event.get("raw_object") or {}
            if etype != "ERROR":
                raw = self._trim(raw)
            if etype == "ERROR":
                code = raw.get("code")
                if code == 410:
                    raise ApiException(status=410, reason="Expired")
                raise ApiException(status=int(code or 500), reason=str(raw.get("reason")))
            new_rv = (raw.get("metadata") or {}).get("resourceVersion")
            if new_rv:
                rv = new_rv
            if etype == "BOOKMARK":
                continue
            key = _key(raw)
            if etype == DELETED:
                self.cache.pop(key, None)
            else:
                self.cache[key] = raw
            self._emit(str(etype), raw)
        return rv


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
