"""Every permission from the refused side, with real clients: the exact code, and nothing changed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import aiohttp
from aiohttp.test_utils import TestServer
from aiortc import RTCConfiguration, RTCPeerConnection

from signaling.keys import REGISTRY, STORE
from tests.clients import EncodedToneTrack, RoomClient
from tests.helpers import (
    OPERATOR,
    close_all,
    fresh_welcome,
    host_and,
    refused_join,
    roster,
    settled,
    wait_for,
)

OTHER_ADDRESS = "127.0.0.2"  # loopback too: a second client address for address bans
WATCHED = (
    "role_changed",
    "participant_updated",
    "kicked",
    "chat",
    "chat_deleted",
    "now_playing",
    "queue",
    "answer",
)


async def barrier(*clients: RoomClient) -> None:
    """After this, every message the server meant for these clients before now has arrived."""
    for client in clients:
        assert (await client.request({"type": "ping", "t": 0}))["type"] == "ack"


def counts(clients: Iterable[RoomClient]) -> list[dict[str, int]]:
    return [{kind: len(c.messages[kind]) for kind in WATCHED} for c in clients]


async def assert_refused(
    actor: RoomClient, message: dict, code: str, base_url: str, room_id: str, everyone: list[RoomClient]
) -> None:
    """``message`` from ``actor`` gets ``code``; the roster and everyone's inbox stay as they were."""
    before_roster = await roster(base_url, room_id)
    before = counts(everyone)
    reply = await actor.request(message)
    assert reply["type"] == "error" and reply["code"] == code, (message, reply)
    await barrier(*everyone)
    assert counts(everyone) == before, f"{message['type']} refused but news went out"
    assert await roster(base_url, room_id) == before_roster, f"{message['type']} refused but changed"


async def promote(host: RoomClient, who: RoomClient, role: str = "speaker") -> None:
    kind = "promote" if role == "speaker" else "make_moderator"
    reply = await host.request({"type": kind, "participant_id": who.participant_id})
    assert reply["type"] == "ack", reply
    assert (await who.next("role_changed"))["role"] == role


# --- a listener --------------------------------------------------------------------------


async def test_a_listener_cannot_act_on_others(base_url: str, room: dict, server: TestServer) -> None:
    host, (speaker, actor, target) = await host_and(base_url, room, "Speaker", "Actor", "Target")
    await promote(host, speaker)
    everyone = [host, speaker, actor, target]
    rid = room["room_id"]
    cases = [
        {"type": "promote", "participant_id": target.participant_id},
        {"type": "demote", "participant_id": speaker.participant_id},
        {"type": "mute", "participant_id": speaker.participant_id, "muted": True},
        {"type": "mute", "participant_id": host.participant_id, "muted": True},
        {"type": "mute_chat", "participant_id": target.participant_id, "muted": True},
        {"type": "kick", "participant_id": target.participant_id, "ban": False},
        {"type": "kick", "participant_id": target.participant_id, "ban": True},
        {"type": "make_moderator", "participant_id": target.participant_id},
        {"type": "make_moderator", "participant_id": actor.participant_id},
    ]
    for message in cases:
        await assert_refused(actor, message, "forbidden", base_url, rid, everyone)
    final = await roster(base_url, rid)
    assert final[speaker.participant_id]["role"] == "speaker"
    assert final[target.participant_id]["role"] == "listener"
    assert final[actor.participant_id]["role"] == "listener"
    assert not final[speaker.participant_id]["muted"] and not final[target.participant_id]["chat_muted"]
    assert server.app[STORE].is_banned(rid, target.participant_id, None) is None
    await close_all(*everyone)


def music_state(server: TestServer, room_id: str) -> dict:
    music = server.app[REGISTRY].get(room_id).music
    playing = music.now_playing()
    return {
        "track_id": playing["track"]["track_id"],
        "anchor_ms": playing["position_ms"] - playing["server_ms"],  # moves only on seek/skip
        "paused": music.paused,
        "gain": music.gain,
        "queue": music.queue(),
    }


