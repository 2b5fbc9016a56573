"""OnAir behind a real nginx running docs/deploy/nginx.conf, over TLS, with clients on other addresses.

nginx (tests/daemons.py) listens on a free loopback port with a self-signed
certificate and proxies to the server in this process, which trusts
127.0.0.1 (nginx's side of the hop). Clients leave from 127.0.0.2, 127.0.0.3 ...
so the server must tell them apart by X-Forwarded-For, while the same header
from anyone it does not trust changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.keys import STORE
from tests.clients import RoomClient, session_from
from tests.daemons import Nginx
from tests.helpers import MakeServer, call, join_frames, url_of, wait_for

HOST_IP, ALICE_IP, BOB_IP, CAROL_IP = "127.0.0.4", "127.0.0.2", "127.0.0.3", "127.0.0.5"
NGINX_SIDE = ["127.0.0.1/32"]


class ProxiedClient(RoomClient):
    """A participant connecting from ``local_ip`` (through nginx or directly), as a browser would."""

    def __init__(self, base_url: str, room_id: str, name: str, token: str | None = None, *,
                 local_ip: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(base_url, room_id, name, token, local_ip=local_ip,
                         headers={"Origin": base_url, **(headers or {})})

    async def _answer_sub(self, msg: dict) -> None:
        # Media is not what these tests look at; answering could race a kick's close.
        return None


async def first_frame(base_url: str, room_id: str, name: str, local_ip: str,
                      headers: dict[str, str] | None = None) -> tuple[dict, int | None]:
    """``join_frames`` as a browser would join: with the page's Origin."""
    return await join_frames(base_url, room_id, name, local_ip=local_ip,
                             headers={"Origin": base_url, **(headers or {})})


@dataclass
class Front:
    """The server, and nginx in front of it."""

    server: TestServer
    nginx: Nginx | None

    @property
    def direct_url(self) -> str:
        return url_of(self.server)

    @property
    def url(self) -> str:
        assert self.nginx is not None
        return self.nginx.url

    def bans(self, room_id: str) -> list[dict[str, Any]]:
        """The bans of one room (the data dir is shared with other tests, and so are its bans)."""
        return [ban for ban in self.server.app[STORE].bans() if ban["room_id"] == room_id]

    async def create_room(self, local_ip: str = HOST_IP, base: str | None = None) -> tuple[int, dict]:
        """Whatever the server says (the status too: some tests expect a refusal)."""
        body = {"title": "Proxied show", "host_name": "Hosty"}
        async with session_from(local_ip) as http:
            return await call(http, "post", f"{base or self.url}/api/rooms", json=body)  # type: ignore[return-value]


Start = Callable[..., Awaitable[Front]]


@pytest.fixture
async def start(make_server: MakeServer, tmp_path: Path) -> AsyncIterator[Start]:
    """``await start(nginx=True, **settings)``: a server (and nginx before it), all stopped at the end."""
    fronts: list[Front] = []

    async def make(nginx: bool = True, **overrides: object) -> Front:
        front = Front(await make_server(**overrides), None)
        fronts.append(front)
        if nginx:
            front.nginx = Nginx(tmp_path / f"nginx{len(fronts)}", front.server.port or 0)
            front.nginx.daemon.start()
        return front

    yield make
    for front in fronts:  # the servers stop after this (make_server's end)
        if front.nginx is not None:
            front.nginx.daemon.stop()


async def test_nginx_accepts_the_shipped_site(start: Start) -> None:
    front = await start(trusted_proxies=NGINX_SIDE)
    assert front.nginx is not None
    checked = front.nginx.check_config()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "[warn]" not in checked.stderr, checked.stderr


