"""The aiortc seams the SFU stands on, pinned on a bare pair of aiortc peers (no server)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time

from aioice import stun
from aiortc import RTCConfiguration, RTCDtlsTransport, RTCPeerConnection, RTCRtpSender

from sfu import aiortc_seams
from sfu.ice import gather_on
from tests.clients import EncodedToneTrack
from tests.helpers import wait_for


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


def bad_stun(ufrag: str, n: int) -> bytes:
    """A binding request that names the agent's real ufrag and signs with the wrong password."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["USERNAME"] = f"{ufrag}:stranger{n}"
    request.attributes["PRIORITY"] = 1
    request.attributes["ICE-CONTROLLING"] = n
    request.add_message_integrity(b"not the password")
    request.add_fingerprint()
    return bytes(request)


async def answers_to_stranger(port: int, ufrag: str, count: int, source: str = "127.0.0.2") -> int:
    """Send ``count`` such requests from ``source``; how many datagrams came back within 0.5 s."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.bind((source, 0))
        stranger.setblocking(False)
        for n in range(count):
            stranger.sendto(bad_stun(ufrag, n), ("127.0.0.1", port))
        await asyncio.sleep(0.5)
        answered = 0
        with contextlib.suppress(BlockingIOError):
            while stranger.recv(2048):
                answered += 1
    return answered


def ice_of(dtls: RTCDtlsTransport) -> tuple[int, str]:
    """The local port and ufrag of a DTLS transport's ICE connection."""
    connection = dtls.transport._connection
    return connection._protocols[0].transport.get_extra_info("sockname")[1], connection.local_username


async def test_once_connected_nothing_of_a_strangers_reaches_ice() -> None:
    track = EncodedToneTrack(1000.0)
    sender, receiver = await connected_pair(track)
    tapped = tap_payloads(receiver)
    await negotiate(sender, receiver)
    guarded = receiver.getTransceivers()[0].receiver.transport
    aiortc_seams.guard_ice_connection(guarded)
    await wait_for(lambda: len(tapped) >= 10)
    # the unguarded side answers a stranger's bad STUN (401) ...
    assert await answers_to_stranger(*ice_of(sender.getTransceivers()[0].sender.transport), 5) == 5
    # ... the guarded side never lets it reach aioice
    assert await answers_to_stranger(*ice_of(guarded), 300) == 0
    before = len(tapped)
    await asyncio.sleep(0.5)
    assert len(tapped) - before > 15 and receiver.connectionState == "connected"
    await asyncio.gather(sender.close(), receiver.close())


async def test_before_connecting_a_strangers_stun_reaches_ice_only_within_a_budget() -> None:
    gather_on(["127.0.0.1"])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio", direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    dtls = pc.getTransceivers()[0].sender.transport
    aiortc_seams.guard_ice_connection(dtls)
    answered = await answers_to_stranger(*ice_of(dtls), 2_000)
    # some get through (a peer-reflexive candidate must be learnt), a flood does not
    assert 0 < answered <= aiortc_seams.STRANGER_STUN_BURST + aiortc_seams.STRANGER_STUN_RATE, answered
    connection = dtls.transport._connection
    for _ in range(2_000):
        connection.data_received(b"\x17junk", 1)
    assert connection._queue.qsize() == aiortc_seams.QUEUE_LIMIT
    await pc.close()


async def test_dropping_a_strangers_datagram_costs_about_a_microsecond() -> None:
    track = EncodedToneTrack(1000.0)
    sender, receiver = await connected_pair(track)
    await negotiate(sender, receiver)
    guarded = receiver.getTransceivers()[0].receiver.transport
    aiortc_seams.guard_ice_connection(guarded)
    await wait_for(lambda: receiver.connectionState == "connected")
    received = guarded.transport._connection._protocols[0].datagram_received
    junk = [b"", bad_stun("x", 1), b"\x80" + bytes(100), b"\x17" + bytes(100)]
    start = time.perf_counter()
    for n in range(40_000):
        received(junk[n % 4], ("127.0.0.2", 40_000 + n % 7))
    per_datagram_us = (time.perf_counter() - start) / 40_000 * 1e6
    print(f"guard: {per_datagram_us:.2f} us per dropped datagram")
    assert per_datagram_us < 5.0
    await asyncio.gather(sender.close(), receiver.close())
