"""The parent process: room, worker processes, pacing, measured window, server samples."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import quote

import aiohttp

from . import report
from .metrics_client import Sample, ServerClient
from .peer import CLOSE_TIMEOUT_S, Mode, now_ms
from .workers import (
    CONTROL_SIZE,
    DROPPED,
    FAILED,
    JOINED,
    PACKETS,
    PROGRESS_FIELDS,
    READY,
    SETTLED,
    STOP,
    T0_S,
    WINDOW_END_MS,
    WINDOW_START_MS,
    WorkerConfig,
    worker_main,
)

READY_TIMEOUT_S = 30.0


@dataclass(slots=True)
class LoadConfig:
    """The command line, as data."""

    url: str
    listeners: int
    seconds: float
    processes: int = 1
    rate: float = 20.0
    room: str | None = None
    admin_token: str | None = None
    jitter_ms: float = 200.0
    join_timeout_s: float = 20.0
    settle_s: float = 2.0  # after every peer has audio, before the window opens
    cpus: list[int] = field(default_factory=list)
    mode: Mode = "header"
    progress: TextIO | None = sys.stderr


def ws_url_format(base_url: str, room_id: str) -> str:
    """The listener join URL with a ``{}`` where the peer's number goes."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}/api/rooms/{quote(room_id, safe='')}/ws?name=listener-{{}}"


class WorkerPool:
    """The worker processes, the arrays shared with them and the pipes back."""

    def __init__(self, cfg: LoadConfig, url_format: str) -> None:
        ctx = mp.get_context("spawn")  # no inherited event loop or sockets
        count = max(1, min(cfg.processes, cfg.listeners))
        self.listeners = cfg.listeners
        self.control = ctx.RawArray("d", CONTROL_SIZE)
        self.progress = ctx.RawArray("q", count * PROGRESS_FIELDS)
        self.pipes: list[Any] = []
        self.procs: list[Any] = []
        self.configs: list[WorkerConfig] = []
        for index in range(count):
            wcfg = WorkerConfig(
                index=index,
                ws_url_format=url_format,
                peer_numbers=tuple(range(index, cfg.listeners, count)),
                rate=cfg.rate,
                jitter_ms=cfg.jitter_ms,
                join_timeout_s=cfg.join_timeout_s,
                listeners=cfg.listeners,
                mode=cfg.mode,
            )
            receiver, sender = ctx.Pipe(duplex=False)
            proc = ctx.Process(
                target=worker_main,
                args=(wcfg, self.control, self.progress, sender),
                name=f"loadtest-worker-{index}",
                daemon=True,
            )
            self.configs.append(wcfg)
            self.pipes.append(receiver)
            self.procs.append(proc)

    def start(self) -> None:
        for proc in self.procs:
            proc.start()

    def total(self, fieldno: int) -> int:
        return sum(self.progress[i * PROGRESS_FIELDS + fieldno] for i in range(len(self.procs)))

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while self.total(READY) < len(self.procs):
            if time.monotonic() > deadline or not all(p.is_alive() for p in self.procs):
                raise RuntimeError("load-test workers did not start")
            await asyncio.sleep(0.05)

    async def collect(self, timeout_s: float) -> list[dict[str, Any]]:
        """Each worker's result; a worker that sends nothing counts its peers as failed."""
        results: list[dict[str, Any] | None] = [None] * len(self.procs)
        deadline = time.monotonic() + timeout_s
        while any(r is None for r in results) and time.monotonic() < deadline:
            for i, pipe in enumerate(self.pipes):
                if results[i] is None and pipe.poll():
                    with contextlib.suppress(EOFError):
                        results[i] = pipe.recv()
            await asyncio.sleep(0.05)
        return [
            r if r is not None else _lost_worker(c)
            for r, c in zip(results, self.configs, strict=True)
        ]

    def shutdown(self) -> None:
        self.control[STOP] = 1
        for proc in self.procs:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)


