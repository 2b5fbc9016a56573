"""The server's side of the figures: its ``/metrics`` (Prometheus text) and room API."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

CPU = "onair_process_cpu_seconds_total"
RSS = "onair_process_resident_memory_bytes"
FORWARDED = "onair_forwarded_packets_total"
PARTICIPANTS = "onair_participants"
ROOMS = "onair_rooms"
# optional: reported when the server has them
UNDERRUNS = "onair_music_underruns_total"
TICK_LATE_MAX = "onair_music_tick_late_ms_max"
TICK_LATE_P99 = "onair_music_tick_late_ms_p99"


def parse_prometheus(text: str) -> dict[str, float]:
    """Metric name -> value, summed over label sets (comments and bad lines skipped)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name_part, _, rest = line.rpartition("}") if "}" in line else ("", "", line)
        if name_part:
            name = name_part.split("{", 1)[0]
            fields = rest.split()
        else:
            name, *fields = rest.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        values[name] = values.get(name, 0.0) + value
    return values


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the server's metrics, with the monotonic time it was taken."""

    at_s: float
    values: dict[str, float]

    def get(self, name: str) -> float | None:
        return self.values.get(name)


class ServerClient:
    """Talks to the server under test over HTTP."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session

    async def metrics(self, admin_token: str) -> Sample:
        """Read ``GET /metrics`` with the operator's token."""
        headers = {"Authorization": f"Bearer {admin_token}"}
        async with self._session.get(f"{self.base_url}/metrics", headers=headers) as resp:
            resp.raise_for_status()
            text = await resp.text()
        return Sample(time.monotonic(), parse_prometheus(text))

    async def create_room(self, title: str, host_name: str) -> tuple[str, str]:
        """``POST /api/rooms``; returns (room_id, host_token)."""
        body = {"title": title, "host_name": host_name}
        async with self._session.post(f"{self.base_url}/api/rooms", json=body) as resp:
            if resp.status != 201:
                raise RuntimeError(f"POST /api/rooms: {resp.status} {await resp.text()}")
            data = await resp.json()
        return data["room_id"], data["host_token"]

    async def delete_room(self, room_id: str, host_token: str) -> int:
        """``DELETE /api/rooms/{id}`` as its host; returns the HTTP status."""
        headers = {"Authorization": f"Bearer {host_token}"}
        url = f"{self.base_url}/api/rooms/{room_id}"
        async with self._session.delete(url, headers=headers) as resp:
            return resp.status


def delta(first: Sample | None, last: Sample | None, name: str) -> float | None:
    """How much a counter grew between two samples (None when unknown)."""
    if first is None or last is None:
        return None
    a, b = first.get(name), last.get(name)
    return None if a is None or b is None else b - a
