"""``python -m loadtest --soak MINUTES``: listeners join and leave in waves; does the server come back?

One room with music and a host. Each wave, ``wave`` listeners join (at
``rate`` per second), get audio, say one chat line, stay ``hold`` seconds and
leave; every ``stage_every`` waves the host brings one of them on stage (it
publishes a voice, every subscriber renegotiates) and sends it back. ``gap``
seconds after every wave has left, the server process is read (RSS, open file
descriptors and threads from /proc/PID, asyncio tasks from /metrics) and the
next wave joins.

The starting figures are taken after a warm-up wave has come and gone and
``settle`` seconds passed (allocator arenas, imports, caches and thread pools
fill once); the end figures ``settle`` seconds after the last wave left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlencode

import aiohttp

from .metrics_client import ServerClient
from .peer import CLOSE_TIMEOUT_S, gather_on_loopback, listener_sessions, now_ms
from .runner import ws_url_format
from .soak_figures import MAX_KB_PER_JOIN, ProcessProbe, Reading, verdict
from .soak_peer import HostPeer, SoakPeer
from .stats import Window


@dataclass(slots=True)
class SoakConfig:
    """The soak's command line, as data."""

    url: str
    minutes: float
    admin_token: str | None = None
    server_pid: int | None = None
    wave: int = 30
    rate: float = 20.0
    hold_s: float = 1.0
    gap_s: float = 1.0  # after a wave has left, before the server is read and the next wave joins
    settle_s: float = 10.0
    warmup_waves: int = 1
    stage_every: int = 3
    join_timeout_s: float = 15.0
    max_kb_per_join: float = MAX_KB_PER_JOIN
    cpus: list[int] = field(default_factory=list)
    progress: TextIO | None = sys.stderr


@dataclass(slots=True)
class WaveResult:
    """What one wave did."""

    joined: int = 0
    failed: int = 0
    audio: int = 0
    chats_acked: int = 0
    stage: str | None = None  # "ok", "no_publish", "no_demote" when this wave had a stage change
    failures: dict[str, int] = field(default_factory=dict)  # reason -> count

    def add(self, other: WaveResult) -> None:
        self.joined += other.joined
        self.failed += other.failed
        self.audio += other.audio
        self.chats_acked += other.chats_acked
        for reason, count in other.failures.items():
            self.failures[reason] = self.failures.get(reason, 0) + count


class Soak:
    """Runs the waves against one room and keeps the server's readings."""

    def __init__(
        self,
        cfg: SoakConfig,
        session: aiohttp.ClientSession,
        listeners: list[aiohttp.ClientSession],
        room_id: str,
        host_token: str,
    ) -> None:
        self.cfg = cfg
        self.session = session
        self.listeners = listeners
        self.url_format = ws_url_format(cfg.url, room_id)
        base = self.url_format.split("?", 1)[0]
        self.host_url = f"{base}?{urlencode({'name': 'host', 'token': host_token})}"
        self.window = Window()
        self.joins = 0
        self.waves = 0
        self.totals = WaveResult()
        self.stage_changes: dict[str, int] = {}
        self.host: HostPeer | None = None
        self.host_task: asyncio.Future[None] | None = None

    async def start_host(self, stop: asyncio.Event) -> None:
        """Join as the host (with the host token) and stay until ``stop``."""
        host = self.host = HostPeer(self.host_url, self.session, self.window)
        task = self.host_task = asyncio.ensure_future(host.run(stop))
        deadline = time.monotonic() + self.cfg.join_timeout_s
        while host.participant_id is None and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.05)
        if host.role != "host":
            raise RuntimeError(f"the host could not join: {host.failure or host.role}")

    async def wave(self) -> WaveResult:
        """One wave: join, audio, chat, (stage), hold, leave; returns what happened."""
        number, cfg = self.waves, self.cfg
        self.waves += 1
        stop = asyncio.Event()
        peers = [
            SoakPeer(
                self.url_format.format(f"{number}-{i}"),
                self.listeners[i % len(self.listeners)],
                self.window,
                chat_line=f"hello from wave {number}, listener {i}",
                join_timeout_s=cfg.join_timeout_s,
            )
            for i in range(cfg.wave)
        ]
        t0 = time.monotonic()
        tasks = [
            asyncio.ensure_future(_start_at(t0 + i / cfg.rate, p, stop)) for i, p in enumerate(peers)
        ]
        deadline = t0 + cfg.wave / cfg.rate + cfg.join_timeout_s
        while time.monotonic() < deadline and not all(p.settled(now_ms()) for p in peers):
            await asyncio.sleep(0.05)
        result = WaveResult()
        if cfg.stage_every > 0 and number % cfg.stage_every == cfg.stage_every - 1:
            result.stage = await self._stage_change(peers)
            self.stage_changes[result.stage] = self.stage_changes.get(result.stage, 0) + 1
        await asyncio.sleep(cfg.hold_s)
        stop.set()
        await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_S * 3)
        for task in tasks:
            task.cancel()
        result.joined = sum(p.joined for p in peers)
        result.failed = sum(p.failure is not None for p in peers)
        for reason in (p.failure or p.dropped for p in peers):
            if reason is not None:
                result.failures[reason] = result.failures.get(reason, 0) + 1
        result.audio = sum(p.stats.first_packet_ms is not None for p in peers)
        result.chats_acked = sum(min(p.acks, 1) for p in peers)
        self.joins += result.joined
        self.totals.add(result)
        return result

    async def _stage_change(self, peers: list[SoakPeer]) -> str:
        host = self.host
        candidates = [p for p in peers if p.joined and p.failure is None and p.dropped is None]
        if host is None or not candidates:
            return "no_listener"
        speaker = candidates[0]
        if not await host.promote(speaker, self.cfg.join_timeout_s):
            return "no_publish"
        await asyncio.sleep(0.5)  # the voice reaches every subscriber's offer
        if not await host.demote(speaker, self.cfg.join_timeout_s):
            return "no_demote"
        return "ok"


