"""The green room: a screened caller is heard by the host and moderators only, never by a
listener; talkback sends the host's voice to that caller only; ``promote`` puts them on air."""

from __future__ import annotations

import asyncio
import time

from tests.clients import RoomClient, ToneFrames
from tests.helpers import close_all, on_air, wait_for


def voice_packets(client: RoomClient, speaker: RoomClient) -> int:
    """How many of ``speaker``'s voice packets ``client`` got (0 if it never had their track)."""
    mids = {t["mid"] for offer in client.messages["offer"] for t in offer["tracks"]
            if t.get("participant_id") == speaker.participant_id}
    return sum(len(client.payloads.get(mid, [])) for mid in mids)


def hears(client: RoomClient, speaker: RoomClient) -> bool:
    return any(t.get("participant_id") == speaker.participant_id for t in client.tracks)


async def test_a_screened_caller_is_heard_by_the_staff_only_until_put_on_air(
    base_url: str, room: dict
) -> None:
    host, _ = await on_air(base_url, room)
    mod = await RoomClient(base_url, room["room_id"], "Mo").connect()
    caller = await RoomClient(base_url, room["room_id"], "Cal").connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    try:
        made = await host.request({"type": "make_moderator", "participant_id": mod.participant_id})
        assert made["type"] == "ack"
        refused = await listener.request({"type": "screen", "participant_id": caller.participant_id})
        assert refused["code"] == "forbidden", refused  # a listener may not screen anyone
        early = await caller.request({"type": "offer", "pc": "pub", "sdp": "v=0"})
        assert early["code"] == "forbidden", early  # not screened yet: no mic

        screen = {"type": "screen", "participant_id": caller.participant_id}
        assert (await mod.request(screen))["type"] == "ack"
        told = caller.messages["participant_updated"]
        await wait_for(lambda: any(m["participant"]["screening"] for m in told
                                   if m["participant"]["participant_id"] == caller.participant_id))
        await caller.publish(ToneFrames(2000.0))  # raw frames: aiortc adds the audio level
        await wait_for(lambda: voice_packets(host, caller) > 25 and voice_packets(mod, caller) > 25,
                       10, what="the host and the moderator hear the screened caller")
        await asyncio.sleep(1.5)
        assert not hears(listener, caller), "the audience was offered the caller's voice"
        assert voice_packets(listener, caller) == 0, "the audience heard the caller"
        assert any(caller.participant_id in m["levels"] for m in host.messages["levels"]), "no level meter"
        leaked = [m for m in listener.messages["levels"] if caller.participant_id in m["levels"]]
        assert not leaked, "a listener was told the screened caller's level"

        promoted = time.monotonic()
        promote = {"type": "promote", "participant_id": caller.participant_id}
        assert (await host.request(promote))["type"] == "ack"
        took = await wait_for(lambda: voice_packets(listener, caller) > 0, 5, step=0.01,
                              what="the listener hears the caller on air")
        print(f"\ncaller on air for the audience {took * 1000:.0f} ms after promote "
              f"({(time.monotonic() - promoted) * 1000:.0f} ms with the ack)")
        assert took < 0.5, f"{took:.2f} s"
    finally:
        await close_all(host, mod, caller, listener)


async def test_talkback_reaches_the_screened_caller_and_not_the_air(base_url: str, room: dict) -> None:
    host, _ = await on_air(base_url, room)
    caller = await RoomClient(base_url, room["room_id"], "Cal").connect()
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    try:
        await wait_for(lambda: voice_packets(listener, host) > 25, 10, what="the listener hears the host")
        talk = {"type": "talkback", "participant_id": caller.participant_id, "on": True}
        refused = await host.request(talk)
        assert refused["code"] == "conflict", refused  # talkback is to a screened caller
        screen = {"type": "screen", "participant_id": caller.participant_id}
        assert (await host.request(screen))["type"] == "ack"
        assert (await host.request({"type": "talkback", "participant_id": caller.participant_id,
                                    "on": True}))["type"] == "ack"
        await wait_for(lambda: not hears(listener, host), 5, what="the host's voice leaves the air")
        before = voice_packets(listener, host)
        got = voice_packets(caller, host)
        await asyncio.sleep(1.5)
        assert voice_packets(listener, host) == before, "talkback reached a listener"
        assert voice_packets(caller, host) > got + 25, "the screened caller does not hear the host"

        assert (await host.request({"type": "talkback", "participant_id": caller.participant_id,
                                    "on": False}))["type"] == "ack"
        await wait_for(lambda: hears(listener, host), 5, what="the host back on air")
        await wait_for(lambda: voice_packets(listener, host) > before + 25, 5)
    finally:
        await close_all(host, caller, listener)
