"""What a server costs when nobody listens: CPU share and memory of ``onair serve``, from /proc.

Four windows per run, the server pinned to one CPU:

1. ``fresh``: a new data dir, the demo room on (the demo library is written at
   start): RSS as soon as ``/healthz`` answers, then CPU over the window and
   RSS at its end.
2. ``restart``: the same data dir again (the library is there, the demo room
   comes back from the store).
3. ``bare``: no demo room, no room at all.
4. ``rooms``: ``--rooms`` empty rooms made through ``POST /api/rooms`` on that
   bare server (music playing, nobody connected); the cost per empty room is
   (this window - bare) / rooms.

CPU is the growth of utime + stime in ``/proc/PID/stat`` over the window,
divided by its length (1.0 = one core busy). Prints JSON: every run and the
medians.

``python -m benchmarks.idle_bench [--seconds 30] [--runs 3] [--rooms 3] [--cpu 0]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .server import LocalServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * PAGE


def cpu_share(pid: int, seconds: float) -> float:
    """The share of one core the process used over the next ``seconds``."""
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)


def server_pid(server: LocalServer) -> int:
    assert server.proc is not None
    return server.proc.pid  # taskset execs the server: the same process


def create_room(server: LocalServer, title: str) -> str:
    body = json.dumps({"title": title, "host_name": "bench"}).encode()
    request = urllib.request.Request(
        f"{server.url}/api/rooms", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return str(json.loads(resp.read())["room_id"])


def measure_start(data_dir: Path, cpu: str | None, seconds: float, settle: float) -> dict[str, Any]:
    """A server with the demo room: RSS when healthy, CPU over the window, RSS after it."""
    with LocalServer(data_dir, cpu=cpu, demo=True, extra_args=["--host-grace", "3600"]) as server:
        pid = server_pid(server)
        rss_start = rss_bytes(pid)
        time.sleep(settle)
        share = cpu_share(pid, seconds)
        return {"rss_start_mb": rss_start / 1e6, "cpu_share": share, "rss_end_mb": rss_bytes(pid) / 1e6}


def measure_rooms(
    data_dir: Path, cpu: str | None, seconds: float, settle: float, rooms: int
) -> dict[str, Any]:
    """No demo room: the bare server's CPU, then with ``rooms`` empty rooms."""
    with LocalServer(data_dir, cpu=cpu, demo=False, extra_args=["--host-grace", "3600"]) as server:
        pid = server_pid(server)
        time.sleep(settle)
        bare = cpu_share(pid, seconds)
        rss_bare = rss_bytes(pid)
        for n in range(rooms):
            create_room(server, f"idle {n + 1}")
        time.sleep(settle)
        with_rooms = cpu_share(pid, seconds)
        return {
            "bare_cpu_share": bare,
            "rooms_cpu_share": with_rooms,
            "per_room_cpu_share": (with_rooms - bare) / rooms,
            "per_room_rss_mb": (rss_bytes(pid) - rss_bare) / rooms / 1e6,
        }


def run_once(cpu: str | None, seconds: float, settle: float, rooms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="onair-idle-") as tmp:
        data_dir = Path(tmp) / "data"
        fresh = measure_start(data_dir, cpu, seconds, settle)
        restart = measure_start(data_dir, cpu, seconds, settle)
        bare = measure_rooms(Path(tmp) / "bare", cpu, seconds, settle, rooms)
    return {"fresh": fresh, "restart": restart, **bare}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of every figure over the runs (nested one level)."""
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = {k: round(statistics.median(r[key][k] for r in runs), 4) for k in value}
        else:
            out[key] = round(statistics.median(r[key] for r in runs), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="each measured window")
    parser.add_argument("--settle", type=float, default=3.0, help="wait before each window")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rooms", type=int, default=3, help="empty rooms in the last window")
    parser.add_argument("--cpu", default="0", help="pin the server to this CPU ('' for none)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.runs < 1 or args.rooms < 1:
        parser.error("--seconds, --runs and --rooms must be positive")
    runs = []
    for n in range(args.runs):
        runs.append(run_once(args.cpu or None, args.seconds, args.settle, args.rooms))
        print(f"idle_bench: run {n + 1}: {json.dumps(runs[-1])}", file=sys.stderr)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "settings": {"seconds": args.seconds, "runs": args.runs, "rooms": args.rooms, "cpu": args.cpu},
        "median": medians(runs),
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
