"""``GET /metrics``: Prometheus text for the operator."""

from __future__ import annotations

import os
import resource

from aiohttp import web

from sfu import MediaWorker

from .errors import ApiError
from .registry import RoomRegistry
from .tokens import bearer, same

_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def render(registry: RoomRegistry, worker: MediaWorker) -> str:
    rooms = registry.live()
    participants = sum(sum(1 for p in r.participants.values() if p.connected) for r in rooms)
    listeners = sum(r.summary()["listeners"] for r in rooms)
    ticks = [r.router.clock.stats for r in rooms]
    c = worker.counters
    lines = [
        (
            "onair_process_cpu_seconds_total",
            "counter",
            "CPU time of the server process",
            cpu_seconds(),
        ),
        ("onair_process_resident_memory_bytes", "gauge", "resident memory", resident_bytes()),
        (
            "onair_forwarded_packets_total",
            "counter",
            "RTP packets sent to consumers",
            c.forwarded_packets,
        ),
        (
            "onair_received_packets_total",
            "counter",
            "RTP packets received from speakers",
            c.received_packets,
        ),
        ("onair_rooms", "gauge", "live rooms", len(rooms)),
        ("onair_participants", "gauge", "connected participants", participants),
        ("onair_listeners", "gauge", "connected listeners", listeners),
        (
            "onair_music_ticks_total",
            "counter",
            "music frames produced",
            sum(t.ticks for t in ticks),
        ),
        (
            "onair_music_underruns_total",
            "counter",
            "music frames skipped (loop too late)",
            sum(t.underruns for t in ticks),
        ),
        (
            "onair_music_tick_late_ms_max",
            "gauge",
            "worst tick lateness in ms",
            max((t.late_ms_max for t in ticks), default=0.0),
        ),
        (
            "onair_music_tick_late_ms_p99",
            "gauge",
            "99th percentile of tick lateness over the last minute, worst room",
            max((t.late_ms_p99() for t in ticks), default=0.0),
        ),
    ]
    out = []
    for name, kind, help_text, value in lines:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    return "\n".join(out) + "\n"


async def metrics(request: web.Request) -> web.Response:
    from .app import REGISTRY, SETTINGS, WORKER

    token = request.app[SETTINGS].admin_token
    if not token:
        raise ApiError("forbidden", "metrics need an admin token in the configuration")
    if not same(bearer(request.headers.get("Authorization")), token):
        raise ApiError("unauthorized", "metrics are for the operator")
    text = render(request.app[REGISTRY], request.app[WORKER])
    return web.Response(text=text, content_type="text/plain", charset="utf-8")
