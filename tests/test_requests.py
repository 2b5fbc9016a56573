"""Listeners' requests: made with a note, seen by the host and moderators, accepted to the end of the
queue or declined, the requester told; every refusal from the refused side."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestServer

from signaling.keys import LIBRARY
from tests.clients import RoomClient


async def join(base_url: str, room: dict, name: str, host: bool = False) -> RoomClient:
    token = room["host_token"] if host else None
    return await RoomClient(base_url, room["room_id"], name, token=token, media=False).connect()


async def desk_of(client: RoomClient, size: int) -> list[dict]:
    """The next ``requests`` list of ``size`` entries (a joining host gets the current, maybe empty, one)."""
    while True:
        listed = (await client.next("requests"))["requests"]
        if len(listed) == size:
            return listed


async def test_a_request_is_seen_by_the_desk_accepted_to_the_queue_and_answered(
    server: TestServer, base_url: str, room: dict
) -> None:
    tracks = server.app[LIBRARY].tracks()
    wanted, other = tracks[0], tracks[1]
    host = await join(base_url, room, "Hosty", host=True)
    lis = await join(base_url, room, "Lis")
    await host.request({"type": "queue_add", "track_id": other.track_id})  # the queue is not empty
    await host.next("queue")

    reply = await lis.request({"type": "request_track", "track_id": wanted.track_id, "note": "for my mum"})
    assert reply["type"] == "ack", reply
    pending = await lis.next("request_updated", status="pending")
    assert pending["track"]["track_id"] == wanted.track_id
    assert [(r["request_id"], r["participant_id"], r["name"], r["track"]["track_id"], r["note"])
            for r in await desk_of(host, 1)] == [
        (pending["request_id"], lis.participant_id, "Lis", wanted.track_id, "for my mum")]
    assert "requests" not in lis.messages or lis.messages["requests"] == []  # listeners never see the desk

    # One pending each.
    again = await lis.request({"type": "request_track", "track_id": other.track_id})
    assert again["code"] == "conflict"

    # A moderator who joins later sees it at once.
    mod = await join(base_url, room, "Maria")
    await host.request({"type": "make_moderator", "participant_id": mod.participant_id})
    assert [r["request_id"] for r in await desk_of(mod, 1)] == [pending["request_id"]]

    assert (await mod.request({"type": "answer_request", "request_id": pending["request_id"],
                               "accept": True}))["type"] == "ack"
    accepted = await lis.next("request_updated", status="accepted")
    assert accepted["request_id"] == pending["request_id"]
    queue = (await lis.next("queue"))["queue"]
    while len(queue) < 2:
        queue = (await lis.next("queue"))["queue"]
    assert [e["track"]["track_id"] for e in queue] == [other.track_id, wanted.track_id]  # to the end
    assert await desk_of(host, 0) == []
    answered = await host.request({"type": "answer_request", "request_id": pending["request_id"],
                                   "accept": False})
    assert answered["code"] == "conflict"
    await asyncio.gather(host.close(), lis.close(), mod.close())


async def test_declined_and_the_refused_side(server: TestServer, base_url: str, room: dict) -> None:
    track = server.app[LIBRARY].tracks()[0]
    host = await join(base_url, room, "Hosty", host=True)
    lis = await join(base_url, room, "Lis")
    speaker = await join(base_url, room, "Speaks")
    muted = await join(base_url, room, "Shh")
    await host.request({"type": "promote", "participant_id": speaker.participant_id})
    await speaker.next("role_changed")
    await host.request({"type": "mute_chat", "participant_id": muted.participant_id, "muted": True})

    ask = {"type": "request_track", "track_id": track.track_id}
    assert (await host.request(ask))["code"] == "forbidden"
    assert (await speaker.request(ask))["code"] == "forbidden"
    assert (await muted.request(ask))["code"] == "forbidden"
    assert (await lis.request({**ask, "track_id": "no-such-track"}))["code"] == "not_found"
    assert (await lis.request({**ask, "track_id": 7}))["code"] == "bad_request"
    assert (await lis.request({**ask, "note": "x" * 141}))["code"] == "bad_request"
    assert (await lis.request({**ask, "note": "bad\x00note"}))["code"] == "bad_request"
    assert "requests" not in host.messages or all(m["requests"] == [] for m in host.messages["requests"])

    assert (await lis.request(ask))["type"] == "ack"
    request_id = (await lis.next("request_updated", status="pending"))["request_id"]
    answer = {"type": "answer_request", "request_id": request_id, "accept": True}
    assert (await lis.request(answer))["code"] == "forbidden"
    assert (await speaker.request(answer))["code"] == "forbidden"
    assert (await host.request({**answer, "request_id": "q_nope"}))["code"] == "not_found"
    assert (await host.request({**answer, "accept": "yes"}))["code"] == "bad_request"
    assert (await host.request({**answer, "accept": False}))["type"] == "ack"
    assert (await lis.next("request_updated", status="declined"))["request_id"] == request_id

    # Rate-limited: 3 in 5 minutes, answered or not.
    for _ in range(2):
        assert (await lis.request(ask))["type"] == "ack"
        rid = (await lis.next("request_updated", status="pending"))["request_id"]
        await host.request({**answer, "request_id": rid, "accept": False})
    assert (await lis.request(ask))["code"] == "rate_limited"
    await asyncio.gather(host.close(), lis.close(), speaker.close(), muted.close())


async def test_the_host_joining_later_gets_the_pending_requests(
    server: TestServer, base_url: str, room: dict
) -> None:
    track = server.app[LIBRARY].tracks()[0]
    lis = await join(base_url, room, "Lis")
    assert (await lis.request({"type": "request_track", "track_id": track.track_id}))["type"] == "ack"
    host = await join(base_url, room, "Hosty", host=True)
    desk = await host.next("requests")  # the first: sent as the host joins
    assert [r["participant_id"] for r in desk["requests"]] == [lis.participant_id]
    await asyncio.gather(host.close(), lis.close())
