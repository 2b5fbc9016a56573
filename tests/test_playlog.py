"""The play log: every play written when it starts and completed when it ends, with the time it was
heard (pauses left out) and its audience; the operator's export as JSON and CSV; a room's recent plays."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from benchmarks.server import LocalServer
from signaling.keys import STORE
from tests.clients import RoomClient
from tests.helpers import OPERATOR, call, create_room


async def test_three_skips_make_three_complete_plays_with_their_played_time(
    server: TestServer, base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    room_id = room["room_id"]
    store = server.app[STORE]
    host = await RoomClient(base_url, room_id, "Hosty", token=room["host_token"], media=False).connect()
    listener = await RoomClient(base_url, room_id, "Lis", media=False).connect()
    assert (await host.request({"type": "crossfade", "seconds": 0}))["type"] == "ack"
    await asyncio.sleep(0.5)
    await host.request({"type": "skip"})  # A -> B
    await asyncio.sleep(0.2)
    await host.request({"type": "pause"})
    await asyncio.sleep(0.6)  # not heard: not counted
    await host.request({"type": "play"})
    await asyncio.sleep(0.2)
    await host.request({"type": "skip"})  # B -> C
    second = await RoomClient(base_url, room_id, "Lis two", media=False).connect()
    await asyncio.sleep(0.3)
    await host.request({"type": "skip"})  # C -> D

    plays = store.plays(room_id=room_id)
    assert len(plays) == 4, plays
    done, playing = plays[:3], plays[3]
    assert all(p["ended_at"] is not None for p in done) and playing["ended_at"] is None
    assert len({p["track_id"] for p in plays}) == 4
    a, b, c = (p["played_ms"] for p in done)
    assert a >= 450, a
    assert 330 <= b <= 900, b  # 400 ms heard; with the 600 ms pause it would be 1000
    assert 230 <= c <= 800, c
    assert [p["listeners_start"] for p in plays] == [0, 1, 1, 2]
    assert done[2]["listeners_peak"] == 2  # the second listener came during C
    assert all(p["room_title"] == "Test show" and p["title"] and p["artist"] for p in plays)

    # Anyone sees the room's recent plays, newest first, without audience figures.
    status, recent = await call(http, "get", f"{base_url}/api/rooms/{room_id}/playlog")
    assert status == 200
    assert [p["play_id"] for p in recent] == [p["play_id"] for p in reversed(plays)]  # type: ignore[union-attr]
    assert "listeners_start" not in recent[0] and recent[0]["ended_at"] is None  # type: ignore[index]
    assert (await call(http, "get", f"{base_url}/api/rooms/nope/playlog"))[0] == 404

    # The room ends: the open play is completed.
    assert (await call(http, "delete", f"{base_url}/api/rooms/{room_id}",
                       headers={"Authorization": f"Bearer {room['host_token']}"}))[0] == 204
    last = store.plays(room_id=room_id)[-1]
    assert last["ended_at"] is not None and last["played_ms"] > 0
    await asyncio.gather(host.close(), listener.close(), second.close())


async def test_the_operator_exports_a_period_as_json_and_csv(
    server: TestServer, base_url: str, http: aiohttp.ClientSession
) -> None:
    first = await create_room(http, base_url, "First show")
    other = await create_room(http, base_url, "Other show")
    token = first["host_token"]
    host = await RoomClient(base_url, first["room_id"], "Hosty", token=token, media=False).connect()
    for _ in range(2):
        await host.request({"type": "skip"})
        await asyncio.sleep(0.05)
    url = f"{base_url}/api/playlog"
    status, rows = await call(http, "get", url, params={"room_id": first["room_id"]}, headers=OPERATOR)
    assert status == 200 and len(rows) == 3  # type: ignore[arg-type]
    assert set(rows[0]) == {  # type: ignore[index]
        "play_id", "room_id", "room_title", "track_id", "title", "artist", "album", "duration_ms",
        "started_at", "ended_at", "played_ms", "listeners_start", "listeners_peak"}

    async with http.get(url, params={"format": "csv", "room_id": first["room_id"]}, headers=OPERATOR) as resp:
        assert resp.status == 200 and resp.content_type == "text/csv"
        parsed = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [r["play_id"] for r in parsed] == [str(r["play_id"]) for r in rows]  # type: ignore[union-attr]
    assert [r["title"] for r in parsed] == [r["title"] for r in rows]  # type: ignore[union-attr]
    assert parsed[0]["room_title"] == "First show" and int(parsed[0]["played_ms"]) >= 0

    # A period: every room by default; nothing in a window of the past.
    _, everything = await call(http, "get", url, headers=OPERATOR)
    assert {first["room_id"], other["room_id"]} <= {r["room_id"] for r in everything}  # type: ignore[union-attr]
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    _, none = await call(http, "get", url, params={"from": past, "to": yesterday}, headers=OPERATOR)
    assert none == []
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone().isoformat()
    _, recent = await call(http, "get", url, params={"from": hour_ago, "room_id": other["room_id"]},
                           headers=OPERATOR)
    assert [r["room_id"] for r in recent] == [other["room_id"]]  # type: ignore[union-attr]

    # Refused: not the operator, a bad format, a bad or reversed period.
    assert (await call(http, "get", url))[0] == 401
    assert (await call(http, "get", url, headers={"Authorization": f"Bearer {token}"}))[0] == 401
    for params in ({"format": "xml"}, {"from": "last week"}, {"from": "2025-02-01", "to": "2025-01-01"}):
        status, answer = await call(http, "get", url, params=params, headers=OPERATOR)
        assert status == 400 and answer["error"]["code"] == "bad_request", params  # type: ignore[index]
    await host.close()


@pytest.mark.timeout(90)
async def test_a_sigkill_loses_at_most_the_last_seconds_of_the_open_play(tmp_path: Path) -> None:
    """The real ``onair serve``, killed mid-play: started again, the play it left open is complete
    with the time of its last checkpoint (every 5 s), and the restored track is a new play."""
    server = LocalServer(tmp_path / "data")
    try:
        await asyncio.to_thread(server.start)
        operator = {"Authorization": f"Bearer {server.admin_token}"}
        async with aiohttp.ClientSession() as http:
            room = await create_room(http, server.url, "Crash test")
            await asyncio.sleep(6.5)  # past one checkpoint of the registry's 5 s loop
            server.kill()
            await asyncio.to_thread(server.start)
            status, plays = await call(http, "get", f"{server.url}/api/playlog",
                                       params={"room_id": room["room_id"]}, headers=operator)
        assert status == 200
        assert len(plays) == 2, plays  # type: ignore[arg-type]
        left, again = plays  # type: ignore[misc]
        assert left["ended_at"] is not None and 4000 <= left["played_ms"] <= 6500, left
        assert again["ended_at"] is None and again["track_id"] == left["track_id"]  # resumed: a new play
    finally:
        server.stop()
