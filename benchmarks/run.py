"""``python -m benchmarks.run`` (what ``make bench`` calls): server cost per forwarded packet.

1. The floor (``benchmarks.floor``), 3 times, on the server's CPU.
2. A local ``onair serve`` pinned to CPU 0; the load test pinned to CPU 1, at
   50 and 200 listeners (joining at 20/s, 20 s measured after the last join),
   3 runs each, a fresh room per run.
3. Medians, the ratio server CPU per packet / floor, and the marginal cost
   between the two sizes, written as a new dated section at the top of
   ``docs/benchmarks.md`` and printed as JSON.
4. The extras (``--extras``, each in a subprocess, each with its own
   servers): ``idle`` (``benchmarks.idle_bench``: CPU and memory of a server
   nobody listens to), ``joinstorm`` (``benchmarks.joinstorm_bench``: 100
   joins/s for 10 s into a room of 300), ``loadgen`` (``benchmarks.loadgen_bench``:
   the load generator's CPU per listener, header against decrypt mode).

Bounded: the runs stop when the time budget (default 40 min) would be
exceeded; the servers are stopped whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .markdown import write_section
from .server import ROOT, LocalServer, loadtest_command, pinned

RESULTS = ROOT / "bench-results"
KEYS = (
    "joined",
    "failed",
    "first_audio_ms_p95",
    "join_ms_p95",
    "loss_pct",
    "realtime_pct",
    "loadgen_cpu_pct",
    "server_cpu_pct",
    "cpu_us_per_forwarded_packet",
    "rss_per_listener_bytes",
    "forwarded_packets",
    "server_cpu_seconds",
    "window_s",
    "server_tick_late_ms_p99",
    "server_music_underruns",
)


def cpus_for(pin: bool) -> tuple[str | None, str | None]:
    """(server CPU, load generator CPU): 0 and 1 when there are two to pin apart."""
    if not pin:
        return None, None
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return str(available[0]), str(available[1])


def run_floor(
    cpu: str | None, runs: int, listeners: int, packets: int, receiver_cpu: str | None = None
) -> dict[str, Any]:
    """The floor benchmark ``runs`` times in a subprocess; the median and each run."""
    results = []
    for _ in range(runs):
        command = pinned(
            [
                sys.executable,
                "-m",
                "benchmarks.floor",
                "--listeners",
                str(listeners),
                "--packets",
                str(packets),
                *(["--receiver-cpu", receiver_cpu] if receiver_cpu else []),
            ],
            cpu,
        )
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
        results.append(json.loads(out.stdout))
    return {
        "cpu_us_per_packet": statistics.median(r["cpu_us_per_packet"] for r in results),
        "cpu_us_per_packet_tight": statistics.median(r["cpu_us_per_packet_tight"] for r in results),
        "cpu_us_per_packet_protect_only": statistics.median(
            r["cpu_us_per_packet_protect_only"] for r in results
        ),
        "profile": results[0]["profile"],
        "listeners": listeners,
        "packets_per_listener": packets,
        "runs": results,
    }


def run_load(
    server: LocalServer,
    cpu: str | None,
    listeners: int,
    args: argparse.Namespace,
    name: str,
    timeout_s: float,
) -> dict[str, Any] | None:
    """One load test in a subprocess; its JSON summary, or None if it failed."""
    out = RESULTS / f"{name}.json"
    command = pinned(
        loadtest_command(server.url, server.admin_token, listeners, args.seconds, out, args.rate), cpu
    )
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        print(f"bench: {name} timed out after {timeout_s:.0f} s", file=sys.stderr)
        return None
    if done.returncode != 0 or not out.exists():
        print(f"bench: {name} failed ({done.returncode}): {done.stderr[-1500:]}", file=sys.stderr)
        return None
    return json.loads(out.read_text())


EXTRAS: dict[str, tuple[list[str], float]] = {  # module arguments, the seconds it takes at most
    "idle": (["benchmarks.idle_bench", "--seconds", "30", "--runs", "3"], 600.0),
    "joinstorm": (["benchmarks.joinstorm_bench"], 300.0),
    "loadgen": (["benchmarks.loadgen_bench", "--listeners", "200", "--rounds", "3"], 600.0),
    "mix": (["benchmarks.mix_bench", "--seconds", "10", "--runs", "3"], 180.0),
    "listen": (["benchmarks.listen_bench", "--listeners", "1000", "--seconds", "30", "--runs", "3"], 600.0),
}


def run_extras(names: list[str], deadline: float, cpus: tuple[str | None, str | None]) -> dict[str, Any]:
    """Each extra benchmark's JSON, or ``{"skipped": why}``."""
    results: dict[str, Any] = {}
    server_cpu, load_cpu = cpus
    for name in names:
        args, limit = EXTRAS[name]
        if name != "idle":
            args = [*args, "--server-cpu", server_cpu or "", "--load-cpu", load_cpu or ""]
        else:
            args = [*args, "--cpu", server_cpu or ""]
        if time.monotonic() + limit > deadline:
            results[name] = {"skipped": "out of time"}
            continue
        try:
            done = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=limit)
        except subprocess.TimeoutExpired:
            results[name] = {"skipped": f"timed out after {limit:.0f} s"}
            continue
        if done.returncode != 0:
            results[name] = {"skipped": f"failed ({done.returncode}): {done.stderr[-500:]}"}
            continue
        results[name] = json.loads(done.stdout)
        print(f"bench: {name} done", file=sys.stderr)
    return results


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-key median over runs, skipping missing values."""
    medians: dict[str, Any] = {"runs": len(runs)}
    for key in KEYS:
        values = [r[key] for r in runs if r.get(key) is not None]
        medians[key] = statistics.median(values) if values else None
    medians["rss_per_listener_first"] = runs[0].get("rss_per_listener_bytes") if runs else None
    return medians


def marginal_us(small: dict[str, Any], large: dict[str, Any]) -> float | None:
    """Extra server CPU per extra forwarded packet between two sizes (fixed costs cancel)."""
    try:
        cpu = large["server_cpu_seconds"] / large["window_s"] - (
            small["server_cpu_seconds"] / small["window_s"]
        )
        pkts = large["forwarded_packets"] / large["window_s"] - (
            small["forwarded_packets"] / small["window_s"]
        )
    except (TypeError, KeyError, ZeroDivisionError):
        return None
    return round(cpu / pkts * 1e6, 2) if pkts > 0 else None


def measure(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    server_cpu, load_cpu = cpus_for(not args.no_pin)
    floor = run_floor(server_cpu, args.runs, args.floor_listeners, args.floor_packets, load_cpu)
    print(f"bench: floor {floor['cpu_us_per_packet']} us/packet", file=sys.stderr)
    sizes: dict[str, Any] = {}
    with LocalServer(RESULTS / "server-data", cpu=server_cpu, log_path=RESULTS / "server.log") as server:
        for listeners in args.sizes:
            runs = []
            for n in range(args.runs):
                estimate = listeners / args.rate + args.seconds + 45
                if time.monotonic() + estimate > deadline:
                    print(f"bench: out of time, skipping {listeners} run {n + 1}", file=sys.stderr)
                    continue
                time.sleep(2)  # let the previous room's end settle
                result = run_load(
                    server,
                    load_cpu,
                    listeners,
                    args,
                    f"load-{listeners}-{n + 1}",
                    timeout_s=estimate + 60,
                )
                if result is not None:
                    runs.append(result)
                    print(
                        f"bench: {listeners} listeners run {n + 1}: "
                        f"{result.get('cpu_us_per_forwarded_packet')} us/packet, "
                        f"joined {result.get('joined')}",
                        file=sys.stderr,
                    )
            sizes[str(listeners)] = median_of(runs) if runs else {"runs": 0}
    for medians in sizes.values():
        cost = medians.get("cpu_us_per_forwarded_packet")
        medians["ratio_to_floor"] = round(cost / floor["cpu_us_per_packet"], 1) if cost else None
    keys = list(sizes)
    extras = run_extras(args.extras, deadline, (server_cpu, load_cpu))
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": args.command,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
            "server_cpu": server_cpu,
            "loadgen_cpu": load_cpu,
        },
        "settings": {"runs": args.runs, "seconds": args.seconds, "rate": args.rate},
        "floor": floor,
        "sizes": sizes,
        "marginal_us_per_packet": marginal_us(sizes[keys[0]], sizes[keys[-1]]) if len(keys) > 1 else None,
        "extras": extras,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[200, 500, 1000],
        help="listener counts (default 200,500,1000)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0, help="joins per second (default 50)")
    parser.add_argument(
        "--extras",
        type=lambda s: [x for x in s.split(",") if x],
        default=list(EXTRAS),
        help=f"extra benchmarks after the sizes, comma-separated ('' for none; default {','.join(EXTRAS)})",
    )
    parser.add_argument("--floor-listeners", type=int, default=200)
    parser.add_argument("--floor-packets", type=int, default=500)
    parser.add_argument("--budget", type=float, default=2400.0, help="seconds for everything")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print JSON only")
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.extras) - set(EXTRAS))
    if unknown:
        parser.error(f"unknown extras: {', '.join(unknown)} (known: {', '.join(EXTRAS)})")
    raw = sys.argv[1:] if argv is None else argv
    args.command = " ".join(["python -m benchmarks.run", *raw])
    deadline = time.monotonic() + args.budget
    RESULTS.mkdir(exist_ok=True)
    result = measure(args, deadline)
    (RESULTS / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_write:
        write_section(args.out, result)
    print(json.dumps(result, indent=2))
    return 0 if all(s.get("runs") for s in result["sizes"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
