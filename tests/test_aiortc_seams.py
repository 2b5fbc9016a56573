"""The aiortc seams the SFU stands on, pinned on a bare pair of aiortc peers (no server)."""

from __future__ import annotations

import asyncio
import socket
import struct

from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender

from sfu import aiortc_seams
from sfu.ice import gather_on
from tests.clients import EncodedToneTrack
from tests.test_live_show import wait_for


async def connected_pair(track: EncodedToneTrack | None) -> tuple[RTCPeerConnection, RTCPeerConnection]:
    gather_on(["127.0.0.1"])
    sender, receiver = (RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2))
    transceiver = sender.addTransceiver(track or "audio", direction="sendonly")
    opus = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.name == "opus"]
    transceiver.setCodecPreferences(opus)
    return sender, receiver


def tap_payloads(receiver: RTCPeerConnection) -> list[bytes]:
    """Tap the receiving side's track when it appears; the payloads it gets, in order."""
    payloads: list[bytes] = []

    def on_track(_track: object) -> None:
        for t in receiver.getTransceivers():
            aiortc_seams.tap_receiver(t.receiver, lambda packet, _ms: payloads.append(bytes(packet.payload)))

    receiver.on("track", on_track)
    return payloads


async def negotiate(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)


async def test_a_tapped_receiver_hands_over_the_exact_payloads_undecoded() -> None:
    track = EncodedToneTrack(1000.0)
    sender, receiver = await connected_pair(track)
    tapped = tap_payloads(receiver)
    await negotiate(sender, receiver)
    await wait_for(lambda: len(tapped) >= 50)
    assert tapped[:40] == track.sent[: len(tapped[:40])]
    await asyncio.gather(sender.close(), receiver.close())


async def test_an_intercepted_sender_gives_a_wire_that_delivers_our_own_packets() -> None:
    sender, receiver = await connected_pair(None)
    ready: list[tuple[int, int]] = []
    sent_by = sender.getTransceivers()[0].sender
    aiortc_seams.intercept_sender(
        sent_by, lambda s, params: ready.append((s._ssrc, params.codecs[0].payloadType))
    )
    received = tap_payloads(receiver)
    await negotiate(sender, receiver)
    await wait_for(lambda: ready)
    assert len(ready) == 1, "on_ready runs once"
    ssrc, payload_type = ready[0]
    wire = aiortc_seams.wire_of(sent_by.transport)
    assert wire is not None
    for seq in range(20):
        header = struct.pack("!BBHII", 0x80, payload_type, seq, seq * 960, ssrc)
        wire.sendto(wire.protect(header + bytes([seq]) * 40), wire.addr)
        await asyncio.sleep(0.005)
    await wait_for(lambda: len(received) >= 20)
    assert received == [bytes([seq]) * 40 for seq in range(20)]
    await asyncio.gather(sender.close(), receiver.close())


async def test_the_guard_drops_empty_and_stray_datagrams() -> None:
    track = EncodedToneTrack(1000.0)
    sender, receiver = await connected_pair(track)
    tapped = tap_payloads(receiver)
    await negotiate(sender, receiver)
    dtls = receiver.getTransceivers()[0].receiver.transport
    aiortc_seams.guard_ice_connection(dtls)
    await wait_for(lambda: len(tapped) >= 10)
    port = dtls.transport._connection._nominated[1].protocol.transport.get_extra_info("sockname")[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray:
        for data in (b"", b"", b"\x80stray rtp", b"\x17stray dtls"):
            stray.sendto(data, ("127.0.0.1", port))
    before = len(tapped)
    await asyncio.sleep(1.0)
    assert len(tapped) - before > 30 and receiver.connectionState == "connected"
    await asyncio.gather(sender.close(), receiver.close())
