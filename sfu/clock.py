"""The server clock and a room's 20 ms tick, paced by absolute deadlines."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

FRAME_MS = 20
SAMPLE_RATE = 48_000
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 960
IDLE_BATCH = 5  # ticks per wake-up while nobody hears the room (one wake-up per 100 ms)


def server_ms() -> float:
    """The process's monotonic clock in ms: ``server_ms`` of the protocol."""
    return time.monotonic() * 1000.0


class TickStats:
    """Lateness and underruns of a ticker, for metrics (the last minute of ticks kept)."""

    __slots__ = ("ticks", "late_ms_max", "late_ms_sum", "underruns", "recent")

    def __init__(self) -> None:
        self.ticks = 0
        self.late_ms_max = 0.0
        self.late_ms_sum = 0.0
        self.underruns = 0
        self.recent: deque[float] = deque(maxlen=3000)

    def add(self, late_ms: float) -> None:
        self.ticks += 1
        self.late_ms_sum += late_ms
        self.late_ms_max = max(self.late_ms_max, late_ms)
        self.recent.append(late_ms)

    def late_ms_p99(self) -> float:
        if not self.recent:
            return 0.0
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class RoomClock:
    """Calls ``on_tick(tick, tick_ms)`` once per 20 ms frame, forever, until stopped.

    Tick ``n`` is due at ``start_ms + n * 20``: deadlines are absolute, so the
    clock never drifts. A loop that falls behind catches up frame by frame;
    one that falls more than ``max_catch_up`` frames behind skips ahead and
    counts an underrun, so listeners get a short gap rather than a burst.

    While ``idle()`` says nobody hears the room, the clock wakes once per
    ``IDLE_BATCH`` frames and runs the due ticks back to back: the timeline
    (music position, track changes) moves exactly as before, for a fifth of
    the wake-ups. Those batched ticks are late by design and are not counted
    in ``stats``.
    """

    def __init__(
        self,
        on_tick: Callable[[int, float], None],
        *,
        max_catch_up: int = 10,
        now: Callable[[], float] = server_ms,
        idle: Callable[[], bool] | None = None,
    ) -> None:
        self._on_tick = on_tick
        self._idle = idle
        self._now = now
        self._max_catch_up = max_catch_up
        self.start_ms = 0.0
        self.tick = 0
        self.stats = TickStats()
        self._task: asyncio.Task[None] | None = None

    def tick_ms(self, tick: int) -> float:
        return self.start_ms + tick * FRAME_MS

    def start(self) -> None:
        if self._task is None:
            self.start_ms = self._now()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        batched = False  # the last sleep waited for a batch (decided when it began)
        while True:
            now = self._now()
            due = self.tick_ms(self.tick)
            if now < due:
                batched = self._idle is not None and self._idle()
                wake = due + (IDLE_BATCH - 1) * FRAME_MS if batched else due
                # Whole milliseconds, rounded up: uvloop's timers count in ms, so a shorter
                # sleep returns at once and the loop would spin until the deadline.
                await asyncio.sleep(math.ceil(wake - now) / 1000.0)
                continue
            self._run_due(now, batched)

    def _run_due(self, now: float, batched: bool) -> None:
        """Every tick due by ``now``, in order: one, unless the loop woke late or waited for a batch."""
        while (due := self.tick_ms(self.tick)) <= now:
            late = now - due
            if late > self._max_catch_up * FRAME_MS:
                skipped = int(late // FRAME_MS)
                self.stats.underruns += skipped
                self.tick += skipped
                continue
            if not batched:
                self.stats.add(late)
            self._on_tick(self.tick, due)
            self.tick += 1