async def _start_at(at_s: float, peer: SoakPeer, stop: asyncio.Event) -> None:
    await asyncio.sleep(max(0.0, at_s - time.monotonic()))
    if stop.is_set():
        peer.failure = "not_started"
        return
    await peer.run(stop)


def _log(cfg: SoakConfig, text: str) -> None:
    if cfg.progress is not None:
        cfg.progress.write(text + "\n")
        cfg.progress.flush()


async def _waves(cfg: SoakConfig, soak: Soak, probe: ProcessProbe) -> dict[str, Any]:
    series: list[Reading] = []
    for _ in range(cfg.warmup_waves):
        await soak.wave()
        await asyncio.sleep(cfg.gap_s)
        series.append(await probe.read(soak.joins))
    await asyncio.sleep(cfg.settle_s)
    start = await probe.read(soak.joins)
    start_extras = probe.extras()
    series.append(start)
    _log(cfg, f"[soak] start after warm-up: {start.as_dict()}")
    until = time.monotonic() + cfg.minutes * 60.0
    while time.monotonic() < until:
        result = await soak.wave()
        await asyncio.sleep(cfg.gap_s)
        reading = await probe.read(soak.joins)
        series.append(reading)
        _log(cfg, f"[soak] wave {soak.waves}: joined {result.joined}/{cfg.wave} "
                  f"audio {result.audio} stage {result.stage} -> {reading.as_dict()}")
    await asyncio.sleep(cfg.settle_s)
    end = await probe.read(soak.joins)
    series.append(end)
    _log(cfg, f"[soak] end after {cfg.settle_s:g} s settle: {end.as_dict()}")
    return {"start": start, "end": end, "series": series,
            "metrics": {"start": start_extras, "end": probe.extras()}}


async def soak(cfg: SoakConfig) -> dict[str, Any]:
    """Run the soak against ``cfg.url``; returns the JSON-able summary with its verdict."""
    if cfg.cpus:
        os.sched_setaffinity(0, cfg.cpus)
    gather_on_loopback()
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        )
        scrape = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        )
        listeners = [await stack.enter_async_context(s) for s in listener_sessions(cfg.url, cfg.wave)]
        server = ServerClient(cfg.url, session)
        probe = ProcessProbe(ServerClient(cfg.url, scrape), cfg.admin_token, cfg.server_pid)
        room_id, host_token = await server.create_room("Soak", "host")
        run = Soak(cfg, session, listeners, room_id, host_token)
        stop_host = asyncio.Event()
        try:
            await run.start_host(stop_host)
            figures = await _waves(cfg, run, probe)
        finally:
            stop_host.set()
            if run.host_task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(run.host_task, CLOSE_TIMEOUT_S * 2)
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                await server.delete_room(room_id, host_token)
    return summarize(cfg, run, figures)


def summarize(cfg: SoakConfig, run: Soak, figures: dict[str, Any]) -> dict[str, Any]:
    start, end, series = figures["start"], figures["end"], figures["series"]
    judged = verdict(start, end, series, cfg.max_kb_per_join)
    totals = run.totals
    return {
        "url": cfg.url,
        "minutes": cfg.minutes,
        "wave": cfg.wave,
        "rate": cfg.rate,
        "hold_s": cfg.hold_s,
        "gap_s": cfg.gap_s,
        "settle_s": cfg.settle_s,
        "warmup_waves": cfg.warmup_waves,
        "waves": run.waves,
        "joins": run.joins,
        "joins_measured": end.joins - start.joins,
        "failed": totals.failed,
        "failures": totals.failures,
        "with_audio": totals.audio,
        "chats_acked": totals.chats_acked,
        "stage_changes": run.stage_changes,
        "start": start.as_dict(),
        "end": end.as_dict(),
        "server_metrics": figures["metrics"],
        "kb_per_join": judged["kb_per_join"],
        "verdict": judged,
        "samples": [r.as_dict() for r in series],
    }

