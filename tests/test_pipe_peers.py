"""The pipe between real peers: an aiortc host publishing to "worker A", heard by an aiortc
listener of "worker B", the voice crossing from A (127.0.0.1) to B (127.0.0.2) over the pipe.

Both workers live in this process (the SFU's own PublisherPeer, Producer and
SubscriberPeer, no signaling), which is what the pipe joins: a producer on
one side, a producer fanning out on the other.
"""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from sfu.ice import gather_on
from sfu.pipe import PipeEndpoint
from sfu.pipe_wire import new_key
from sfu.producer import Counters, Producer
from sfu.publisher import PublisherPeer
from sfu.subscriber import SubscriberPeer
from tests.clients import EncodedToneTrack, observe_packets
from tests.helpers import wait_for


async def listen(subscriber: SubscriberPeer, producer: Producer) -> tuple[RTCPeerConnection, list[bytes]]:
    """An aiortc listener answering B's offer for ``producer``; the payloads it receives."""
    offers: list[str] = []
    subscriber.on("offer", lambda sdp, _tracks: offers.append(sdp))
    await subscriber.reconcile([producer])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    payloads: list[bytes] = []

    def on_track(_track: object) -> None:
        for transceiver in pc.getTransceivers():
            observe_packets(transceiver.receiver, lambda packet: payloads.append(bytes(packet.payload)))

    pc.on("track", on_track)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offers[0], type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    await subscriber.handle_answer(pc.localDescription.sdp)
    return pc, payloads


async def publish(publisher: PublisherPeer, track: EncodedToneTrack) -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(track, direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    answer = await publisher.handle_offer(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return pc


def positions_in(sent: list[bytes], received: list[bytes]) -> list[int]:
    """Where each received payload sits in ``sent``, matched in order (fails if one is foreign)."""
    found: list[int] = []
    j = 0
    for payload in received:
        while j < len(sent) and sent[j] != payload:
            j += 1
        assert j < len(sent), "a payload the host never sent, or out of order"
        found.append(j)
        j += 1
    return found


async def test_a_host_on_worker_a_is_heard_byte_identical_by_a_listener_on_worker_b() -> None:
    gather_on(["127.0.0.1"])
    key = new_key()
    worker_a, worker_b = PipeEndpoint(key), PipeEndpoint(key)
    await worker_a.start("127.0.0.1", 0)
    await worker_b.start("127.0.0.2", 0)
    counters = Counters()
    publisher = PublisherPeer("host", [], counters)  # on A
    relayed = Producer("voice", "host", counters)  # on B: the host's voice, received over the pipe
    stream_id = worker_b.new_stream_id()
    worker_b.bind(stream_id, relayed, remote=worker_a.address)
    worker_a.add_sink(publisher.producer, worker_b.address, stream_id)
    subscriber = SubscriberPeer("listener", [])  # on B
    listener_pc, heard = await listen(subscriber, relayed)
    track = EncodedToneTrack(880.0)
    host_pc = await publish(publisher, track)

    await wait_for(lambda: len(heard) >= 150, timeout=20.0)

    at = positions_in(track.sent, heard)
    span = at[-1] - at[0] + 1
    assert len(heard) / span >= 0.95, f"{span - len(heard)} of {span} frames lost"
    stream = worker_b.streams[stream_id]
    assert stream.dropped_auth == stream.dropped_replay == stream.lost == 0
    assert worker_a.counters.sent >= len(heard)
    await asyncio.gather(host_pc.close(), listener_pc.close(), publisher.close(), subscriber.close())
    await asyncio.gather(worker_a.close(), worker_b.close())
