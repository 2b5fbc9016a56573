"""A live show end to end with real aiortc peers over loopback: what listeners hear."""

from __future__ import annotations

import asyncio
import gc
import os
import socket

import numpy as np
from aiohttp.test_utils import TestServer

from signaling.keys import REGISTRY
from tests.clients import RoomClient, band_level, peak_hz
from tests.helpers import on_air, wait_for


async def test_listener_hears_music_and_the_hosts_voice(base_url: str, room: dict) -> None:
    host, _ = await on_air(base_url, room)
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    await wait_for(lambda: any(t["kind"] == "voice" for t in listener.tracks))
    voice = listener.mid_of("voice", host.participant_id)
    music = listener.mid_of("music")
    await wait_for(
        lambda: (
            len(listener.recent_audio(voice, 2.0)) >= 48_000 * 2
            and len(listener.recent_audio(music, 2.0)) >= 48_000 * 2
        )
    )
    heard_voice = listener.recent_audio(voice, 1.0)
    assert abs(peak_hz(heard_voice) - 1000.0) < 10
    assert band_level(heard_voice, 1000.0) > 0.8
    heard_music = listener.recent_audio(music, 2.0)
    assert np.sqrt(np.mean(heard_music**2)) > 0.01, "music is silent"
    await asyncio.gather(listener.close(), host.close())


async def test_voice_payloads_arrive_byte_identical_at_two_listeners(
    base_url: str, room: dict
) -> None:
    a = await RoomClient(base_url, room["room_id"], "A").connect()
    b = await RoomClient(base_url, room["room_id"], "B").connect()
    host, track = await on_air(base_url, room)
    for listener in (a, b):
        await wait_for(lambda lis=listener: any(t["kind"] == "voice" for t in lis.tracks))
    await asyncio.sleep(3.0)
    sent = list(track.sent[:-10])  # the last few may still be in flight
    for listener in (a, b):
        received = set(listener.payloads[listener.mid_of("voice")])
        arrived = sum(1 for p in sent[25:] if p in received)  # after the sub renegotiated
        assert arrived / len(sent[25:]) >= 0.95, f"{listener.name}: {arrived}/{len(sent) - 25}"
    await asyncio.gather(a.close(), b.close(), host.close())


async def test_listeners_joining_apart_get_the_same_music_frames(base_url: str, room: dict) -> None:
    first = await RoomClient(base_url, room["room_id"], "First").connect()
    await asyncio.sleep(3.0)
    second = await RoomClient(base_url, room["room_id"], "Second").connect()
    await wait_for(lambda: len(second.payloads.get("0", [])) >= 100)
    await asyncio.sleep(0.5)
    early = first.payloads[first.mid_of("music")]
    late = second.payloads[second.mid_of("music")][:100]
    start = early.index(late[0])
    assert early[start : start + 100] == late
    assert len(set(late)) > 50, "music frames should differ from each other"
    await asyncio.gather(first.close(), second.close())


async def test_a_listener_joining_mid_show_hears_within_a_second(base_url: str, room: dict) -> None:
    await asyncio.sleep(1.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    listener = await RoomClient(base_url, room["room_id"], "Late").connect()
    await wait_for(lambda: listener.payloads.get("0"), step=0.01)
    assert loop.time() - started < 1.0
    await listener.close()


async def test_an_empty_datagram_does_not_cut_a_listeners_audio(
    base_url: str, room: dict, server: TestServer
) -> None:

    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    music = "0"
    await wait_for(lambda: len(listener.payloads.get(music, [])) > 25)
    peer = server.app[REGISTRY].get(room["room_id"]).router.subscribers[listener.participant_id]
    local = peer.pc.getTransceivers()[0].sender.transport.transport._connection._nominated[1]
    port = local.protocol.transport.get_extra_info("sockname")[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for payload in (b"", b"", b"\x80garbage", b"\x16stray dtls"):
            s.sendto(payload, ("127.0.0.1", port))
    before = len(listener.payloads[music])
    await asyncio.sleep(1.5)
    assert len(listener.payloads[music]) - before > 50, "audio stopped after stray datagrams"
    assert peer.pc.connectionState == "connected"
    await listener.close()


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


async def test_leaving_releases_every_connection_task_and_socket(
    base_url: str, room: dict, server: TestServer
) -> None:
    registry = server.app[REGISTRY]
    live_room = registry.get(room["room_id"])
    await asyncio.sleep(0.5)
    sockets_before = _open_sockets()
    tasks_before = len(asyncio.all_tasks())
    host, _ = await on_air(base_url, room)
    listeners = [await RoomClient(base_url, room["room_id"], f"L{i}").connect() for i in range(3)]
    await wait_for(lambda: all(len(x.payloads.get("1", [])) > 10 for x in listeners))
    assert _open_sockets() > sockets_before
    await asyncio.gather(*(c.close() for c in [host, *listeners]))
    try:
        await wait_for(lambda: not live_room.router.subscribers and not live_room.router.publishers)
    except TimeoutError:
        for t in asyncio.all_tasks():
            t.print_stack(limit=6)
        raise
    await wait_for(lambda: not live_room.sessions)
    gc.collect()
    try:
        await wait_for(lambda: _open_sockets() <= sockets_before, timeout=10)
    except TimeoutError:
        raise AssertionError(f"sockets: {_open_sockets()} > {sockets_before}") from None
    try:
        await wait_for(lambda: len(asyncio.all_tasks()) <= tasks_before, timeout=10)
    except TimeoutError:
        raise AssertionError(f"tasks left: {asyncio.all_tasks()}") from None
    assert live_room.router.music.consumers == ()


async def test_ending_the_show_releases_everything(
    base_url: str,
    room: dict,
    server: TestServer,
    http,  # type: ignore[no-untyped-def]
) -> None:
    registry = server.app[REGISTRY]
    live_room = registry.get(room["room_id"])
    host, _ = await on_air(base_url, room)
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    await wait_for(lambda: len(listener.payloads.get("0", [])) > 10)
    async with http.delete(
        f"{base_url}/api/rooms/{room['room_id']}",
        headers={"Authorization": f"Bearer {room['host_token']}"},
    ) as resp:
        assert resp.status == 204
    await listener.next("room_ended")
    await wait_for(lambda: listener.close_code is not None)
    assert listener.close_code == 4004
    await wait_for(lambda: registry.get(room["room_id"]) is None)
    assert live_room.router.closed and not live_room.router.subscribers
    async with http.get(f"{base_url}/api/rooms/{room['room_id']}") as resp:
        assert resp.status == 404
    await asyncio.gather(listener.close(), host.close())
