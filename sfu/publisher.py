"""The ``pub`` connection of a stage member: their voice, tapped as RTP packets."""

from __future__ import annotations

import logging

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from . import aiortc_seams
from .clock import server_ms
from .ice import rtc_configuration
from .producer import Counters, Producer
from .sdp import check_publish_offer
from .subscriber import drop_transport_listeners

log = logging.getLogger(__name__)


class PublisherPeer:
    """Answers a stage member's offer and turns their audio into a voice ``Producer``.

    Packets are never decoded: each decrypted RTP packet is handed to the
    producer's fan-out as it arrives. The RFC 6464 audio level (when the client
    sends the extension) is kept on the producer for ``levels``.
    """

    def __init__(self, owner: str, ice_servers: list[str], counters: Counters) -> None:
        self.owner = owner
        self.producer = Producer("voice", owner, counters)
        self._counters = counters
        self._closed = False
        self._guarded = False
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self.pc.on("track", self._on_track)

    def _on_track(self, track: object) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                aiortc_seams.tap_receiver(transceiver.receiver, self._on_packet)

    def _on_packet(self, packet: RtpPacket, arrival_ms: int) -> None:
        self._counters.received_packets += 1
        level = packet.extensions.audio_level
        if level is not None:
            self.producer.audio_level = level[1]
            self.producer.audio_level_at = server_ms()
        self.producer.forward(
            packet.payload, packet.timestamp, packet.sequence_number, bool(packet.marker)
        )

    async def handle_offer(self, sdp: str) -> str:
        """Answer the client's offer (first or renegotiation); raises SdpError if refused."""
        check_publish_offer(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in self.pc.getTransceivers():
            transceiver.direction = "recvonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        if not self._guarded:
            aiortc_seams.guard_ice_connection(self.pc.getTransceivers()[0].receiver.transport)
            self._guarded = True
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.producer.close()
        try:
            await self.pc.close()
        finally:
            drop_transport_listeners(self.pc)
