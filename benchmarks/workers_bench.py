"""One room served by two workers: listeners spread over both, as the kernel spreads connections.

``python -m benchmarks.workers_bench --listeners 400``: a local redis-server,
``onair serve --workers 2`` pinned to CPU 0, the load generator on CPU 1. Prints
JSON: what the listeners received (loss, share of audio time in real time),
how they spread over the workers, both workers' CPU over the run (from /proc),
and each worker's CPU per forwarded packet in the steady window (from the
cluster-wide ``/metrics``, series labelled ``worker``) against the floor
(``benchmarks.floor``) measured on the same CPU in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from .run import run_floor
from .server import ROOT, LocalServer, free_port, loadtest_command, pinned

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def worker_pids(supervisor: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == supervisor:
                pids.append(int(entry.name))
    return pids


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.5)
    return proc, f"redis://127.0.0.1:{port}/0"


CPU, SENT = "onair_process_cpu_seconds_total", "onair_forwarded_packets_total"
SERVED = "onair_listeners_served"
LABELLED = re.compile(rf'^({CPU}|{SENT}|{SERVED})\{{worker="([^"]+)"\}} (\S+)$', re.M)


def scrape(server: LocalServer) -> dict[str, dict[str, float]]:
    """Each worker's CPU seconds, forwarded packets and served listeners, from one scrape."""
    request = urllib.request.Request(f"{server.url}/metrics",
                                     headers={"Authorization": f"Bearer {server.admin_token}"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        text = resp.read().decode()
    by_worker: dict[str, dict[str, float]] = {}
    for name, worker, value in LABELLED.findall(text):
        by_worker.setdefault(worker, {})[name] = float(value)
    return by_worker


def per_worker(first: dict[str, dict[str, float]], last: dict[str, dict[str, float]],
               floor_us: float) -> dict[str, dict[str, Any]]:
    """us/packet of each worker between two scrapes, and its ratio to the floor."""
    figures = {}
    for worker in sorted(set(first) & set(last)):
        cpu = last[worker][CPU] - first[worker][CPU]
        sent = last[worker][SENT] - first[worker][SENT]
        us = cpu * 1e6 / sent if sent > 0 else None
        figures[worker] = {"listeners_served": last[worker].get(SERVED),
                           "packets": int(sent), "cpu_s": round(cpu, 2),
                           "us_per_packet": round(us, 2) if us else None,
                           "ratio_to_floor": round(us / floor_us, 2) if us else None}
    return figures


def steady_window(server: LocalServer, start_s: float, end_s: float) -> tuple[dict, dict]:
    """Scrapes at ``start_s`` and ``end_s`` from now (every worker's report at most a heartbeat old)."""
    time.sleep(start_s)
    first = scrape(server)
    time.sleep(end_s - start_s)
    return first, scrape(server)


def measure(listeners: int, seconds: float, rate: float, workdir: Path) -> dict[str, Any]:
    floor = run_floor("0", 3, 200, 500, "1")
    redis, url = start_redis(workdir)
    window: dict[str, Any] = {}
    try:
        extra = ["--workers", "2", "--redis", url]
        with LocalServer(workdir / "data", cpu="0", extra_args=extra) as server:
            assert server.proc is not None
            time.sleep(3.0)  # both workers up
            pids = worker_pids(server.proc.pid)
            before = sum(cpu_seconds(p) for p in pids)
            out = workdir / "load.json"
            load_cmd = loadtest_command(server.url, server.admin_token, listeners, seconds, out, rate)
            joined_s = listeners / rate + 5.0
            def watch() -> None:
                first, last = steady_window(server, joined_s, joined_s + seconds - 6.0)
                window.update(first=first, last=last)

            watcher = threading.Thread(target=watch)
            watcher.start()
            started = time.monotonic()
            subprocess.run(pinned(load_cmd, "1"), cwd=ROOT, capture_output=True,
                           timeout=seconds + listeners / rate + 120)
            wall = time.monotonic() - started
            used = sum(cpu_seconds(p) for p in pids) - before
            watcher.join(timeout=30)
            load = json.loads(out.read_text()) if out.exists() else {}
    finally:
        os.killpg(redis.pid, signal.SIGTERM)
        redis.wait(timeout=10)
    floor_us = floor["cpu_us_per_packet"]
    workers = per_worker(window["first"], window["last"], floor_us) if len(window) == 2 else {}
    return {"listeners": listeners, "workers": 2, "wall_s": round(wall, 1),
            "workers_cpu_s": round(used, 2), "workers_cpu_share_of_one_core": round(used / wall, 3),
            "floor_us_per_packet": floor_us, "per_worker": workers, "load": load}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers_bench", description=__doc__)
    parser.add_argument("--listeners", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args.listeners, args.seconds, args.rate, Path(tmp))
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
