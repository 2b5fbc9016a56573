"""A sliding-window rate limit per key (an address, a participant)."""

from __future__ import annotations

import contextlib
import time
from collections import deque

from ..cluster import BusUnavailable, ClusterBus


class RateLimit:
    """At most ``count`` events per ``window_s`` per key; ``count`` 0 means no limit."""

    def __init__(self, count: int, window_s: float) -> None:
        self.count = count
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}
        self._prune_at = 1024

    def allow(self, key: str, now: float | None = None) -> bool:
        if self.count <= 0:
            return True
        now = time.monotonic() if now is None else now
        events = self._events.setdefault(key, deque())
        while events and now - events[0] > self.window_s:
            events.popleft()
        if len(events) >= self.count:
            return False
        events.append(now)
        if len(self._events) > self._prune_at:  # forget keys with nothing in the window
            for k in [k for k, v in self._events.items() if not v or now - v[-1] > self.window_s]:
                del self._events[k]
            self._prune_at = max(1024, 2 * len(self._events))
        return True


async def allowed(limit: RateLimit, bus: ClusterBus | None, name: str, key: str) -> bool:
    """``limit`` for ``key``, counted across every worker when there are workers (``name`` tells
    the limits apart in Redis); counted here alone while Redis cannot be reached."""
    if bus is not None:
        with contextlib.suppress(BusUnavailable):
            return await bus.allow(name, key, limit.count, limit.window_s)
    return limit.allow(key)
