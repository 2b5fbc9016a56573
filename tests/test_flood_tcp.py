"""2,000 TCP connections from strangers that never finish the handshake or never join: the server
keeps serving (a normal join gets `welcome` in under 1 s), drops them after --handshake-timeout
(bytes trickling in do not extend it), idle room sockets after the heartbeat, and caps the room
sockets one address may hold (--max-sockets-per-address: the rest are refused 4429).

The server is a process of its own (``onair serve``, its timeouts set short by flag) so its open
files can be counted; the connections come from 127.0.0.2 and 127.0.0.3.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import resource
import statistics
import time
from collections import Counter
from collections.abc import Iterator

import aiohttp
import pytest

from benchmarks.server import LocalServer
from tests.helpers import MakeServer, create_room, url_of

HANDSHAKE_S = 2.0
HEARTBEAT_S = 2.0
CAP = 20
STRANGERS = ("127.0.0.2", "127.0.0.3")
UPGRADES_PER_ADDRESS = 200  # 400 room sockets that join and then say nothing
SILENT, HALF, TRICKLE = 800, 700, 100  # 1,600 that never finish the HTTP request
JOIN_LIMIT_S = 1.0


def raise_own_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class GuardedServer(LocalServer):
    """``onair serve`` with short timeouts and the per-address cap on (the last flag given wins)."""

    @property
    def command(self) -> list[str]:
        return [
            *super().command,
            "--handshake-timeout",
            str(HANDSHAKE_S),
            "--ws-heartbeat",
            str(HEARTBEAT_S),
            "--max-sockets-per-address",
            str(CAP),
        ]


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    raise_own_file_limit(8192)
    with GuardedServer(tmp_path_factory.mktemp("flood-tcp")) as server:
        yield server


class Stranger:
    """One raw TCP connection from a stranger's address, and when the server dropped it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, opened: float) -> None:
        self.reader = reader
        self.writer = writer
        self.opened = opened  # when we started connecting: the server's clock starts later
        self.closed: float | None = None
        self.first: dict = {}  # the first frame of a room socket
        self.close_code: int | None = None
        self.dropped: asyncio.Future[None] | None = None

    def watch(self) -> None:
        """From now on, notice when the server drops the connection."""
        self.dropped = asyncio.ensure_future(self.wait_dropped())

    @classmethod
    async def open(cls, port: int, source: str) -> Stranger:
        opened = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        return cls(reader, writer, opened)

    async def wait_dropped(self) -> None:
        """Read (and throw away) until the server closes the connection."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass
        self.closed = time.monotonic()

    @property
    def lived_s(self) -> float:
        assert self.closed is not None
        return self.closed - self.opened

    def close(self) -> None:
        self.writer.close()


def upgrade_request(port: int, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One unmasked server frame: (opcode, payload)."""
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return head[0] & 0x0F, await reader.readexactly(length)


