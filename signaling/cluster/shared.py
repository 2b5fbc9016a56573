"""What the workers share besides the directory: each worker's reports, and limits counted cluster-wide.

A mixin of ``ClusterBus``. A *report* is a text a worker republishes with
every heartbeat (its metrics, its rooms' summaries), so that whichever worker
answers ``/metrics`` or ``GET /api/rooms`` answers for all of them; a report
expires with the heartbeat, so a dead worker's figures vanish with it. A
*shared limit* is a sliding window kept in Redis, so that an address meets the
same limit whichever worker the kernel hands its connections to.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from .naming import Names
from .redis_io import SLIDING_WINDOW, text, unavailable_on_error


class SharedMixin:
    """Reports written with the heartbeat and read for every live worker; sliding-window limits."""

    worker_id: str
    names: Names
    _redis: Redis
    reports: dict[str, Callable[[], str]]

    def _init_shared(self) -> None:
        self.reports = {}
        self._window_script: AsyncScript = self._redis.register_script(SLIDING_WINDOW)

    def _report_values(self) -> dict[str, str]:
        """This worker's reports now, by Redis key (the heartbeat writes them)."""
        return {self.names.report(self.worker_id, name): make() for name, make in self.reports.items()}

    async def reports_of(self, name: str, worker_ids: list[str]) -> dict[str, str]:
        """Report ``name`` of each of ``worker_ids`` that has one (a dead worker's has expired)."""
        if not worker_ids:
            return {}
        with unavailable_on_error("reports_of"):
            values = await self._redis.mget([self.names.report(w, name) for w in worker_ids])
        return {w: text(v) for w, v in zip(worker_ids, values, strict=True) if v is not None}

    async def allow(self, limit: str, key: str, count: int, window_s: float) -> bool:
        """At most ``count`` events of ``limit`` per ``window_s`` for ``key``, across the cluster."""
        if count <= 0:
            return True
        with unavailable_on_error("allow"):
            allowed = await self._window_script(
                keys=[self.names.limit(limit, key)],
                args=[time.time() * 1000, window_s * 1000, count, secrets.token_hex(6)])
        return bool(allowed)
