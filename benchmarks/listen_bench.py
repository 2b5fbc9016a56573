"""Many ``listen.ogg`` clients on one room: the server's CPU and memory for the HTTP stream.

Per run, a fresh ``onair serve`` (temp data dir) pinned to ``--server-cpu``,
one room (its music playing, nobody on WebRTC), and light readers
(``benchmarks.listen_readers``) pinned to ``--load-cpu``:

1. ``room``: CPU share of the server with the room only (no program running).
2. ``one``: one reader on ``listen.ogg``: the room plus its program (mix and
   Ogg/Opus encode, once per room) plus one HTTP client. The reader stays on.
3. ``loaded``: ``--listeners`` - 1 more readers; after ``--settle`` s, CPU over
   ``--seconds`` and RSS at its end.

Figures: the loaded CPU above the room's own cost (``room``: program and
HTTP clients) and above ``one`` (the HTTP clients alone), as a share of one
core; RSS growth per listener from ``one`` to ``loaded``; the readers' bytes,
worst gap and stalls (gaps over 1 s) over their whole reading time, their own
event loop's worst lag, and the server's worst music tick lateness. CPU is
utime + stime from ``/proc/PID/stat``. Prints JSON: every run and the medians.

``python -m benchmarks.listen_bench [--listeners 1000] [--seconds 30] [--runs 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .idle_bench import cpu_share, create_room, rss_bytes, server_pid
from .server import ROOT, LocalServer, pinned

READERS_MARGIN_S = 10.0  # the readers outlive the window by this much


def readers_command(url: str, count: int, seconds: float) -> list[str]:
    return [sys.executable, "-m", "benchmarks.listen_readers", url, "--count", str(count),
            "--seconds", f"{seconds:.1f}"]


def ramp_seconds(count: int) -> float:
    """How long ``listen_readers`` takes to open ``count`` connections (its batches and pauses)."""
    return count / 50 * 0.05 + 1.0


def merge_readers(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The readers' JSON of several processes as one."""
    merged: dict[str, Any] = {
        "n": sum(p["n"] for p in parts),
        "bytes": sum(p["bytes"] for p in parts),
        "worst_gap_s": max(p["worst_gap_s"] for p in parts),
        "stalls": sum(p["stalls"] for p in parts),
        "refused": sum(p["refused"] for p in parts),
        "closed": sum(p["closed"] for p in parts),
        "least_bytes": min((p["least_bytes"] for p in parts if p["least_bytes"] is not None), default=None),
        "stall_at": [item for p in parts for item in p["stall_at"]][:20],
        "errors": {k: v for p in parts for k, v in p["errors"].items()},
        "loop_lag_s": max(p.get("loop_lag_s", 0.0) for p in parts),
    }
    return merged


def server_ticks(server: LocalServer) -> dict[str, float]:
    """The server's music clock: worst tick lateness (ms) and frames skipped, from ``/metrics``."""
    request = urllib.request.Request(f"{server.url}/metrics",
                                     headers={"Authorization": f"Bearer {server.admin_token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        text = resp.read().decode()
    wanted = {"onair_music_tick_late_ms_max": "tick_late_ms_max", "onair_music_underruns_total": "underruns"}
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            out[wanted[name]] = float(value)
    return out


def collect(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError("the readers did not finish in time") from None
    if proc.returncode != 0:
        raise RuntimeError(f"readers failed ({proc.returncode}): {err[-800:]}")
    return dict(json.loads(out))


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    cpu, load_cpu = args.server_cpu or None, args.load_cpu or None
    with tempfile.TemporaryDirectory(prefix="onair-listen-") as tmp, \
            LocalServer(Path(tmp) / "data", cpu=cpu) as server:
        pid = server_pid(server)
        url = f"{server.url}/r/{create_room(server, 'Listen bench')}/listen.ogg"
        time.sleep(args.settle)
        room = cpu_share(pid, args.window_small)
        ramp = ramp_seconds(args.listeners)
        total_s = args.settle + args.window_small + ramp + args.settle + args.seconds + READERS_MARGIN_S
        one_proc = subprocess.Popen(pinned(readers_command(url, 1, total_s), load_cpu), cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs = [one_proc]
        try:
            time.sleep(args.settle)
            one = cpu_share(pid, args.window_small)
            rss_one = rss_bytes(pid)
            many_s = ramp + args.settle + args.seconds + READERS_MARGIN_S
            procs.append(subprocess.Popen(
                pinned(readers_command(url, args.listeners - 1, many_s), load_cpu), cwd=ROOT,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            time.sleep(ramp + args.settle)
            loaded = cpu_share(pid, args.seconds)
            rss_loaded = rss_bytes(pid)
            readers = merge_readers([collect(p, total_s + 60) for p in reversed(procs)])
            ticks = server_ticks(server)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "room_cpu": round(room, 4),
        "one_listener_cpu": round(one, 4),
        "loaded_cpu": round(loaded, 4),
        "above_room_cpu": round(loaded - room, 4),
        "above_one_cpu": round(loaded - one, 4),
        "rss_one_mb": round(rss_one / 1e6, 1),
        "rss_loaded_mb": round(rss_loaded / 1e6, 1),
        "kb_per_listener": round((rss_loaded - rss_one) / max(1, args.listeners - 1) / 1024, 1),
        "server_ticks": ticks,
        "readers": readers,
    }


MEDIAN_KEYS = ("room_cpu", "one_listener_cpu", "loaded_cpu", "above_room_cpu", "above_one_cpu",
               "rss_one_mb", "rss_loaded_mb", "kb_per_listener")


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in runs), 4) for k in MEDIAN_KEYS}
    out["stalls_total"] = sum(r["readers"]["stalls"] for r in runs)
    out["worst_gap_s"] = max(r["readers"]["worst_gap_s"] for r in runs)
    out["refused_total"] = sum(r["readers"]["refused"] for r in runs)
    out["closed_total"] = sum(r["readers"]["closed"] for r in runs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.listen_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=1000, help="HTTP readers in all (2..5000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="the loaded window")
    parser.add_argument("--window-small", type=float, default=10.0, help="the room and one-reader windows")
    parser.add_argument("--settle", type=float, default=3.0, help="wait before each window")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--server-cpu", default="0", help="pin the server here ('' for none)")
    parser.add_argument("--load-cpu", default="1", help="pin the readers here ('' for none)")
    args = parser.parse_args(argv)
    if not 2 <= args.listeners <= 5000 or args.seconds <= 0 or args.window_small <= 0 or args.runs < 1:
        parser.error("--listeners must be 2..5000; --seconds, --window-small, --runs positive")
    runs = []
    for n in range(args.runs):
        runs.append(run_once(args))
        print(f"listen_bench: run {n + 1}: {json.dumps(runs[-1])}", file=sys.stderr)
    print(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "settings": {"listeners": args.listeners, "seconds": args.seconds, "runs": args.runs,
                     "server_cpu": args.server_cpu, "load_cpu": args.load_cpu},
        "median": medians(runs),
        "runs": runs,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
