"""The DJ's desk over the socket: queue, transport, levels and ducking, and a restart."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.test_utils import TestServer

from signaling.keys import LIBRARY, REGISTRY, STORE
from tests.clients import RoomClient, ToneFrames
from tests.helpers import create_room, make_settings, start_server, url_of, wait_for


async def test_the_host_queues_a_track_and_skips_to_it(base_url: str, room: dict, server: TestServer) -> None:
    library = server.app[LIBRARY]
    wanted = library.tracks()[-1]
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    assert (await host.request({"type": "queue_add", "track_id": wanted.track_id}))["type"] == "ack"
    queued = await listener.next("queue")
    assert [e["track"]["track_id"] for e in queued["queue"]] == [wanted.track_id]
    assert (await host.request({"type": "skip"}))["type"] == "ack"
    playing = await listener.next("now_playing", timeout=10)
    while playing["track"]["track_id"] != wanted.track_id:
        playing = await listener.next("now_playing", timeout=10)
    assert (await listener.next("queue"))["queue"] == []
    refused = await host.request({"type": "queue_add", "track_id": "no-such-track"})
    assert refused["code"] == "not_found"
    refused = await host.request({"type": "queue_move", "entry_id": "nope", "index": 0})
    assert refused["code"] == "not_found"
    await asyncio.gather(host.close(), listener.close())


async def test_pause_play_and_settings_reach_everyone(base_url: str, room: dict) -> None:
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    await host.request({"type": "pause"})
    assert (await listener.next("now_playing", paused=True))["paused"] is True
    await host.request({"type": "play"})
    assert (await listener.next("now_playing", paused=False))["paused"] is False
    await host.request({"type": "crossfade", "seconds": 0})
    settings = await listener.next("music_settings")
    assert settings["crossfade_s"] == 0
    assert (await host.request({"type": "ducking", "db": 99}))["code"] == "bad_request"
    await asyncio.gather(host.close(), listener.close())


async def test_a_talking_speaker_shows_in_levels_and_ducks_the_music(
    base_url: str, room: dict, server: TestServer
) -> None:
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    await host.publish(ToneFrames(440.0))
    levels = await listener.next("levels", timeout=10)
    while host.participant_id not in levels["levels"]:
        levels = await listener.next("levels", timeout=10)
    assert 0 <= levels["levels"][host.participant_id] <= 70
    router = server.app[REGISTRY].get(room["room_id"]).router
    await wait_for(lambda: router._voice_active, timeout=5)
    await host.pub.close()
    await wait_for(lambda: not router._voice_active, timeout=5)
    await asyncio.gather(host.close(), listener.close())


async def test_a_restart_resumes_the_queue_and_the_desk_settings(shared_data_dir) -> None:  # type: ignore[no-untyped-def]

    first = await start_server(make_settings(shared_data_dir))
    base = url_of(first)
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, base, "Q", "H")
    tracks = first.app[LIBRARY].tracks()
    host = await RoomClient(base, room["room_id"], "H", token=room["host_token"]).connect()
    for track in tracks[:2]:
        await host.request({"type": "queue_add", "track_id": track.track_id})
    await host.request({"type": "ducking", "db": 6})
    await host.request({"type": "crossfade", "seconds": 1.5})
    queue = [e["entry_id"] for e in first.app[REGISTRY].get(room["room_id"]).music.queue()]
    await host.close()
    await first.close()

    second = await start_server(make_settings(shared_data_dir))
    restored = second.app[REGISTRY].get(room["room_id"])
    assert restored is not None
    assert [e["entry_id"] for e in restored.music.queue()] == queue
    assert (restored.music.ducking_db, restored.music.crossfade_s) == (6, 1.5)
    second.app[STORE].end_room(room["room_id"])
    await second.close()
