"""Where does a departed listener's memory go? The server in this process, the soak driving it.

``python -m benchmarks.leak_probe --minutes 2`` serves OnAir in this process
(uvloop, like ``onair serve``), runs ``python -m loadtest --soak`` against it
in a subprocess, and every ``--every`` seconds prints:

- a census of the objects a listener is made of (peer connections, DTLS and
  ICE transports, subscribers, consumers, sessions, tasks), live ones next to
  those only the cyclic GC could free;
- with ``--tracemalloc``, the allocations that grew since the first snapshot,
  by traceback.

At the end it runs a full collection and, for every ``RTCPeerConnection`` still
alive, prints who holds it (``gc.get_referrers``, a few levels up).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
import types
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web

from signaling.app import create_app
from signaling.config import Settings

from .server import ROOT, free_port

WATCH = (
    "RTCPeerConnection",
    "RTCDtlsTransport",
    "RTCIceTransport",
    "RTCIceGatherer",
    "Connection",  # aioice
    "StunProtocol",
    "RTCRtpSender",
    "RTCRtpReceiver",
    "RTCRtpTransceiver",
    "SubscriberPeer",
    "PublisherPeer",
    "Consumer",
    "Producer",
    "Participant",
    "Session",
    "WebSocketResponse",
    "Task",
    "Future",
    "SSLContext",
    "Connection_",
)


def census() -> dict[str, int]:
    """How many objects of each watched class the GC tracks right now."""
    counts: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name in WATCH:
            counts[name] += 1
    return dict(sorted(counts.items()))


def unreachable_census() -> dict[str, int]:
    """Watched objects that only a cyclic collection would free (gc.DEBUG_SAVEALL trick)."""
    before = set(map(id, gc.garbage))
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
    finally:
        gc.set_debug(flags)
    counts: collections.Counter[str] = collections.Counter()
    for obj in gc.garbage:
        if id(obj) not in before and type(obj).__name__ in WATCH:
            counts[type(obj).__name__] += 1
    total = len(gc.garbage) - len(before)
    gc.garbage.clear()  # they were garbage: let them go now
    gc.collect()
    return {"objects_in_cycles": total, **dict(sorted(counts.items()))}


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_LIBC = ctypes.CDLL("libc.so.6")
_LIBC.mallinfo2.restype = _MallInfo2


def malloc_mb() -> dict[str, float]:
    """glibc's view: bytes handed out (in use), free but kept, and mmapped."""
    info = _LIBC.mallinfo2()
    mb = 2**20
    return {"in_use": round(info.uordblks / mb, 1), "free_kept": round(info.fordblks / mb, 1),
            "mmapped": round(info.hblkhd / mb, 1)}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def holders(obj: Any, depth: int = 4, seen: set[int] | None = None, indent: str = "  ") -> list[str]:
    """Who refers to ``obj``, ``depth`` levels up (frames and this probe's own lists skipped)."""
    seen = seen if seen is not None else {id(obj)}
    lines: list[str] = []
    if depth == 0:
        return lines
    for ref in gc.get_referrers(obj):
        if id(ref) in seen or isinstance(ref, types.FrameType) or ref is seen:
            continue
        seen.add(id(ref))
        text = _describe(ref)
        lines.append(f"{indent}{text}")
        if len(lines) > 40:
            break
        lines.extend(holders(ref, depth - 1, seen, indent + "  "))
    return lines


def _describe(ref: Any) -> str:
    if isinstance(ref, dict):
        keys = list(ref)[:6]
        return f"dict {len(ref)} keys {keys}"
    if isinstance(ref, list | tuple | set):
        return f"{type(ref).__name__} of {len(ref)}"
    if isinstance(ref, types.MethodType):
        return f"bound method {ref.__func__.__qualname__}"
    if isinstance(ref, types.FunctionType):
        return f"function {ref.__qualname__}"
    if isinstance(ref, types.CellType):
        return "cell"
    return f"{type(ref).__module__}.{type(ref).__qualname__}"


def settings_for(data_dir: Path, port: int, token: str) -> Settings:
    """What ``benchmarks.server.LocalServer`` passes on the command line, as settings."""
    return Settings(
        host="127.0.0.1", port=port, data_dir=data_dir, media_addresses=["127.0.0.1"],
        admin_token=token, demo=False, room_create_rate=0, join_rate=0, log_level="warning",
    )


def report_step(first: tracemalloc.Snapshot | None, label: str) -> None:
    print(f"== {label}: rss {rss_mb()} MB, malloc {malloc_mb()}, census {json.dumps(census())}",
          flush=True)
    if first is None:
        return
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen *>")]
    )
    for stat in snapshot.compare_to(first, "traceback")[:12]:
        print(f"  +{stat.size_diff / 1024:8.1f} KiB {stat.count_diff:+6d} blocks", flush=True)
        for line in stat.traceback.format(limit=6, most_recent_first=True):
            print(f"      {line}", flush=True)


async def probe(args: argparse.Namespace) -> None:
    port, token = free_port(), "probe-admin-token"
    data = Path(args.data_dir)
    runner = web.AppRunner(create_app(settings_for(data, port, token)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    if args.no_tune_gc:  # undo signaling.app._tune_gc, to compare
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)
    command = [
        sys.executable, "-m", "loadtest", "--soak", str(args.minutes), "--url",
        f"http://127.0.0.1:{port}", f"--admin-token={token}", "--server-pid", str(os.getpid()),
        "--settle", str(args.settle), "--json", str(args.json), "--quiet",
        *(["--cpu-list", args.load_cpu] if args.load_cpu else []),
    ]
    soak = subprocess.Popen(command, cwd=ROOT)
    first = None
    started = time.monotonic()
    try:
        await asyncio.sleep(args.warmup)
        if args.tracemalloc:
            first = tracemalloc.take_snapshot()
        report_step(None, f"after warm-up ({args.warmup:g} s)")
        while soak.poll() is None:
            await asyncio.sleep(args.every)
            report_step(first, f"t={time.monotonic() - started:.0f} s")
        print(f"== soak exited {soak.returncode}; unreachable: {unreachable_census()}", flush=True)
        report_step(first, "after a full collection")
        _LIBC.malloc_trim(0)
        print(f"== after malloc_trim(0): rss {rss_mb()} MB, malloc {malloc_mb()}", flush=True)
        leftovers = [o for o in gc.get_objects() if type(o).__name__ == "RTCPeerConnection"]
        for pc in leftovers[: args.referrers]:
            print(f"-- {pc!r} state {getattr(pc, 'connectionState', '?')} held by:", flush=True)
            print("\n".join(holders(pc)), flush=True)
        del leftovers
    finally:
        if soak.poll() is None:
            soak.terminate()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.leak_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--every", type=float, default=20.0, help="seconds between reports")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the first snapshot")
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                        help="trace allocations with this many frames (0: off, it is slow)")
    parser.add_argument("--no-tune-gc", action="store_true", help="default GC thresholds, no freeze")
    parser.add_argument("--referrers", type=int, default=2, help="leftover connections to explain")
    parser.add_argument("--load-cpu", help="pin the soak to this CPU")
    parser.add_argument("--data-dir", default="/tmp/onair-leak-probe")
    parser.add_argument("--json", default="/tmp/onair-leak-probe.json")
    args = parser.parse_args(argv)
    if args.tracemalloc:
        tracemalloc.start(args.tracemalloc)
    uvloop.run(probe(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