async def test_page_api_and_room_socket_through_nginx(start: Start) -> None:
    front = await start(trusted_proxies=NGINX_SIDE)
    assert front.nginx is not None
    async with session_from(ALICE_IP) as http:
        async with http.get(f"{front.url}/") as resp:
            assert resp.status == 200 and resp.content_type == "text/html"
            assert "OnAir" in await resp.text()
        async with http.get(f"{front.url}/api/config") as resp:
            assert resp.status == 200 and "ice_servers" in await resp.json()
        plain = f"http://127.0.0.1:{front.nginx.http_port}/r/abc?x=1"
        async with http.get(plain, allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "https://127.0.0.1/r/abc?x=1"

    status, room = await front.create_room()
    assert status == 201, room
    host = await ProxiedClient(front.url, room["room_id"], "Hosty", room["host_token"],
                               local_ip=HOST_IP).connect()
    listener = await ProxiedClient(front.url, room["room_id"], "Lis", local_ip=ALICE_IP).connect()
    assert host.welcome is not None and host.welcome["role"] == "host"
    assert listener.welcome is not None and listener.welcome["role"] == "listener"
    reply = await listener.request({"type": "chat", "text": "hello through nginx"})
    assert reply["type"] == "ack", reply
    assert (await host.next("chat"))["message"]["text"] == "hello through nginx"

    # The Origin check still works behind the proxy: another site's page may not open the socket.
    async with session_from(ALICE_IP) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{front.url}/api/rooms/{room['room_id']}/ws", params={"name": "Evil"},
                                  headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
    await asyncio.gather(host.close(), listener.close())


async def test_a_ban_through_nginx_hits_one_listener_and_not_the_other(start: Start) -> None:
    front = await start(trusted_proxies=NGINX_SIDE)
    _, room = await front.create_room()
    room_id = room["room_id"]
    host = await ProxiedClient(front.url, room_id, "Hosty", room["host_token"], local_ip=HOST_IP).connect()
    alice = await ProxiedClient(front.url, room_id, "Alice", local_ip=ALICE_IP).connect()
    bob = await ProxiedClient(front.url, room_id, "Bob", local_ip=BOB_IP).connect()

    reply = await host.request({"type": "kick", "participant_id": alice.participant_id, "ban": True})
    assert reply["type"] == "ack", reply
    await wait_for(lambda: alice.close_code is not None)
    assert alice.close_code == 4003
    assert [ban["ip"] for ban in front.bans(room_id)] == [ALICE_IP]

    # Bob is still in, hears about it, and may talk.
    assert (await bob.next("participant_left"))["participant_id"] == alice.participant_id
    assert (await bob.request({"type": "chat", "text": "still here"}))["type"] == "ack"

    # Alice is refused from her address, under any name, even claiming another address.
    for headers in ({}, {"X-Forwarded-For": BOB_IP}, {"X-Forwarded-For": f"{CAROL_IP}, {BOB_IP}"}):
        frame, code = await first_frame(front.url, room_id, "Alice again", ALICE_IP, headers)
        assert (frame.get("code"), code) == ("banned", 4403), (headers, frame)

    # Bob leaves and comes back as a newcomer; Carol, never seen, gets in.
    await bob.close()
    for name, ip in (("Bob", BOB_IP), ("Carol", CAROL_IP)):
        frame, code = await first_frame(front.url, room_id, name, ip)
        assert frame["type"] == "welcome" and code is None, (name, frame)
    await asyncio.gather(host.close(), alice.close())


async def test_join_and_room_limits_count_each_client_behind_nginx(start: Start) -> None:
    front = await start(trusted_proxies=NGINX_SIDE, join_rate=3, room_create_rate=2)
    statuses = [(await front.create_room(ALICE_IP))[0] for _ in range(3)]
    assert statuses == [201, 201, 429]
    status, room = await front.create_room(BOB_IP)
    assert status == 201, "Bob's first room was refused: the limit counted the proxy"

    outcomes = [(await first_frame(front.url, room["room_id"], "Alice", ALICE_IP))[0]["type"]
                for _ in range(4)]
    assert outcomes == ["welcome"] * 3 + ["error"]
    frame, code = await first_frame(front.url, room["room_id"], "Alice", ALICE_IP)
    assert (frame.get("code"), code) == ("rate_limited", 4429)
    frame, _ = await first_frame(front.url, room["room_id"], "Bob", BOB_IP)
    assert frame["type"] == "welcome", f"Bob was refused for Alice's joins: {frame}"


async def test_without_trusted_proxy_everyone_behind_nginx_is_nginx(start: Start) -> None:
    """The bug the setting fixes, shown: with no --trusted-proxy, one client's joins use up everyone's."""
    front = await start(join_rate=3)
    status, room = await front.create_room()
    assert status == 201
    for _ in range(3):
        frame, _ = await first_frame(front.url, room["room_id"], "Alice", ALICE_IP)
        assert frame["type"] == "welcome"
    frame, code = await first_frame(front.url, room["room_id"], "Bob", BOB_IP)
    assert (frame.get("code"), code) == ("rate_limited", 4429)


async def banned_address(front: Front, base: str, local_ip: str, headers: dict[str, str]) -> str:
    """Ban a newcomer who connects from ``local_ip`` with ``headers``: the address the server stored."""
    _, room = await front.create_room(HOST_IP, base)
    host = await ProxiedClient(base, room["room_id"], "Hosty", room["host_token"], local_ip=HOST_IP).connect()
    target = await ProxiedClient(base, room["room_id"], "Target", local_ip=local_ip,
                                 headers=headers).connect()
    reply = await host.request({"type": "kick", "participant_id": target.participant_id, "ban": True})
    assert reply["type"] == "ack", reply
    await asyncio.gather(host.close(), target.close())
    return str(front.bans(room["room_id"])[0]["ip"])


@pytest.mark.parametrize(
    ("trusted", "local_ip"),
    [([], "127.0.0.1"), (NGINX_SIDE, ALICE_IP)],
    ids=["no-trusted-proxy", "peer-not-trusted"],
)
async def test_a_direct_client_cannot_choose_its_address(start: Start, trusted: list[str],
                                                         local_ip: str) -> None:
    front = await start(nginx=False, trusted_proxies=trusted, join_rate=3)
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    assert await banned_address(front, front.direct_url, local_ip, forged) == local_ip

    # Nor dodge the join limit by claiming a new address each time (the target's join was the first of 3).
    _, room = await front.create_room(HOST_IP, front.direct_url)
    frames = [
        (await first_frame(front.direct_url, room["room_id"], "Dodger", local_ip,
                           {"X-Forwarded-For": f"198.51.100.{i}"}))[0]
        for i in range(3)
    ]
    assert [f["type"] for f in frames] == ["welcome", "welcome", "error"]
    assert frames[2]["code"] == "rate_limited"