async def join_and_idle(port: int, room_id: str, source: str, n: int) -> Stranger:
    """Upgrade to a room socket with a name (a join), read the first frame, then never say anything."""
    stranger = await Stranger.open(port, source)
    stranger.writer.write(upgrade_request(port, f"/api/rooms/{room_id}/ws?name=Idle{n}"))
    status = await stranger.reader.readuntil(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 101"), status
    opcode, payload = await read_frame(stranger.reader)
    assert opcode == 1, (opcode, payload)
    stranger.first = json.loads(payload)
    if stranger.first["type"] == "error":
        opcode, payload = await read_frame(stranger.reader)
        assert opcode == 8, opcode
        stranger.close_code = int.from_bytes(payload[:2], "big")
    stranger.watch()
    return stranger


async def half_a_request(port: int, room_id: str, source: str, kind: str) -> Stranger:
    stranger = await Stranger.open(port, source)
    if kind == "half":
        stranger.writer.write(upgrade_request(port, f"/api/rooms/{room_id}/ws?name=Half")[:-30])
    stranger.watch()
    return stranger


async def trickle(stranger: Stranger) -> None:
    """A header byte every 0.3 s (slowloris): the timeout runs from the connection's start anyway."""
    with contextlib.suppress(ConnectionError):
        for byte in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            if stranger.closed is not None:
                return
            stranger.writer.write(bytes([byte]))
            await stranger.writer.drain()
            await asyncio.sleep(0.3)


async def timed_join(url: str, room_id: str) -> float:
    """Seconds until a normal client (from 127.0.0.1) has its `welcome`."""
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{url}/api/rooms/{room_id}/ws", params={"name": "Normal"}) as ws:
            welcome = await ws.receive_json(timeout=10)
            took = time.monotonic() - start
            assert welcome["type"] == "welcome", welcome
    return took


async def test_half_open_connections_are_dropped_and_the_server_keeps_serving(
    guarded_server: LocalServer,
) -> None:
    url, port = guarded_server.url, guarded_server.port
    assert guarded_server.proc is not None
    pid = guarded_server.proc.pid
    async with aiohttp.ClientSession() as http:
        room_id = (await create_room(http, url, "TCP flood"))["room_id"]
    files_before = open_files(pid)
    joins = [await timed_join(url, room_id)]

    # 400 room sockets that join and say nothing: 20 per address get in, the rest are refused
    idle = await asyncio.gather(
        *(join_and_idle(port, room_id, STRANGERS[n % 2], n) for n in range(2 * UPGRADES_PER_ADDRESS))
    )
    admitted = Counter(s.writer.get_extra_info("sockname")[0] for s in idle if s.first["type"] == "welcome")
    refused = [s for s in idle if s.first["type"] == "error"]
    assert admitted == {address: CAP for address in STRANGERS}, admitted
    assert {(s.first["code"], s.close_code) for s in refused} == {("rate_limited", 4429)}
    assert len(refused) == 2 * (UPGRADES_PER_ADDRESS - CAP)

    # 1,600 connections that never finish their request, a normal client joining all along
    kinds = ["silent"] * SILENT + ["half"] * HALF + ["trickle"] * TRICKLE
    opening = asyncio.gather(
        *(half_a_request(port, room_id, STRANGERS[n % 2], kind) for n, kind in enumerate(kinds))
    )
    joining = asyncio.ensure_future(timed_join(url, room_id))
    stalled = await opening
    joins.append(await joining)
    peak_files = open_files(pid)
    joins.append(await timed_join(url, room_id))
    trickling = [
        asyncio.ensure_future(trickle(s)) for s, kind in zip(stalled, kinds, strict=True) if kind == "trickle"
    ]

    kind_of = {id(s): kind for s, kind in zip(stalled, kinds, strict=True)}
    kind_of.update({id(s): f"room socket {s.first['type']}" for s in idle})
    drops = {s.dropped: s for s in [*idle, *stalled] if s.dropped is not None}
    _, kept = await asyncio.wait(drops, timeout=HANDSHAKE_S + HEARTBEAT_S * 1.5 + 10)
    kept_open = Counter(kind_of[id(drops[task])] for task in kept)
    for task in kept:
        task.cancel()
    assert not kept_open, f"never dropped: {kept_open}"
    await asyncio.gather(*trickling)
    for s in [*idle, *stalled]:
        s.close()
    await asyncio.sleep(0.5)
    files_after = open_files(pid)
    joins.append(await timed_join(url, room_id))

    lived = {k: [s.lived_s for s, kind in zip(stalled, kinds, strict=True) if kind == k] for k in set(kinds)}
    lived["idle room socket"] = [s.lived_s for s in idle if s.first["type"] == "welcome"]
    lived["refused room socket"] = [s.lived_s for s in refused]  # it never answers the close
    figures = {
        "connections": len(idle) + len(stalled),
        "join_s": joins,
        "dropped_after_s": {
            kind: {"median": statistics.median(v), "min": min(v), "max": max(v)} for kind, v in lived.items()
        },
        "server_open_files": {"before": files_before, "peak": peak_files, "after": files_after},
    }
    print("tcp flood:", json.dumps(figures))
    assert max(joins) < JOIN_LIMIT_S, figures
    assert peak_files >= files_before + len(stalled), figures  # they were all open at once
    for kind in ("silent", "half", "trickle"):
        assert HANDSHAKE_S - 0.1 <= min(lived[kind]) and max(lived[kind]) < HANDSHAKE_S + 2.5, (kind, figures)
    assert max(lived["idle room socket"]) < 1.5 * HEARTBEAT_S + 3.0, figures
    assert max(lived["refused room socket"]) < HANDSHAKE_S + 3.0, figures
    assert files_after <= files_before + 5, figures


async def test_the_cap_counts_clients_behind_a_trusted_proxy_and_frees_on_leaving(
    make_server: MakeServer,
) -> None:
    """Behind a proxy every socket comes from the proxy: the cap counts the forwarded client."""
    url = url_of(await make_server(trusted_proxies=["127.0.0.1/32"], max_sockets_per_address=3))
    async with aiohttp.ClientSession() as http:
        room_id = (await create_room(http, url, "Cap"))["room_id"]

        names = iter(range(100))

        async def join(client: str) -> tuple[aiohttp.ClientWebSocketResponse, dict]:
            name = f"N{next(names)}"  # names are unique in a room
            ws = await http.ws_connect(
                f"{url}/api/rooms/{room_id}/ws", params={"name": name}, headers={"X-Forwarded-For": client}
            )
            return ws, await ws.receive_json(timeout=5)

        crowd = [await join("203.0.113.5") for _ in range(3)]
        assert all(first["type"] == "welcome" for _, first in crowd)
        over, first = await join("203.0.113.5")
        assert first["code"] == "rate_limited"
        await over.receive()
        assert over.close_code == 4429
        other, first = await join("198.51.100.7")  # someone else behind the same proxy
        assert first["type"] == "welcome"
        await crowd[0][0].close()
        await asyncio.sleep(0.3)  # the server sees the leave
        again, first = await join("203.0.113.5")
        assert first["type"] == "welcome"
        for ws in [again, other, *(ws for ws, _ in crowd[1:])]:
            await ws.close()