async def test_a_listener_cannot_touch_the_music_or_the_queue(
    base_url: str, room: dict, server: TestServer, http: aiohttp.ClientSession
) -> None:
    host, (actor, other) = await host_and(base_url, room, "Actor", "Other")
    rid = room["room_id"]
    assert (await host.request({"type": "seek", "position_ms": 0}))["type"] == "ack"  # a long runway
    async with http.get(f"{base_url}/api/tracks") as resp:
        track_id = (await resp.json())[0]["track_id"]
    entry_id = "e_missing"
    if (await host.request({"type": "queue_add", "track_id": track_id}))["type"] == "ack":
        entry_id = (await host.next("queue"))["queue"][-1]["entry_id"]
    await barrier(host, actor, other)
    cases = [
        {"type": "play"},
        {"type": "pause"},
        {"type": "skip"},
        {"type": "seek", "position_ms": 30_000},
        {"type": "music_gain", "gain": 0.0},
        {"type": "queue_add", "track_id": track_id},
        {"type": "queue_remove", "entry_id": entry_id},
        {"type": "queue_move", "entry_id": entry_id, "index": 0},
    ]
    for message in cases:
        before = music_state(server, rid)
        await assert_refused(actor, message, "forbidden", base_url, rid, [host, actor, other])
        after = music_state(server, rid)
        assert abs(after.pop("anchor_ms") - before.pop("anchor_ms")) < 250, message
        assert after == before, message
    await close_all(host, actor, other)


async def test_a_listener_cannot_publish(base_url: str, room: dict, server: TestServer) -> None:
    host, (sneaky, other) = await host_and(base_url, room, "Sneaky", "Other")
    sneaky.pub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sneaky.pub.addTransceiver(EncodedToneTrack(3000.0), direction="sendonly")
    await sneaky.pub.setLocalDescription(await sneaky.pub.createOffer())
    message = {"type": "offer", "pc": "pub", "sdp": sneaky.pub.localDescription.sdp}
    await assert_refused(sneaky, message, "forbidden", base_url, room["room_id"], [host, sneaky, other])
    router = server.app[REGISTRY].get(room["room_id"]).router
    assert sneaky.participant_id not in router.publishers
    await asyncio.sleep(0.5)
    for client in (host, other):
        assert not [t for t in client.tracks if t.get("participant_id") == sneaky.participant_id]
    assert not sneaky.messages["answer"]
    await close_all(host, sneaky, other)


# --- a speaker and a moderator --------------------------------------------------------------


async def test_a_speaker_cannot_promote_or_kick(base_url: str, room: dict, server: TestServer) -> None:
    host, (speaker, target) = await host_and(base_url, room, "Speaker", "Target")
    await promote(host, speaker)
    everyone = [host, speaker, target]
    for message in (
        {"type": "promote", "participant_id": target.participant_id},
        {"type": "kick", "participant_id": target.participant_id, "ban": False},
        {"type": "kick", "participant_id": target.participant_id, "ban": True},
    ):
        await assert_refused(speaker, message, "forbidden", base_url, room["room_id"], everyone)
    assert server.app[STORE].is_banned(room["room_id"], target.participant_id, None) is None
    await close_all(*everyone)


async def test_a_moderator_cannot_act_on_the_host_nor_make_moderators(
    base_url: str, room: dict, server: TestServer
) -> None:
    host, (mod, target) = await host_and(base_url, room, "Mara", "Target")
    await promote(host, mod, "moderator")
    everyone = [host, mod, target]
    rid, hid = room["room_id"], host.participant_id
    cases = [
        {"type": "kick", "participant_id": hid, "ban": False},
        {"type": "kick", "participant_id": hid, "ban": True},
        {"type": "mute", "participant_id": hid, "muted": True},
        {"type": "demote", "participant_id": hid},
        {"type": "mute_chat", "participant_id": hid, "muted": True},
        {"type": "make_moderator", "participant_id": target.participant_id},
    ]
    for message in cases:
        await assert_refused(mod, message, "forbidden", base_url, rid, everyone)
    final = await roster(base_url, rid)
    assert final[hid]["role"] == "host" and not final[hid]["muted"] and not final[hid]["chat_muted"]
    assert final[target.participant_id]["role"] == "listener"
    assert not [b for b in server.app[STORE].bans() if b["participant_id"] == hid]
    assert host.close_code is None and not host.messages["kicked"]
    # the moderator does moderate others: the refusals above are about the host, not a broken setup
    reply = await mod.request({"type": "mute_chat", "participant_id": target.participant_id, "muted": True})
    assert reply["type"] == "ack", reply
    await close_all(*everyone)


# --- bans ---------------------------------------------------------------------------------


