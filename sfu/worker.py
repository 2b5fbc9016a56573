"""The media plane of the process: the routers, the counters they share, and the sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable, Sequence

from .ice import TurnServers, gather_on, relay_through
from .producer import Counters, MusicSource
from .router import Router

log = logging.getLogger(__name__)


def _libc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None elsewhere, e.g. musl)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    return trim


_malloc_trim = _libc_malloc_trim()

SWEEP_MIN_CLOSED = 16  # closed connections that call for a sweep, or a quarter of the live ones
SWEEP_QUIET_S = 1.0  # ... or fewer, once nobody has left for this long
SWEEP_CHECK_S = 1.0
SWEEP_SHARE = 0.02  # at most this share of the time is spent sweeping (spacing = duration / share)


class Sweeper:
    """Frees what closed peer connections leave behind in reference cycles.

    aiortc's and aioice's objects refer to each other (event handlers between a
    connection and its transports, ICE check pairs and their sockets'
    protocols, the seams' wrappers): a closed connection, OpenSSL and SRTP
    state included (~180 KB), is freed only by the cyclic GC, and only by a
    full collection once it has lived long enough to reach the oldest
    generation. The server tunes the GC so that full collections almost never
    run (their pauses show as late ticks), so every departed listener used to
    stay in memory for good.

    One full collection runs once enough connections have closed (a quarter of
    those alive, at least ``SWEEP_MIN_CLOSED``: a collection costs in
    proportion to what is alive, so the cost per departure stays constant), or
    once nobody has left for ``SWEEP_QUIET_S``; never more than ``SWEEP_SHARE``
    of the time. When it freed something, the C heap's free pages go back to
    the system (glibc's ``malloc_trim``, as Ruby does after a major GC): the
    connections' OpenSSL and SRTP buffers are scattered through the heap, and
    glibc alone would keep every page the busiest moment needed.
    """

    def __init__(self) -> None:
        self.pending = 0  # connections closed since the last sweep
        self.last_close = 0.0
        self.last_sweep = 0.0
        self.last_s = 0.0
        self.sweeps = 0
        self.freed = 0  # objects the sweeps found unreachable
        self.seconds = 0.0
        self.max_ms = 0.0
        self._task: asyncio.Task[None] | None = None

    def note_closed(self) -> None:
        self.pending += 1
        self.last_close = time.monotonic()

    def due(self, live: int, now: float) -> bool:
        if not self.pending or now - self.last_sweep < self.last_s / SWEEP_SHARE:
            return False
        return self.pending >= max(SWEEP_MIN_CLOSED, live // 4) or now - self.last_close >= SWEEP_QUIET_S

    def sweep(self) -> int:
        """One full collection now; returns how many unreachable objects it found."""
        started = time.perf_counter()
        freed = gc.collect()
        if freed and _malloc_trim is not None:
            _malloc_trim(0)
        took = time.perf_counter() - started
        self.pending, self.last_sweep, self.last_s = 0, time.monotonic(), took
        self.sweeps += 1
        self.freed += freed
        self.seconds += took
        self.max_ms = max(self.max_ms, took * 1000.0)
        log.debug("sweep: %d unreachable objects in %.1f ms", freed, took * 1000.0)
        return freed

    def start(self, live: Callable[[], int]) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(live))

    async def _run(self, live: Callable[[], int]) -> None:
        while True:
            await asyncio.sleep(SWEEP_CHECK_S)
            if self.due(live(), time.monotonic()):
                self.sweep()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class MediaWorker:
    """Creates routers (one per room) and closes them.

    Each router sends its own RTCP sender reports from its clock, a slice of
    its subscribers per tick, so no second loop competes with the music.
    With ``turn``, every peer connection also gathers a relay candidate there
    (the operator's ``--turn-server-side``).
    """

    def __init__(
        self, media_addresses: Sequence[str], ice_servers: Sequence[str], turn: TurnServers | None = None
    ) -> None:
        gather_on(media_addresses)
        relay_through(turn)
        self.ice_servers = list(ice_servers)
        self.counters = Counters()
        self.routers: set[Router] = set()
        self.sweeper = Sweeper()

    def live_peers(self) -> int:
        return sum(len(r.subscribers) + len(r.publishers) for r in self.routers)

    def create_router(self, music: MusicSource | None) -> Router:
        """A room's router; with no music source, a relay for a room whose origin is elsewhere."""
        router = Router(music, self.ice_servers, self.counters)
        self.routers.add(router)
        router.once("close", lambda: self.routers.discard(router))
        router.on("peer_closed", self.sweeper.note_closed)
        router.start()
        self.sweeper.start(self.live_peers)
        return router

    async def close(self) -> None:
        await asyncio.gather(*(r.close() for r in list(self.routers)), return_exceptions=True)
        await self.sweeper.stop()
