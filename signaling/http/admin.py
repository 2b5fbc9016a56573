"""The operator's console behind ``/admin``: end any room, the live rooms, a few live figures.

The figures are the ones ``/metrics`` exposes, read from the same collector registry
(``app[METRICS]``): one source for the scrape and the console.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from aiohttp import web
from prometheus_client.core import Metric

from ..keys import LOOP_MONITOR, METRICS, REGISTRY, SETTINGS, STORE
from ..tokens import bearer, same
from . import rooms
from .metrics import cpu_seconds
from .requests import live_room, require_operator

CPU_WINDOW_S = 1.0  # a CPU share over less than this is noise: the previous one is kept


def is_operator(request: web.Request) -> bool:
    """Whether the request carries the configured admin token (never, when none is configured)."""
    expected = request.app[SETTINGS].admin_token
    return bool(expected) and same(bearer(request.headers.get("Authorization")), expected)


async def end_room(request: web.Request) -> web.Response:
    """``DELETE /api/rooms/{room_id}``: the operator ends any room; a host token goes on to the
    host's own handler (``rooms.delete_room``), which refuses everything else."""
    if not is_operator(request):
        return await rooms.delete_room(request)
    room = live_room(request)
    request.app[STORE].audit(
        "operator_end_room", room_id=room.room_id, actor_name="operator", detail={"title": room.title}
    )
    await room.end()
    return web.Response(status=204)


async def list_rooms(request: web.Request) -> web.Response:
    """``GET /api/admin/rooms``: the live rooms (most listeners first) as the public summary, plus
    ``participants`` (connected), ``host_connected`` and ``permanent``."""
    require_operator(request)
    out = []
    for room in request.app[REGISTRY].live():
        host = room.host
        out.append(
            {
                **room.summary(),
                "participants": room.connected_count(),
                "host_connected": host is not None and host.connected,
                "permanent": room.permanent,
            }
        )
    return web.json_response(out)


def _samples(metrics: Iterable[Metric]) -> dict[str, list[float]]:
    """Every sample's values by sample name (a labelled series has several)."""
    values: dict[str, list[float]] = {}
    for metric in metrics:
        for sample in metric.samples:
            values.setdefault(sample.name, []).append(float(sample.value))
    return values


class LiveFigures:
    """``GET /api/admin/stats``: listeners, rooms, CPU share, RSS, tick lateness, loop lag.

    The CPU share is the process's CPU time over wall time since the previous reading
    (at least ``CPU_WINDOW_S`` apart; the first reading covers the time since the app was made).
    """

    def __init__(self) -> None:
        self._wall = time.monotonic()
        self._cpu = cpu_seconds()
        self._share: float | None = None

    def cpu_percent(self, cpu_s: float) -> float:
        """Percent of one core used since the previous reading (100 = one core busy)."""
        now = time.monotonic()
        elapsed = now - self._wall
        if elapsed >= CPU_WINDOW_S or (self._share is None and elapsed > 0):
            self._share = 100.0 * max(0.0, cpu_s - self._cpu) / elapsed
            self._wall, self._cpu = now, cpu_s
        return round(self._share or 0.0, 1)

    async def handler(self, request: web.Request) -> web.Response:
        require_operator(request)
        values = _samples(request.app[METRICS].collect())

        def total(name: str) -> float:
            return sum(values.get(name, [0.0]))

        return web.json_response(
            {
                "listeners": int(total("onair_listeners")),
                "participants": int(total("onair_participants")),
                "rooms": int(total("onair_rooms")),
                "cpu_percent": self.cpu_percent(total("onair_process_cpu_seconds_total")),
                "rss_bytes": int(total("onair_process_resident_memory_bytes")),
                "tick_late_ms_p99": max(values.get("onair_music_tick_late_ms_p99", [0.0])),
                "tick_late_ms_max": max(values.get("onair_music_tick_late_ms_max", [0.0])),
                "loop_lag_ms": round(request.app[LOOP_MONITOR].worst_lag_ms(), 1),
                "uptime_s": round(time.time() - request.app[REGISTRY].started_at, 1),
            }
        )
