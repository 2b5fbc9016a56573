"""The soak's figures: what the server process holds, read from /proc and /metrics, and the verdict.

Pure arithmetic apart from ``ProcessProbe.read``: the regression and the
return-to-baseline checks are tested without a server.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from .metrics_client import ServerClient

TASKS = "onair_asyncio_tasks"
THREADS = "onair_process_threads"
FDS = "onair_process_open_fds"
RSS = "onair_process_resident_memory_bytes"
PARTICIPANTS = "onair_participants"
# reported as they are at the start and at the end (the cost of the media worker's sweeps)
EXTRAS = (
    "onair_gc_sweeps_total",
    "onair_gc_sweep_seconds_total",
    "onair_gc_sweep_ms_max",
    "onair_gc_swept_objects_total",
    "onair_music_tick_late_ms_max",
    "onair_music_tick_late_ms_p99",
    "onair_music_underruns_total",
)

TOLERANCE = 0.05  # each figure must come back within 5 % of where it started
# RSS may not climb with the number of joins by more than this (linear regression
# over every sample after the warm-up). The leak of issue 8 was ~90 KB per join;
# noise on this machine stays within a few KB per join (docs/benchmarks.md).
MAX_KB_PER_JOIN = 15.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class Reading:
    """One look at the server: memory, descriptors, threads, tasks, after ``joins`` joins."""

    at_s: float
    joins: int
    rss_kb: float
    fds: int
    threads: int
    tasks: int | None  # from /metrics (needs the admin token)
    participants: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProcessProbe:
    """Reads the server's process (by PID when it is on this machine) and its /metrics."""

    def __init__(self, server: ServerClient, admin_token: str | None, pid: int | None) -> None:
        self.server = server
        self.admin_token = admin_token
        self.pid = pid
        self.t0 = time.monotonic()
        self.values: dict[str, float] = {}  # the last /metrics read

    async def read(self, joins: int) -> Reading:
        """/proc first (so the scrape's own socket is not counted), then /metrics."""
        proc = _proc_figures(self.pid) if self.pid is not None else {}
        values: dict[str, float] = {}
        if self.admin_token:
            try:
                values = (await self.server.metrics(self.admin_token)).values
            except (aiohttp.ClientError, TimeoutError):
                values = {}
        self.values = values
        return Reading(
            at_s=round(time.monotonic() - self.t0, 2),
            joins=joins,
            rss_kb=proc.get("rss_kb", values.get(RSS, math.nan) / 1024),
            fds=int(proc.get("fds", values.get(FDS, -1))),
            threads=int(proc.get("threads", values.get(THREADS, -1))),
            tasks=int(values[TASKS]) if TASKS in values else None,
            participants=int(values[PARTICIPANTS]) if PARTICIPANTS in values else None,
        )


    def extras(self) -> dict[str, float | None]:
        """The sweep and clock figures of the last read (None when the server has no such metric)."""
        return {name: self.values.get(name) for name in EXTRAS}


def _proc_figures(pid: int) -> dict[str, float]:
    with open(f"/proc/{pid}/statm") as f:
        rss_kb = int(f.read().split()[1]) * _PAGE / 1024
    threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
    return {"rss_kb": rss_kb, "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads}


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs (None with fewer than 3 points or no spread)."""
    if len(xs) < 3:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def allowed_drift(start: float, integer: bool) -> float:
    """5 % of the starting figure; for counts, rounded up to a whole one (5 % of 15 threads is 1)."""
    drift = abs(start) * TOLERANCE
    return float(math.ceil(drift)) if integer else drift


def verdict(
    start: Reading, end: Reading, series: Sequence[Reading], max_kb_per_join: float = MAX_KB_PER_JOIN
) -> dict[str, Any]:
    """Did everything come back, and does RSS stay flat in the number of joins?"""
    failures: list[str] = []
    for name, integer in (("rss_kb", False), ("fds", True), ("threads", True), ("tasks", True)):
        a, b = getattr(start, name), getattr(end, name)
        if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
            failures.append(f"{name}: not measured")
            continue
        if abs(b - a) > allowed_drift(a, integer):
            failures.append(f"{name}: {a:g} at start, {b:g} at the end (more than 5 % apart)")
    points = [r for r in series if r.at_s >= start.at_s]
    kb = slope([r.joins for r in points], [r.rss_kb for r in points])
    if kb is None:
        failures.append("rss per join: too few samples for a regression")
    elif kb > max_kb_per_join:
        failures.append(f"rss climbs {kb:.1f} KB per join (limit {max_kb_per_join:g})")
    return {
        "ok": not failures,
        "failures": failures,
        "kb_per_join": None if kb is None else round(kb, 2),
        "max_kb_per_join": max_kb_per_join,
    }
