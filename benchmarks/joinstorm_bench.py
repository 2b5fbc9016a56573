"""A join storm into a full room: how fast joins are answered, and what the room's listeners feel.

1. ``onair serve`` pinned to one CPU; a room; ``--listeners`` load-test peers
   (``python -m loadtest``, header mode, real WebRTC) join it from the other CPU.
2. Observers join before the storm, signaling only: the host (a stage member)
   and ``--sample`` listeners. They count every message they receive.
3. The storm, from the other CPU too: ``--rate`` joins a second for
   ``--seconds``, each a listener's WebSocket that waits for ``welcome`` (its
   join time) and stays, signaling only (its ``sub`` offer goes unanswered:
   the storm measures signaling, not 1,000 more media connections).
4. Figures: join time p50/p95/max, failed joins; loss and real-time share of
   the listeners already in (the load test's window covers the storm); the
   messages each observer received during the storm (plus 1.5 s) per join,
   by type; the server's CPU share during the storm (/proc).

``python -m benchmarks.joinstorm_bench [--listeners 300] [--rate 100] [--seconds 10] [--sample 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from loadtest.metrics_client import PARTICIPANTS, ServerClient
from loadtest.peer import listener_sessions
from loadtest.stats import percentile

from .idle_bench import cpu_seconds
from .server import ROOT, LocalServer, loadtest_command, pinned

SETTLE_S = 3.0  # after the listeners are in: the load test's own settle (2 s), then its window is open
TAIL_S = 1.5  # observers keep counting after the last join: summaries come at most once a second


class Member:
    """One signaling-only participant: joins, notes when ``welcome`` came, counts what follows."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session
        self.join_ms: float | None = None
        self.failure: str | None = None
        self.counting = False
        self.counts: Counter[str] = Counter()
        self.welcomed = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        started = time.monotonic()
        try:
            async with self.session.ws_connect(self.url, autoping=True, max_msg_size=0) as ws:
                reader = asyncio.ensure_future(self._read(ws, started))
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({reader, stopper}, return_when="FIRST_COMPLETED")
                for task in (reader, stopper):
                    task.cancel()
                await asyncio.gather(reader, stopper, return_exceptions=True)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.failure = type(exc).__name__
        if self.join_ms is None and self.failure is None:
            self.failure = "no_welcome"
        self.welcomed.set()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, started: float) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            if self.join_ms is None:
                kind = json.loads(msg.data).get("type")
                if kind == "welcome":
                    self.join_ms = (time.monotonic() - started) * 1000.0
                    self.welcomed.set()
                elif kind == "error":
                    self.failure = "error"
                    return
            elif self.counting:
                self.counts[str(json.loads(msg.data).get("type"))] += 1


def ws_url(base: str, room_id: str, name: str, token: str | None = None) -> str:
    url = f"{base.replace('http://', 'ws://', 1)}/api/rooms/{quote(room_id)}/ws?name={quote(name)}"
    return url + (f"&token={quote(token)}" if token else "")


async def wait_for_participants(client: ServerClient, token: str, count: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            sample = await client.metrics(token)
            if (sample.get(PARTICIPANTS) or 0) >= count:
                return float(sample.get(PARTICIPANTS) or 0)
        await asyncio.sleep(0.5)
    raise RuntimeError(f"fewer than {count} participants after {timeout_s:.0f} s")


async def storm(
    base: str, room_id: str, sessions: list[aiohttp.ClientSession], rate: float, seconds: float,
    stop: asyncio.Event,
) -> tuple[list[Member], list[asyncio.Task[None]]]:
    """``rate`` joins a second for ``seconds``, each started on time (not after the previous one)."""
    joins = int(rate * seconds)
    members = [Member(ws_url(base, room_id, f"storm-{n}"), sessions[n % len(sessions)]) for n in range(joins)]
    tasks = []
    t0 = time.monotonic()
    for n, member in enumerate(members):
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(member.run(stop)))
    return members, tasks


def summarize_members(members: list[Member]) -> dict[str, Any]:
    times = [m.join_ms for m in members if m.join_ms is not None]
    failures = Counter(m.failure for m in members if m.failure is not None)
    return {
        "joins": len(members),
        "joined": len(times),
        "failures": dict(failures),
        "join_ms_p50": round(percentile(times, 50) or 0.0, 1) if times else None,
        "join_ms_p95": round(percentile(times, 95) or 0.0, 1) if times else None,
        "join_ms_max": round(max(times), 1) if times else None,
    }


