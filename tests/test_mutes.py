"""Mutes that hold: a mic closed by the host or a moderator is opened only by one of them, a mic its
owner closed only by its owner, and a new moderator's mic starts closed."""

from __future__ import annotations

import asyncio

from tests.clients import EncodedToneTrack, RoomClient
from tests.helpers import close_all, host_and, wait_for


async def on_stage(host: RoomClient, caller: RoomClient) -> None:
    assert (await caller.request({"type": "raise_hand"}))["type"] == "ack"
    assert (await host.request({"type": "promote", "participant_id": caller.participant_id}))["type"] == "ack"
    await caller.next("role_changed")


def told_about(client: RoomClient, who: RoomClient) -> list[dict]:
    """What ``client`` was told of ``who`` in ``participant_updated`` messages, oldest first."""
    return [m["participant"] for m in client.messages["participant_updated"]
            if m["participant"]["participant_id"] == who.participant_id]


def mute(target: RoomClient, muted: bool) -> dict:
    return {"type": "mute", "participant_id": target.participant_id, "muted": muted}


async def test_a_speaker_muted_by_the_host_cannot_unmute_themself(base_url: str, room: dict) -> None:
    host, (speaker,) = await host_and(base_url, room, "Sam")
    try:
        await on_stage(host, speaker)
        assert (await host.request(mute(speaker, True)))["type"] == "ack"
        refused = await speaker.request(mute(speaker, False))
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
        assert "host" in refused["message"]
        await wait_for(lambda: told_about(host, speaker)[-1]["muted"])
        assert told_about(host, speaker)[-1]["muted_by"] == "moderator"
        assert (await host.request(mute(speaker, False)))["type"] == "ack"
        assert (await speaker.request(mute(speaker, True)))["type"] == "ack"  # closing is always allowed
    finally:
        await close_all(host, speaker)


async def test_a_mic_its_owner_closed_is_not_opened_by_the_host(base_url: str, room: dict) -> None:
    host, (speaker,) = await host_and(base_url, room, "Sam")
    try:
        await on_stage(host, speaker)
        assert (await speaker.request(mute(speaker, True)))["type"] == "ack"
        refused = await host.request(mute(speaker, False))
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
        assert (await speaker.request(mute(speaker, False)))["type"] == "ack"
    finally:
        await close_all(host, speaker)


async def test_a_new_moderators_mic_starts_closed(base_url: str, room: dict) -> None:
    host, (mod, listener) = await host_and(base_url, room, "Mo", "Lis")
    try:
        made = await host.request({"type": "make_moderator", "participant_id": mod.participant_id})
        assert made["type"] == "ack"
        assert (await mod.next("role_changed"))["role"] == "moderator"
        await wait_for(lambda: any(p["role"] == "moderator" for p in told_about(mod, mod)))
        latest = told_about(mod, mod)[-1]
        assert latest["muted"] and latest["muted_by"] == "self", latest

        tone = EncodedToneTrack(2000.0)
        await mod.publish(tone)
        await wait_for(lambda: any(t.get("participant_id") == mod.participant_id for t in listener.tracks))
        mid = listener.mid_of("voice", mod.participant_id)
        await asyncio.sleep(1.5)
        assert not listener.payloads.get(mid), "a closed mic reached the audience"

        assert (await mod.request(mute(mod, False)))["type"] == "ack"
        await wait_for(lambda: len(listener.payloads.get(mid, [])) > 10, 5, what="the opened mic heard")
    finally:
        await close_all(host, mod, listener)
