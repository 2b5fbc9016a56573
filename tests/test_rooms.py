"""Room lifetime: the host drops and comes back, or does not; sessions replaced by newer ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.keys import REGISTRY
from tests.clients import RoomClient
from tests.helpers import (
    create_room,
    make_settings,
    refused_join,
    start_server,
    stop_server,
    url_of,
    wait_for,
)


@pytest.fixture
async def quick_grace_server(shared_data_dir: Path) -> AsyncIterator[TestServer]:
    srv = await start_server(make_settings(shared_data_dir, host_grace_s=1.0))
    yield srv
    await stop_server(srv)


async def test_the_show_goes_on_while_the_host_reconnects(base_url: str, room: dict) -> None:
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    await host.close()
    left = await listener.next("participant_left")
    assert left["participant_id"] == host.participant_id
    before = len(listener.payloads.get("0", []))
    await asyncio.sleep(1.0)
    assert len(listener.payloads["0"]) - before > 40, "the music stopped with the host gone"
    back = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    assert back.welcome["role"] == "host"
    joined = await listener.next("participant_joined")
    assert joined["participant"]["role"] == "host"
    await asyncio.gather(back.close(), listener.close())


async def test_without_a_host_for_the_grace_period_the_show_ends(
    quick_grace_server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(quick_grace_server)
    room = await create_room(http, base, "T", "H")
    host = await RoomClient(base, room["room_id"], "H", token=room["host_token"]).connect()
    listener = await RoomClient(base, room["room_id"], "Lis").connect()
    await host.close()
    await listener.next("room_ended", timeout=15)
    await wait_for(lambda: listener.close_code is not None)
    assert listener.close_code == 4004
    await wait_for(lambda: quick_grace_server.app[REGISTRY].get(room["room_id"]) is None)
    await listener.close()


async def test_joining_again_with_the_same_token_replaces_the_old_session(base_url: str, room: dict) -> None:
    url = f"{base_url}/api/rooms/{room['room_id']}/ws"
    async with aiohttp.ClientSession() as http:
        old = await http.ws_connect(url, params={"name": "Lis"})
        welcome = await old.receive_json(timeout=5)
        again = await RoomClient(base_url, room["room_id"], "Lis", token=welcome["resume_token"]).connect()
        assert again.participant_id == welcome["participant_id"]
        frame = await old.receive(timeout=5)
        while frame.type == aiohttp.WSMsgType.TEXT:
            frame = await old.receive(timeout=5)
        assert frame.type == aiohttp.WSMsgType.CLOSE and frame.data == 4009
    assert (await again.request({"type": "chat", "text": "still me"}))["type"] == "ack"
    await again.close()


async def test_a_listener_who_drops_comes_back_with_name_and_raised_hand(base_url: str, room: dict) -> None:
    first = await RoomClient(base_url, room["room_id"], "Caller").connect()
    await first.request({"type": "raise_hand"})
    token, pid = first.welcome["resume_token"], first.participant_id
    await first.close()
    await asyncio.sleep(0.5)
    again = await RoomClient(base_url, room["room_id"], "Someone else", token=token).connect()
    me = next(p for p in again.welcome["participants"] if p["participant_id"] == pid)
    assert again.participant_id == pid
    assert me["hand_raised"] is True and me["name"] == "Caller"
    await again.close()


@pytest.fixture
async def strict_server(shared_data_dir: Path) -> AsyncIterator[TestServer]:
    settings = make_settings(shared_data_dir, max_participants=2, join_rate=4, room_create_rate=2)
    srv = await start_server(settings)
    yield srv
    await stop_server(srv)


async def test_join_limits_room_full_and_rate_limited(
    strict_server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(strict_server)
    room = await create_room(http, base, "T", "H")
    inside = [await RoomClient(base, room["room_id"], f"L{i}").connect() for i in range(2)]
    assert await refused_join(base, room["room_id"], "X") == ("room_full", 4503)
    # the 4th join in 10 s: still allowed
    assert await refused_join(base, room["room_id"], "X") == ("room_full", 4503)
    # the 5th: over the join rate
    assert await refused_join(base, room["room_id"], "X") == ("rate_limited", 4429)
    assert (await inside[0].request({"type": "ping", "t": 1}))["type"] == "ack"
    await asyncio.gather(*(c.close() for c in inside))


async def test_room_creation_is_rate_limited_per_address(strict_server: TestServer) -> None:
    base = url_of(strict_server)
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.post(f"{base}/api/rooms", json={"title": "T", "host_name": "H"}) as resp:
                statuses.append((resp.status, (await resp.json()).get("error", {}).get("code")))
    assert statuses[:2] == [(201, None), (201, None)]
    assert statuses[2] == (429, "rate_limited")
