"""One clock, two feeds: listeners hear the host's voice over the music as the host did.

The "echo host" republishes the music it hears, byte for byte, 150 ms after it
arrives (its own buffer, which it reports in ``stats`` as a browser reports
its jitter buffer). A listener then receives every music frame twice: on the
music track and, through the host, on the voice track. The difference of the
two arrival times of the same frame is the offset the listener hears between
the music and the host's voice.
"""

from __future__ import annotations

import asyncio
import fractions
import statistics
import time
from collections import deque

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from tests.clients import RoomClient, observe_packets
from tests.helpers import wait_for

HOLD_MS = 150.0


class EchoTrack(MediaStreamTrack):
    """Sends the Opus frames it is given, each ``HOLD_MS`` after it arrived."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.frames: deque[tuple[float, bytes]] = deque()
        self._arrived = asyncio.Event()
        self._pts = 0

    def push(self, payload: bytes) -> None:
        self.frames.append((time.monotonic() + HOLD_MS / 1000.0, payload))
        self._arrived.set()

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        while not self.frames:
            self._arrived.clear()
            await self._arrived.wait()
        due, payload = self.frames.popleft()
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        packet = av.Packet(payload)
        packet.pts = self._pts
        packet.time_base = fractions.Fraction(1, 48_000)
        self._pts += 960
        return packet


def record_arrivals(client: RoomClient) -> dict[str, dict[bytes, float]]:
    """Arrival time of every payload, by mid, on ``client``'s sub connection."""
    arrivals: dict[str, dict[bytes, float]] = {}
    assert client.sub is not None
    for transceiver in client.sub.getTransceivers():
        seen = arrivals.setdefault(transceiver.mid, {})
        observe_packets(
            transceiver.receiver,
            lambda packet, seen=seen: seen.setdefault(bytes(packet.payload), time.monotonic()),
        )
    return arrivals


def offset_ms(arrivals: dict[str, dict[bytes, float]], music: str, voice: str) -> float:
    """Median (voice arrival - music arrival) over frames received on both tracks."""
    both = [
        (t_voice - arrivals[music][payload]) * 1000.0
        for payload, t_voice in arrivals[voice].items()
        if payload in arrivals[music]
    ]
    assert len(both) > 50, f"only {len(both)} frames came back through the voice"
    return statistics.median(both)


async def echo_host(base_url: str, room: dict) -> RoomClient:
    host = await RoomClient(base_url, room["room_id"], "Echo", token=room["host_token"]).connect()
    await wait_for(lambda: host.sub is not None and host.tracks)
    echo = EchoTrack()
    music_mid = host.mid_of("music")
    for transceiver in host.sub.getTransceivers():
        if transceiver.mid == music_mid:
            observe_packets(transceiver.receiver, lambda packet: echo.push(bytes(packet.payload)))
    await host.publish(echo)
    stats = {"jitter_buffer_ms": HOLD_MS, "output_latency_ms": 0, "input_latency_ms": 0}
    await host.request({"type": "stats", **stats})
    return host


async def listener_offset(base_url: str, room: dict, name: str, token: str | None = None) -> float:
    client = await RoomClient(base_url, room["room_id"], name, token=token).connect()
    await wait_for(lambda: any(t["kind"] == "voice" for t in client.tracks) and client.sub is not None)
    await wait_for(lambda: client.sub.connectionState == "connected")
    arrivals = record_arrivals(client)
    await asyncio.sleep(3.0)
    result = offset_ms(arrivals, client.mid_of("music"), client.mid_of("voice"))
    await client.close()
    return result


async def test_listeners_hear_voice_and_music_as_the_host_did(base_url: str, room: dict) -> None:
    host = await echo_host(base_url, room)
    await asyncio.sleep(2.5)  # the audience delay is set within a second of the stats
    first = await listener_offset(base_url, room, "First")
    second = await listener_offset(base_url, room, "Later")
    # On the live feed (a stage member) the voice comes back a whole loop late.
    moderator = await RoomClient(base_url, room["room_id"], "Mod").connect()
    await host.request({"type": "make_moderator", "participant_id": moderator.participant_id})
    await wait_for(lambda: any(t["kind"] == "voice" for t in moderator.tracks) and moderator.sub)
    await asyncio.sleep(1.0)
    arrivals = record_arrivals(moderator)
    await asyncio.sleep(3.0)
    live = offset_ms(arrivals, moderator.mid_of("music"), moderator.mid_of("voice"))
    print(
        f"\nvoice - music offset: audience feed {first:.1f} ms and {second:.1f} ms "
        f"(joined later); live feed {live:.1f} ms"
    )
    assert abs(first) < 30
    assert abs(second) < 30
    assert live > HOLD_MS - 10
    await asyncio.gather(host.close(), moderator.close())
