"""One room served by two workers: listeners spread over both, as the kernel spreads connections.

``python -m benchmarks.workers_bench --listeners 400``: a local redis-server,
``onair serve --workers 2`` pinned to CPU 0, the load generator on CPU 1. Prints
JSON: what the listeners received (loss, share of audio time in real time),
how they spread over the workers, and the workers' CPU per forwarded packet
(from /proc, summed over both workers: the loadtest's /metrics scrape reaches
only one of them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def measure(listeners: int, seconds: float, rate: float, workdir: Path) -> dict[str, Any]:
    redis, url = start_redis(workdir)
    try:
        extra = ["--workers", "2", "--redis", url]
        with LocalServer(workdir / "data", cpu="0", extra_args=extra) as server:
            assert server.proc is not None
            time.sleep(3.0)  # both workers up
            pids = worker_pids(server.proc.pid)
            before = sum(cpu_seconds(p) for p in pids)
            out = workdir / "load.json"
            load_cmd = loadtest_command(server.url, server.admin_token, listeners, seconds, out, rate)
            command = pinned(load_cmd, "1")
            started = time.monotonic()
            subprocess.run(command, cwd=ROOT, capture_output=True, timeout=seconds + listeners / rate + 120)
            wall = time.monotonic() - started
            used = sum(cpu_seconds(p) for p in pids) - before
            load = json.loads(out.read_text()) if out.exists() else {}
    finally:
        os.killpg(redis.pid, signal.SIGTERM)
        redis.wait(timeout=10)
    return {"listeners": listeners, "workers": 2, "wall_s": round(wall, 1),
            "workers_cpu_s": round(used, 2), "workers_cpu_share_of_one_core": round(used / wall, 3),
            "load": load}


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
