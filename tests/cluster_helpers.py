"""Helpers for the tests that run ``onair serve --workers`` against a real Redis: clusters, clients
landing on a chosen worker, the directory, the workers' pids, rejoining after a crash."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import redis

from benchmarks.server import LocalServer
from tests.clients import RoomClient
from tests.helpers import wait_for

SECRET = "a shared secret for the tests' pipes"


def start_cluster(data_dir: Path, redis_url: str, node: str = "w", workers: int = 2,
                  extra_args: list[str] | None = None) -> LocalServer:
    """``onair serve --workers N``; its workers are ``{node}1``... (ids must differ between the
    clusters that share one Redis, as between the nodes of one cluster)."""
    server = LocalServer(data_dir, extra_args=["--workers", str(workers), "--redis", redis_url,
                                               "--worker-id", node, *(extra_args or [])])
    server.start()
    wait_workers(server.url, {f"{node}{i}" for i in range(1, workers + 1)})
    return server


def wait_workers(url: str, wanted: set[str], timeout: float = 30.0) -> None:
    """Until every worker in ``wanted`` has answered /healthz on the shared port."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while not wanted <= seen:
        assert time.monotonic() < deadline, f"workers seen: {seen}"
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                seen.add(json.loads(resp.read()).get("worker"))
        except OSError:
            time.sleep(0.1)


async def on_worker(url: str, room: dict, name: str, worker: str, token: str | None = None) -> RoomClient:
    """A client whose socket landed on ``worker`` (others are closed and tried again, as the same
    participant: with the resume token the first try was given)."""
    for _ in range(60):
        client = RoomClient(url, room["room_id"], name, token=token)
        try:
            await client.connect()
        except TimeoutError:
            got = dict(client.messages)
            raise AssertionError(f"{name}: no welcome; {got}, close {client.close_code}") from None
        if client.welcome is not None and client.welcome.get("worker") == worker:
            return client
        token = token or (client.welcome or {}).get("resume_token")
        await client.close()
    raise AssertionError(f"{name} never landed on {worker}")


def origin_of(redis_url: str, room_id: str) -> str:
    """The worker the directory names as the room's origin (claimed before the room was announced)."""
    value = redis.Redis.from_url(redis_url).get(f"onair:room:{room_id}:origin")
    assert value is not None
    return value.decode().split("#")[0]


def worker_pids(server: LocalServer) -> dict[str, int]:
    """The supervisor's workers by id, read from /proc."""
    assert server.proc is not None
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == server.proc.pid and b"--worker-id" in args:
            last = len(args) - 1 - args[::-1].index(b"--worker-id")  # the supervisor appends its own
            found[args[last + 1].decode()] = int(entry.name)
    return found


def share(sent: list[bytes], client: RoomClient, mid: str) -> float:
    """The share of ``sent`` payloads that arrived at ``client`` on ``mid``, byte for byte."""
    received = set(client.payloads.get(mid, []))
    return sum(1 for p in sent if p in received) / max(1, len(sent))


async def rejoin(
    url: str, room: dict, client: RoomClient, token: str, since: float
) -> tuple[RoomClient, float]:
    """Join again with ``token`` (as the page does after a drop); the client, and the seconds from
    ``since`` (the crash) until its music plays again."""
    deadline = time.monotonic() + 20
    while True:
        again = RoomClient(url, room["room_id"], client.name, token=token)
        try:
            await again.connect()
            break
        except (TimeoutError, OSError, AssertionError):
            await again.close()  # its HTTP session too
            assert time.monotonic() < deadline, f"{client.name} could not rejoin"
            await asyncio.sleep(0.5)
    await wait_for(lambda: bool(again.tracks) and bool(again.payloads.get(again.mid_of("music"))), 15)
    return again, time.monotonic() - since
