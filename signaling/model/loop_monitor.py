"""How late the event loop runs: one task sleeps a fixed interval and notes how late it wakes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque


class LoopMonitor:
    """Measures how late the event loop wakes a task that sleeps ``interval`` again and again."""

    def __init__(self, interval: float = 0.1, window: float = 5.0) -> None:
        self.interval = interval
        self._lags: deque[tuple[float, float]] = deque()  # (when, lag_ms)
        self._window = window
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def worst_lag_ms(self, now: float | None = None) -> float:
        """The worst lag seen in the window, counting a wake-up that is overdue right now."""
        now = time.monotonic() if now is None else now
        while self._lags and self._lags[0][0] < now - self._window:
            self._lags.popleft()
        return max((lag for _, lag in self._lags), default=0.0)

    def note(self, when: float, lag_ms: float) -> None:
        self._lags.append((when, lag_ms))
        while self._lags[0][0] < when - self._window:
            self._lags.popleft()

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval)
            after = time.monotonic()
            self.note(after, max(0.0, (after - before - self.interval) * 1000.0))
