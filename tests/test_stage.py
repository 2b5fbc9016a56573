"""The stage with real aiortc peers: call-ins heard by all, demotion silences at once."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from aiohttp.test_utils import TestServer
from aiortc import RTCConfiguration, RTCPeerConnection

from signaling.keys import REGISTRY
from tests.clients import EncodedToneTrack, RoomClient, band_level
from tests.helpers import on_air, wait_for


async def bring_on_stage(host: RoomClient, caller: RoomClient, freq: float) -> EncodedToneTrack:
    await caller.request({"type": "raise_hand"})
    reply = await host.request({"type": "promote", "participant_id": caller.participant_id})
    assert reply["type"] == "ack", reply
    assert (await caller.next("role_changed"))["role"] == "speaker"
    track = EncodedToneTrack(freq)
    await caller.publish(track)
    return track


def hears(listener: RoomClient, speaker_id: str, freq: float, seconds: float = 0.5) -> bool:
    try:
        mid = listener.mid_of("voice", speaker_id)
    except KeyError:
        return False
    audio = listener.recent_audio(mid, seconds)
    return len(audio) >= int(48_000 * seconds) and band_level(audio, freq) > 0.5


async def test_a_caller_raises_a_hand_is_promoted_and_everyone_hears_them(
    base_url: str, room: dict
) -> None:
    host, _ = await on_air(base_url, room, freq=1000.0)
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    caller = await RoomClient(base_url, room["room_id"], "Caller").connect()
    await caller.request({"type": "raise_hand"})
    update = await host.next("participant_updated")
    assert update["participant"]["hand_raised"] is True
    await bring_on_stage(host, caller, 1500.0)
    await wait_for(lambda: hears(listener, caller.participant_id, 1500.0), timeout=10)
    await wait_for(lambda: hears(host, caller.participant_id, 1500.0), timeout=10)
    assert hears(listener, host.participant_id, 1000.0)
    await asyncio.gather(host.close(), listener.close(), caller.close())


@pytest.mark.parametrize(
    "action",
    [
        {"type": "demote"},
        {"type": "mute", "muted": True},
        {"type": "kick", "ban": False},
        {"type": "kick", "ban": True},
    ],
    ids=["demote", "mute", "kick", "ban"],
)
async def test_the_speaker_is_gone_within_500_ms(base_url: str, room: dict, action: dict) -> None:
    host, _ = await on_air(base_url, room)
    listeners = [await RoomClient(base_url, room["room_id"], f"L{i}").connect() for i in range(2)]
    caller = await RoomClient(base_url, room["room_id"], "Caller").connect()
    await bring_on_stage(host, caller, 2000.0)
    for listener in listeners:
        await wait_for(lambda lis=listener: hears(lis, caller.participant_id, 2000.0), timeout=10)
    mids = [lis.mid_of("voice", caller.participant_id) for lis in listeners]
    counts = [len(lis.payloads[mid]) for lis, mid in zip(listeners, mids, strict=True)]
    demoted_at = time.monotonic()
    reply = await host.request({**action, "participant_id": caller.participant_id})
    assert reply["type"] == "ack"
    await asyncio.sleep(0.5)
    settled = [len(lis.payloads[mid]) for lis, mid in zip(listeners, mids, strict=True)]
    await asyncio.sleep(1.0)
    for before, at_500ms, lis, mid in zip(counts, settled, listeners, mids, strict=True):
        assert len(lis.payloads[mid]) == at_500ms, "packets still forwarded 500 ms after demotion"
        assert at_500ms - before < 25  # at most the packets in flight
    if action["type"] == "demote":
        assert (await caller.next("role_changed"))["role"] == "listener"
    assert time.monotonic() - demoted_at < 5
    await asyncio.gather(host.close(), caller.close(), *(lis.close() for lis in listeners))


async def test_eight_speakers_are_all_heard(base_url: str, room: dict) -> None:
    freqs = [500.0, 700.0, 900.0, 1100.0, 1300.0, 1700.0, 2100.0, 2500.0]
    host, _ = await on_air(base_url, room, freq=freqs[0])
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    speakers = {host.participant_id: freqs[0]}
    callers = []
    for freq in freqs[1:]:
        caller = await RoomClient(base_url, room["room_id"], f"S{freq:.0f}").connect()
        await bring_on_stage(host, caller, freq)
        speakers[caller.participant_id] = freq
        callers.append(caller)
    await wait_for(
        lambda: all(hears(listener, pid, f, 0.5) for pid, f in speakers.items()), timeout=20
    )
    music = listener.mid_of("music")
    assert np.sqrt(np.mean(listener.recent_audio(music, 1.0) ** 2)) > 0.01
    await asyncio.gather(host.close(), listener.close(), *(c.close() for c in callers))


async def test_stage_changes_renegotiate_without_a_gap(base_url: str, room: dict) -> None:
    """Each stage change renegotiates the listener's sub; the tracks already playing lose at
    most one 20 ms frame each over it (a gap in sending shows as a gap in sequence numbers:
    the SFU only renumbers a consumer when it moves to another producer)."""
    host, _ = await on_air(base_url, room)
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    await wait_for(lambda: hears(listener, host.participant_id, 1000.0), timeout=10)
    playing = [listener.mid_of("music"), listener.mid_of("voice", host.participant_id)]
    callers: list[RoomClient] = []
    report = []

    async def step(change) -> None:  # type: ignore[no-untyped-def]
        offers = len(listener.messages["offer"])
        lost = {mid: listener.lost_frames(mid) for mid in playing}
        await change()
        await wait_for(lambda: len(listener.messages["offer"]) > offers, timeout=10)
        await asyncio.sleep(1.0)
        losses = {mid: listener.lost_frames(mid) - lost[mid] for mid in playing}
        report.append(losses)
        assert all(n <= 1 for n in losses.values()), f"frames lost over one renegotiation: {losses}"

    for i, freq in enumerate((1500.0, 2500.0, 3000.0)):
        caller = await RoomClient(base_url, room["room_id"], f"C{i}").connect()
        callers.append(caller)
        await step(lambda c=caller, f=freq: bring_on_stage(host, c, f))
        assert hears(listener, caller.participant_id, freq)
    await step(lambda: host.request({"type": "demote", "participant_id": callers[0].participant_id}))
    print(f"\nframes lost per renegotiation on the tracks already playing: {report}")
    await asyncio.gather(host.close(), listener.close(), *(c.close() for c in callers))


async def test_a_listener_sending_media_anyway_is_heard_by_nobody(
    base_url: str, room: dict, server: TestServer
) -> None:
    host, _ = await on_air(base_url, room)
    other = await RoomClient(base_url, room["room_id"], "Other").connect()
    sneaky = await RoomClient(base_url, room["room_id"], "Sneaky").connect()
    await wait_for(lambda: sneaky.sub is not None and sneaky.sub.connectionState == "connected")
    # 1. a pub offer from a listener is refused before any connection exists
    track = EncodedToneTrack(3000.0)
    pub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pub.addTransceiver(track, direction="sendonly")
    await pub.setLocalDescription(await pub.createOffer())
    reply = await sneaky.request({"type": "offer", "pc": "pub", "sdp": pub.localDescription.sdp})
    assert reply["code"] == "forbidden"
    # 2. a sub answer rewritten to sendrecv does not make the server receive anything
    live_room = server.app[REGISTRY].get(room["room_id"])
    peer = live_room.router.subscribers[sneaky.participant_id]
    sneaky.sub.addTrack(EncodedToneTrack(3500.0))
    sneaky.answer_munger = lambda sdp: sdp.replace("a=recvonly", "a=sendrecv")
    offers = len(sneaky.messages["offer"])
    await bring_on_stage(host, other, 2000.0)  # the stage changes: sneaky's sub is offered again
    await wait_for(lambda: len(sneaky.messages["offer"]) > offers, timeout=10)
    refused = await sneaky.next("error", timeout=10)
    assert refused["code"] == "bad_request"
    for transceiver in peer.pc.getTransceivers():
        assert transceiver.currentDirection in ("sendonly", "inactive", None)
    assert live_room.router.publishers.keys() <= {host.participant_id, other.participant_id}
    voices = {t["participant_id"] for t in host.tracks if t["kind"] == "voice"}
    assert voices == {other.participant_id}, "only the promoted speaker reaches the host"
    for mid, _chunks in host.audio.items():
        assert band_level(host.recent_audio(mid, 1.0), 3500.0) < 0.05
    await asyncio.gather(pub.close(), host.close(), other.close(), sneaky.close())