def per_join(observers: list[Member], joins: int) -> dict[str, Any]:
    """Messages each observer received per storm join: in all, and by type (means over observers)."""
    if not observers or not joins:
        return {"total": None, "by_type": {}}
    total: Counter[str] = Counter()
    for observer in observers:
        total.update(observer.counts)
    return {
        "total": round(sum(total.values()) / len(observers) / joins, 3),
        "by_type": {k: round(v / len(observers) / joins, 3) for k, v in total.most_common()},
    }


async def run_storm(server: LocalServer, args: argparse.Namespace, load_cpu: str | None) -> dict[str, Any]:
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(aiohttp.ClientSession())
        client = ServerClient(server.url, http)
        room_id, host_token = await client.create_room("Join storm", "Storm DJ")
        sessions = [await stack.enter_async_context(s)
                    for s in listener_sessions(server.url, int(args.rate * args.seconds) + args.sample)]
        host = Member(ws_url(server.url, room_id, "Storm DJ", host_token), http)
        observers = [Member(ws_url(server.url, room_id, f"observer-{n}"), sessions[n % len(sessions)])
                     for n in range(args.sample)]
        watchers = [asyncio.ensure_future(m.run(stop)) for m in (host, *observers)]
        await asyncio.gather(*(m.welcomed.wait() for m in (host, *observers)))
        out = Path(args.work) / "listeners.json"
        window = args.seconds + SETTLE_S + TAIL_S + 4.0
        load = subprocess.Popen(
            pinned([*loadtest_command(server.url, server.admin_token, args.listeners, window, out,
                                      rate=args.listener_rate), "--room", room_id], load_cpu),
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        members: list[Member] = []
        tasks: list[asyncio.Task[None]] = []
        cpu_share = 0.0
        try:
            await wait_for_participants(client, server.admin_token, args.listeners + args.sample + 1,
                                        args.listeners / args.listener_rate + 60.0)
            await asyncio.sleep(SETTLE_S)
            for member in (host, *observers):
                member.counting = True
            assert server.proc is not None
            cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
            members, tasks = await storm(server.url, room_id, sessions, args.rate, args.seconds, stop)
            await asyncio.sleep(TAIL_S)
            cpu_share = (cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0)
            for member in (host, *observers):
                member.counting = False
            await asyncio.wait_for(asyncio.to_thread(load.wait), window + 60.0)
        finally:
            if load.poll() is None:
                load.terminate()
            stop.set()
        await asyncio.gather(*tasks, *watchers, return_exceptions=True)
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            await client.delete_room(room_id, host_token)
    listeners = json.loads(out.read_text()) if out.exists() else {}
    if not listeners:
        tail = (load.stderr.read() if load.stderr else "")[-1500:]
        print(f"joinstorm: the load test wrote nothing: {tail}", file=sys.stderr)
    return {
        "storm": summarize_members(members),
        "listeners_in": {k: listeners.get(k) for k in (
            "listeners", "joined", "dropped", "loss_pct", "realtime_pct", "realtime_p05_pct",
            "window_s", "loadgen_cpu_pct", "cpu_us_per_forwarded_packet")},
        "messages_per_join": {
            "listener": per_join(observers, len(members)),
            "stage": per_join([host], len(members)),
        },
        "server_cpu_share_storm": round(cpu_share, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.joinstorm_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=300, help="listeners in the room before the storm")
    parser.add_argument("--listener-rate", type=float, default=50.0, help="their joins per second")
    parser.add_argument("--rate", type=float, default=100.0, help="storm joins per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="storm length")
    parser.add_argument("--sample", type=int, default=10, help="listener observers counting messages")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    args = parser.parse_args(argv)
    if min(args.listeners, args.sample) < 1 or min(args.rate, args.seconds, args.listener_rate) <= 0:
        parser.error("--listeners, --sample, --rate, --seconds and --listener-rate must be positive")
    if args.load_cpu:
        os.sched_setaffinity(0, {int(args.load_cpu)})
    with tempfile.TemporaryDirectory(prefix="onair-storm-") as tmp:
        args.work = tmp
        with LocalServer(Path(tmp) / "data", cpu=args.server_cpu or None,
                         extra_args=["--host-grace", "3600"]) as server:
            result = asyncio.run(run_storm(server, args, args.load_cpu or None))
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "settings": {
            k: getattr(args, k) for k in ("listeners", "listener_rate", "rate", "seconds", "sample")
        },
        **result,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["storm"]["joined"] else 1


if __name__ == "__main__":
    sys.exit(main())
