"""What the workers share besides the directory: each worker's reports, and limits counted cluster-wide.

A mixin of ``ClusterBus``. A *report* is a text a worker republishes with
every heartbeat (its metrics, its rooms' summaries), so that whichever worker
answers ``/metrics`` or ``GET /api/rooms`` answers for all of them; a report
expires with the heartbeat, so a dead worker's figures vanish with it. A
*tally* is the same for counts by key (open room sockets by address), kept as
a hash so that one key is read from each worker without the rest. A
*shared limit* is a sliding window kept in Redis, so that an address meets the
same limit whichever worker the kernel hands its connections to.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

from .naming import Names
from .redis_io import SLIDING_WINDOW, text, unavailable_on_error


class SharedMixin:
    """Reports written with the heartbeat and read for every live worker; sliding-window limits."""

    worker_id: str
    names: Names
    _redis: Redis
    reports: dict[str, Callable[[], str]]
    tallies: dict[str, Callable[[], dict[str, int]]]

    def _init_shared(self) -> None:
        self.reports = {}
        self.tallies = {}
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

    def _write_tallies(self, pipe: Pipeline, ttl_ms: int) -> None:
        """This worker's tallies now, each replacing the last (in the heartbeat's transaction)."""
        for name, make in self.tallies.items():
            key = self.names.tally(self.worker_id, name)
            counts = {k: v for k, v in make().items() if v > 0}
            pipe.delete(key)
            if counts:
                pipe.hset(key, mapping=counts)  # type: ignore[arg-type]
                pipe.pexpire(key, ttl_ms)

    async def tally_elsewhere(self, name: str, key: str) -> int:
        """``key``'s count in tally ``name``, summed over every other live worker as of its last
        heartbeat (a dead worker's tally has expired)."""
        with unavailable_on_error("tally_elsewhere"):
            workers = map(text, await self._redis.smembers(self.names.workers))
            others = [w for w in workers if w != self.worker_id]
            if not others:
                return 0
            pipe = self._redis.pipeline(transaction=False)
            for worker_id in others:
                pipe.hget(self.names.tally(worker_id, name), key)
            values = await pipe.execute()
        return sum(int(v) for v in values if v is not None)

    async def allow(self, limit: str, key: str, count: int, window_s: float) -> bool:
        """At most ``count`` events of ``limit`` per ``window_s`` for ``key``, across the cluster."""
        if count <= 0:
            return True
        with unavailable_on_error("allow"):
            allowed = await self._window_script(
                keys=[self.names.limit(limit, key)],
                args=[time.time() * 1000, window_s * 1000, count, secrets.token_hex(6)])
        return bool(allowed)
