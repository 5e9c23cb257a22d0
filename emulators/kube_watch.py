"""Watch events: the bounded history behind watch resumption, and the live subscribers."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable

from emulators.kube_types import ApiError, JsonObj

Storage = tuple[str, str]  # (group, plural)
Matcher = Callable[[JsonObj], bool]
Deliver = Callable[[str, JsonObj], None]
END = ""  # the event type a watcher gets when its stream must end


@dataclasses.dataclass(frozen=True)
class Event:
    """One committed write: its resourceVersion, the new state and the previous one."""

    rv: int
    storage: Storage
    type: str  # ADDED, MODIFIED or DELETED
    obj: JsonObj  # never mutated once committed
    old: JsonObj | None


@dataclasses.dataclass(eq=False)
class _Watcher:
    storage: Storage
    matches: Matcher
    deliver: Deliver


def transition(event: Event, matches: Matcher) -> tuple[str, JsonObj] | None:
    """What a filtered watch sees: objects entering/leaving its filter are ADDED/DELETED."""
    now = matches(event.obj)
    before = event.old is not None and matches(event.old)
    if event.type != "MODIFIED":
        return (event.type, event.obj) if now else None
    if now:
        return ("MODIFIED" if before else "ADDED", event.obj)
    return ("DELETED", event.obj) if before else None


class EventLog:
    """The last ``limit`` events (one per resourceVersion) and the live watchers."""

    def __init__(self, limit: int) -> None:
        self._history: collections.deque[Event] = collections.deque(maxlen=max(limit, 1))
        self._floor = 0  # the newest resourceVersion that is no longer in the history
        self._watchers: list[_Watcher] = []

    def append(self, event: Event) -> None:
        """Record ``event`` and hand it to every watcher whose filter it concerns."""
        if len(self._history) == self._history.maxlen:
            self._floor = self._history[0].rv
        self._history.append(event)
        for watcher in list(self._watchers):
            if watcher.storage == event.storage:
                seen = transition(event, watcher.matches)
                if seen is not None:
                    watcher.deliver(*seen)

    def replay(self, storage: Storage, since: int, matches: Matcher, deliver: Deliver) -> None:
        """Deliver every event after ``since``; 410 Expired if the history starts later."""
        if since < self._floor:
            raise ApiError(410, "Expired", f"too old resource version: {since} ({self._floor + 1})")
        for event in self._history:
            if event.rv > since and event.storage == storage:
                seen = transition(event, matches)
                if seen is not None:
                    deliver(*seen)

    def close(self, storage: Storage) -> None:
        """End the watches of a storage that is no longer served (its CRD is gone)."""
        for watcher in [w for w in self._watchers if w.storage == storage]:
            self._watchers.remove(watcher)
            watcher.deliver(END, {})

    def subscribe(self, storage: Storage, matches: Matcher, deliver: Deliver) -> Callable[[], None]:
        """Deliver future events until the returned function is called."""
        watcher = _Watcher(storage, matches, deliver)
        self._watchers.append(watcher)

        def unsubscribe() -> None:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

        return unsubscribe
