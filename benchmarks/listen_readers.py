"""Light HTTP stream readers: ``--count`` connections to one loopback URL, counting bytes and stalls.

Each reader sends a plain ``GET`` (HTTP/1.1, no TLS), checks the status line and
then only reads, as fast as the bytes come, until ``--seconds`` have passed. A
stall is a gap over ``--stall`` seconds between two reads once the stream has
started (its first ``WARMUP_BYTES``: the headers and the Ogg header pages come
at once, the first audio page up to a playout later). Prints one JSON object:
bytes, the worst gap, how many readers stalled and when, connections refused
or closed early, and the readers' own event-loop lag (a stall that every
reader sees at once while their loop was late is the readers', not the
server's).

Bounded: at most ``MAX_COUNT`` readers for at most ``MAX_SECONDS``, to
127.0.0.0/8 only.

``python -m benchmarks.listen_readers URL [--count 1000] [--seconds 40]``
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_COUNT = 5000
MAX_SECONDS = 600.0
WARMUP_BYTES = 4096
READ_SIZE = 65536
RAMP_BATCH = 50  # readers connected together, then a short pause: no SYN flood on the listen backlog
RAMP_PAUSE_S = 0.05


def loopback_target(url: str) -> tuple[str, int, str]:
    """``(host, port, path)`` of an ``http://`` URL on 127.0.0.0/8; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"not an http:// URL: {url!r}")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        raise ValueError(f"not an IP address: {parts.hostname!r} (loopback only)") from None
    if not (address.version == 4 and address.is_loopback):
        raise ValueError(f"{address} is not in 127.0.0.0/8")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return str(address), parts.port or 80, path


class GapTracker:
    """The longest silence between two reads of one stream, once ``warmup`` bytes came."""

    def __init__(self, warmup: int = WARMUP_BYTES) -> None:
        self.warmup = warmup
        self.bytes = 0
        self.worst = 0.0
        self.worst_at: float | None = None  # when the worst gap ended
        self._last: float | None = None

    def note(self, now: float, size: int) -> None:
        """``size`` bytes were read at ``now`` (seconds, any monotonic clock)."""
        if self._last is not None and self.bytes >= self.warmup and now - self._last > self.worst:
            self.worst = now - self._last
            self.worst_at = now
        self._last = now
        self.bytes += size


@dataclass
class Totals:
    """What all readers saw."""

    count: int
    bytes: int = 0
    worst_gap: float = 0.0
    stalls: int = 0
    stall_at: Counter[float] = field(default_factory=Counter)  # seconds since start, rounded: readers
    refused: int = 0  # no connection, or a status other than 200
    closed: int = 0  # the server ended the stream before the time was up
    least_bytes: int | None = None
    errors: Counter[str] = field(default_factory=Counter)
    loop_lag_s: float = 0.0  # the readers' own event loop: the worst oversleep of a 50 ms timer
    loop_lag_at: float = 0.0

    def add(self, gaps: GapTracker, stall_s: float, start: float) -> None:
        self.bytes += gaps.bytes
        self.worst_gap = max(self.worst_gap, gaps.worst)
        self.least_bytes = gaps.bytes if self.least_bytes is None else min(self.least_bytes, gaps.bytes)
        if gaps.worst > stall_s and gaps.worst_at is not None:
            self.stalls += 1
            self.stall_at[round(gaps.worst_at - start, 1)] += 1

    def as_json(self, seconds: float) -> dict[str, Any]:
        return {
            "n": self.count,
            "bytes": self.bytes,
            "bytes_per_reader_per_s": round(self.bytes / self.count / seconds) if self.count else 0,
            "least_bytes": self.least_bytes,
            "worst_gap_s": round(self.worst_gap, 3),
            "stalls": self.stalls,
            "stall_at": sorted(self.stall_at.items())[:20],
            "refused": self.refused,
            "closed": self.closed,
            "errors": dict(self.errors.most_common(5)),
            "loop_lag_s": round(self.loop_lag_s, 3),
            "loop_lag_at": round(self.loop_lag_at, 1),
        }


async def read_stream(target: tuple[str, int, str], seconds: float, stall_s: float, start: float,
                      totals: Totals) -> None:
    """One reader: connect, GET, read until ``seconds`` after ``start``."""
    host, port, path = target
    end = start + seconds
    gaps = GapTracker()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=10)
    except (OSError, TimeoutError) as exc:
        totals.refused += 1
        totals.errors[type(exc).__name__] += 1
        return
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nIcy-MetaData: 0\r\n\r\n".encode())
        status = await asyncio.wait_for(reader.readline(), timeout=10)
        if b" 200 " not in status:
            totals.refused += 1
            totals.errors[status.decode("latin-1").strip()[:40] or "no status"] += 1
            return
        while (left := end - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(READ_SIZE), timeout=left)
            except TimeoutError:
                break
            if not data:
                totals.closed += 1
                break
            gaps.note(time.monotonic(), len(data))
    except (OSError, TimeoutError) as exc:
        totals.errors[type(exc).__name__] += 1
        totals.closed += 1
    finally:
        writer.close()
    totals.add(gaps, stall_s, start)


async def watch_loop(totals: Totals, start: float, end: float, period: float = 0.05) -> None:
    """Note the worst lateness of this process's own event loop until ``end``."""
    while (before := time.monotonic()) < end:
        await asyncio.sleep(period)
        late = time.monotonic() - before - period
        if late > totals.loop_lag_s:
            totals.loop_lag_s, totals.loop_lag_at = late, time.monotonic() - start


async def run(url: str, count: int, seconds: float, stall_s: float) -> dict[str, Any]:
    target = loopback_target(url)
    start = time.monotonic()
    totals = Totals(count)
    watcher = asyncio.create_task(watch_loop(totals, start, start + seconds))
    tasks = []
    for i in range(count):
        # every reader stops at the same moment, so the late joiners read a little less
        tasks.append(asyncio.create_task(read_stream(target, seconds, stall_s, start, totals)))
        if i % RAMP_BATCH == RAMP_BATCH - 1:
            await asyncio.sleep(RAMP_PAUSE_S)
    await asyncio.gather(*tasks, watcher)
    return totals.as_json(seconds)


def raise_fd_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.listen_readers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="an http:// URL on 127.0.0.0/8")
    parser.add_argument("--count", type=int, default=1000, help=f"readers (1..{MAX_COUNT})")
    parser.add_argument("--seconds", type=float, default=40.0,
                        help=f"reading time (at most {MAX_SECONDS:.0f})")
    parser.add_argument("--stall", type=float, default=1.0, help="a gap longer than this is a stall (s)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= MAX_COUNT:
        parser.error(f"--count must be 1..{MAX_COUNT}")
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS:.0f}]")
    try:
        loopback_target(args.url)
    except ValueError as exc:
        parser.error(str(exc))
    raise_fd_limit(args.count + 64)
    print(json.dumps(asyncio.run(run(args.url, args.count, args.seconds, args.stall))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