def _lost_worker(cfg: WorkerConfig) -> dict[str, Any]:
    peer = {
        "joined": False,
        "failure": "worker_lost",
        "dropped": None,
        "join_ms": None,
        "first_audio_ms": None,
        "packets": 0,
        "bytes": 0,
        "expected": 0,
        "lost": 0,
        "realtime": 0.0,
    }
    return {
        "worker": cfg.index,
        "cpu_s": 0.0,
        "window_ms": 0.0,
        "peers": [dict(peer) for _ in cfg.peer_numbers],
    }


class Progress:
    """Prints one progress line a second to stderr while the test runs."""

    def __init__(self, pool: WorkerPool, out: TextIO | None) -> None:
        self.pool, self.out, self.phase = pool, out, "starting"
        self.started = time.monotonic()

    async def run(self) -> None:
        while self.out is not None:
            pool = self.pool
            self.out.write(
                f"[{time.monotonic() - self.started:6.1f}s] {self.phase:<9} "
                f"joined {pool.total(JOINED)}/{pool.listeners} failed {pool.total(FAILED)} "
                f"dropped {pool.total(DROPPED)} packets {pool.total(PACKETS)}\n"
            )
            self.out.flush()
            await asyncio.sleep(1.0)


async def _sample(server: ServerClient, token: str | None) -> Sample | None:
    if not token:
        return None
    try:
        return await server.metrics(token)
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"loadtest: /metrics unavailable: {exc!r}", file=sys.stderr)
        return None


async def _sleep_until_ms(at_ms: float) -> None:
    await asyncio.sleep(max(at_ms - now_ms(), 0.0) / 1e3)


async def _measure(cfg: LoadConfig, server: ServerClient, room_id: str) -> dict[str, Any]:
    baseline = await _sample(server, cfg.admin_token)
    pool = WorkerPool(cfg, ws_url_format(cfg.url, room_id))
    progress = Progress(pool, cfg.progress)
    printer = asyncio.ensure_future(progress.run())
    try:
        pool.start()
        await pool.wait_ready()
        t0 = time.monotonic() + 0.2
        pool.control[T0_S] = t0
        progress.phase = "joining"
        join_deadline = t0 + (cfg.listeners - 1) / cfg.rate + cfg.join_timeout_s + 2.0
        while pool.total(SETTLED) < cfg.listeners and time.monotonic() < join_deadline:
            if not any(proc.is_alive() for proc in pool.procs):
                raise RuntimeError("every load-test worker died")
            await asyncio.sleep(0.1)
        join_phase_s = time.monotonic() - t0
        progress.phase = "settling"
        start_ms = now_ms() + max(cfg.settle_s * 1e3, 200.0)
        pool.control[WINDOW_START_MS] = start_ms
        pool.control[WINDOW_END_MS] = start_ms + cfg.seconds * 1e3
        await _sleep_until_ms(start_ms)
        progress.phase = "measuring"
        first = await _sample(server, cfg.admin_token)
        await _sleep_until_ms(start_ms + cfg.seconds * 1e3)
        last = await _sample(server, cfg.admin_token)
        progress.phase = "closing"
        pool.control[STOP] = 1
        workers = await pool.collect(CLOSE_TIMEOUT_S * 3 + 10.0)
    finally:
        printer.cancel()
        pool.shutdown()
    peers = [p for w in workers for p in w["peers"]]
    meta = {
        "url": cfg.url,
        "room_id": room_id,
        "listeners": cfg.listeners,
        "mode": cfg.mode,
        "processes": len(pool.procs),
        "rate": cfg.rate,
        "seconds": cfg.seconds,
        "jitter_ms": cfg.jitter_ms,
        "settle_s": cfg.settle_s,
        "join_phase_s": round(join_phase_s, 2),
    }
    return report.summarize(meta, peers, workers, (baseline, first, last))


async def run(cfg: LoadConfig) -> dict[str, Any]:
    """Run one load test and return its summary."""
    if cfg.cpus:
        os.sched_setaffinity(0, cfg.cpus)  # the workers inherit it
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        server = ServerClient(cfg.url, session)
        room_id, host_token = cfg.room, None
        if room_id is None:
            room_id, host_token = await server.create_room("Load test", "loadtest")
        try:
            return await _measure(cfg, server, room_id)
        finally:
            if host_token is not None:  # end the room we made: its music costs CPU
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await server.delete_room(room_id, host_token)
