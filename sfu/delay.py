"""A delay line: packets held for a while, then handed on in order, held once per producer."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from time import monotonic

Packet = tuple[bytes, int, int, bool]  # payload, timestamp, sequence, marker
Release = Callable[[bytes, int, int, bool, float], None]


class DelayLine:
    """Holds packets for ``delay_ms`` and releases them through ``release``.

    One timer at a time, set for the head of the line; the delay is the same for
    every packet in the line, so order is kept. Shortening the delay drops what
    would otherwise leave in a burst (the listener's player would skip it
    anyway) and says so through ``on_jump``; lengthening it leaves a gap.
    """

    def __init__(self, release: Release, on_jump: Callable[[], None], max_ms: float = 32_000.0) -> None:
        self._release = release
        self._on_jump = on_jump
        self._max_ms = max_ms
        self._items: deque[tuple[float, Packet]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self.delay_ms = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def set_delay(self, delay_ms: float) -> None:
        delay_ms = max(0.0, min(delay_ms, self._max_ms))
        if delay_ms == self.delay_ms:
            return
        shorter = delay_ms < self.delay_ms
        self.delay_ms = delay_ms
        if shorter:
            cutoff = monotonic() - delay_ms / 1000.0
            while self._items and self._items[0][0] <= cutoff:
                self._items.popleft()
        self._on_jump()
        self._schedule()

    def push(self, packet: Packet, now: float) -> None:
        if self.delay_ms <= 0:
            self._release(*packet, now)
            return
        self._items.append((now, packet))
        if self._timer is None:
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._items:
            loop = asyncio.get_running_loop()
            due = self._items[0][0] + self.delay_ms / 1000.0
            self._timer = loop.call_at(loop.time() + max(0.0, due - monotonic()), self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = monotonic()
        cutoff = now - self.delay_ms / 1000.0 + 0.0005
        items = self._items
        while items and items[0][0] <= cutoff:
            _, packet = items.popleft()
            self._release(*packet, now)
        self._schedule()

    def drop(self) -> None:
        """Forget every packet still held (a broadcast delay's ``dump``): they never leave."""
        if self._items:
            self._items.clear()
            self._on_jump()
        self._schedule()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._items.clear()
