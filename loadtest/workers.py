"""Worker processes: each runs its own event loop (uvloop when installed) with many peers.

The parent and the workers share two small arrays (no locks: each slot has a
single writer):

- ``control`` (parent writes): the monotonic second of the first join, the
  measured window's start and end in monotonic ms, and a stop flag;
- ``progress`` (each worker writes its own row): ready, joined, failed,
  settled, packets, dropped.

At the end a worker sends its peers' results through a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from .peer import CLOSE_TIMEOUT_S, ListenerPeer, Mode, gather_on_loopback, listener_sessions, now_ms
from .stats import Window

# control slots
T0_S, WINDOW_START_MS, WINDOW_END_MS, STOP = range(4)
CONTROL_SIZE = 4
# progress fields, one row per worker
READY, JOINED, FAILED, SETTLED, PACKETS, DROPPED = range(6)
PROGRESS_FIELDS = 6

POLL_S = 0.05
PUBLISH_EVERY = 10  # polls between progress updates (0.5 s: they walk every peer's streams)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What one worker process is asked to do."""

    index: int
    ws_url_format: str  # ".../ws?name=listener-{}", formatted with the peer's number
    peer_numbers: tuple[int, ...]  # global numbers: peer n joins at t0 + n / rate
    rate: float
    jitter_ms: float
    join_timeout_s: float
    listeners: int = 0  # in every worker: peer n comes from the (n % addresses)-th loopback address
    mode: Mode = "header"  # how peers count packets (loadtest.peer)


def worker_main(cfg: WorkerConfig, control: Any, progress: Any, conn: Connection) -> None:
    """Process entry point: run the peers, send their results, exit."""
    try:
        import uvloop  # noqa: PLC0415  (optional: not built for every platform)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        result = asyncio.run(_run(cfg, control, progress))
    else:
        result = uvloop.run(_run(cfg, control, progress))
    conn.send(result)
    conn.close()


async def _run(cfg: WorkerConfig, control: Any, progress: Any) -> dict[str, Any]:
    gather_on_loopback()
    window = Window()
    stop = asyncio.Event()
    row = cfg.index * PROGRESS_FIELDS
    async with contextlib.AsyncExitStack() as stack:
        url = cfg.ws_url_format.format(0)
        sessions = [
            await stack.enter_async_context(s)
            for s in listener_sessions(url, cfg.listeners or len(cfg.peer_numbers))
        ]
        peers = [
            ListenerPeer(
                cfg.ws_url_format.format(n),
                sessions[n % len(sessions)],
                window,
                jitter_ms=cfg.jitter_ms,
                join_timeout_s=cfg.join_timeout_s,
                mode=cfg.mode,
            )
            for n in cfg.peer_numbers
        ]
        progress[row + READY] = 1
        t0 = await _wait_for_t0(control)
        tasks = [
            asyncio.ensure_future(_start_at(t0 + n / cfg.rate, peer, stop))
            for n, peer in zip(cfg.peer_numbers, peers, strict=True)
        ]
        cpu_s = await _supervise(peers, window, control, progress, row)
        stop.set()
        await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S * 3)
        for task in tasks:
            task.cancel()
    return {
        "worker": cfg.index,
        "cpu_s": cpu_s,
        "window_ms": window.length_ms,
        "peers": [peer.result() for peer in peers],
    }


async def _wait_for_t0(control: Any) -> float:
    while control[T0_S] <= 0 and not control[STOP]:
        await asyncio.sleep(POLL_S)
    return float(control[T0_S])


async def _start_at(at_s: float, peer: ListenerPeer, stop: asyncio.Event) -> None:
    delay = at_s - time.monotonic()
    if delay > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    if stop.is_set():
        peer.failure = "not_started"
        return
    await peer.run(stop)


async def _supervise(
    peers: list[ListenerPeer], window: Window, control: Any, progress: Any, row: int
) -> float:
    """Publish progress until told to stop; return this process's CPU seconds in the window."""
    cpu_start = cpu_end = None
    polls = 0
    while not control[STOP]:
        start, end = control[WINDOW_START_MS], control[WINDOW_END_MS]
        window.start = start if start > 0 else math.inf
        window.end = end if end > 0 else math.inf
        now = now_ms()
        if cpu_start is None and now >= window.start:
            cpu_start = time.process_time()
        if cpu_end is None and now >= window.end:
            cpu_end = time.process_time()
        if polls % PUBLISH_EVERY == 0:
            _publish(peers, progress, row, now)
        polls += 1
        await asyncio.sleep(POLL_S)
    _publish(peers, progress, row, now_ms())
    if cpu_start is None:
        return 0.0
    return (cpu_end if cpu_end is not None else time.process_time()) - cpu_start


def _publish(peers: list[ListenerPeer], progress: Any, row: int, now: float) -> None:
    progress[row + JOINED] = sum(p.joined for p in peers)
    progress[row + FAILED] = sum(p.failure is not None for p in peers)
    progress[row + SETTLED] = sum(p.settled(now) for p in peers)
    progress[row + PACKETS] = sum(s.packets for p in peers for s in p.stats.streams.values())
    progress[row + DROPPED] = sum(p.dropped is not None for p in peers)