async def test_a_banned_participant_cannot_come_back(base_url: str, room: dict) -> None:
    rid = room["room_id"]
    host, (bystander,) = await host_and(base_url, room, "Bystander")
    victim = await RoomClient(base_url, rid, "Victim", local_ip=OTHER_ADDRESS).connect()
    token = victim.welcome["resume_token"]
    await settled(victim)
    reply = await host.request({"type": "kick", "participant_id": victim.participant_id, "ban": True})
    assert reply["type"] == "ack", reply
    assert (await victim.next("kicked"))["type"] == "kicked"
    await wait_for(lambda: victim.close_code is not None)
    assert victim.close_code == 4003
    # with the resume token, from the banned address and from another one
    assert await refused_join(base_url, rid, "Victim", token=token, local_ip=OTHER_ADDRESS) == (
        "banned",
        4403,
    )
    assert await refused_join(base_url, rid, "Victim", token=token) == ("banned", 4403)
    # as somebody new from the same address
    assert await refused_join(base_url, rid, "Totally new", local_ip=OTHER_ADDRESS) == ("banned", 4403)
    members = await roster(base_url, rid)
    assert victim.participant_id not in members
    assert set(members) == {host.participant_id, bystander.participant_id}
    await close_all(host, bystander, victim)


async def test_an_operator_ban_by_address_keeps_new_joins_out(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    rid = room["room_id"]
    host, (bystander,) = await host_and(base_url, room, "Bystander")
    spammer = await RoomClient(base_url, rid, "Spammer", local_ip=OTHER_ADDRESS).connect()
    await settled(spammer)
    body = {"ip": OTHER_ADDRESS, "reason": "spam", "room_id": rid}
    async with http.post(f"{base_url}/api/bans", json=body, headers=OPERATOR) as resp:
        assert resp.status == 201, await resp.text()
    await wait_for(lambda: spammer.close_code is not None)
    assert spammer.close_code == 4003 and spammer.messages["kicked"]
    assert await refused_join(base_url, rid, "Fresh face", local_ip=OTHER_ADDRESS) == ("banned", 4403)
    assert bystander.close_code is None
    assert set(await roster(base_url, rid)) == {host.participant_id, bystander.participant_id}
    await close_all(host, bystander, spammer)


# --- chat ---------------------------------------------------------------------------------


async def test_chat_is_rate_limited_to_5_messages_in_10_s(base_url: str, room: dict) -> None:
    host, (talker, reader) = await host_and(base_url, room, "Talker", "Reader")
    for i in range(5):
        reply = await talker.request({"type": "chat", "text": f"message {i}"})
        assert reply["type"] == "ack", (i, reply)
    before = counts([host, talker, reader])
    reply = await talker.request({"type": "chat", "text": "one too many"})
    assert reply["type"] == "error" and reply["code"] == "rate_limited", reply
    assert reply["reason"] == "chat_rate" and reply["params"] == {"count": 5, "seconds": 10}, reply
    assert reply["message"] == "Slow down: at most 5 messages in 10 seconds."
    await barrier(host, talker, reader)
    assert counts([host, talker, reader]) == before
    texts = [m["text"] for m in (await fresh_welcome(base_url, room["room_id"]))["chat"]]
    assert texts == [f"message {i}" for i in range(5)]
    assert [m["message"]["text"] for m in reader.messages["chat"]] == texts
    await close_all(host, talker, reader)


async def test_a_chat_muted_participant_cannot_chat(base_url: str, room: dict) -> None:
    host, (muted, reader) = await host_and(base_url, room, "Muted", "Reader")
    reply = await host.request({"type": "mute_chat", "participant_id": muted.participant_id, "muted": True})
    assert reply["type"] == "ack", reply
    await barrier(host, muted, reader)
    message = {"type": "chat", "text": "can you hear me"}
    await assert_refused(muted, message, "forbidden", base_url, room["room_id"], [host, muted, reader])
    assert not reader.messages["chat"]
    assert (await fresh_welcome(base_url, room["room_id"]))["chat"] == []
    await close_all(host, muted, reader)


async def test_only_the_author_or_a_moderator_deletes_a_message(base_url: str, room: dict) -> None:
    rid = room["room_id"]
    host, (author, other) = await host_and(base_url, room, "Author", "Other")
    assert (await author.request({"type": "chat", "text": "oops"}))["type"] == "ack"
    message_id = (await author.next("chat"))["message"]["message_id"]
    await barrier(host, author, other)
    everyone = [host, author, other]
    await assert_refused(
        other, {"type": "delete_message", "message_id": message_id}, "forbidden", base_url, rid, everyone
    )
    assert [m["message_id"] for m in (await fresh_welcome(base_url, rid))["chat"]] == [message_id]
    reply = await author.request({"type": "delete_message", "message_id": message_id})
    assert reply["type"] == "ack", reply
    for client in everyone:
        assert (await client.next("chat_deleted"))["message_id"] == message_id
    assert (await fresh_welcome(base_url, rid))["chat"] == []
    await close_all(*everyone)
