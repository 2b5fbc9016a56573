"""The ``sub`` connection of one participant: what the server sends them."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.exceptions import InvalidStateError
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_seams
from .consumer import Consumer
from .ice import rtc_configuration
from .producer import Producer
from .rtp import report_blocks
from .sdp import add_opus_fmtp, check_answer

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Slot:
    """One m-line of the ``sub`` connection, carrying one producer or nothing."""

    transceiver: RTCRtpTransceiver
    consumer: Consumer | None = None
    producer: Producer | None = None
    negotiated: set[str] = field(default_factory=set)

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid


class SubscriberPeer(AsyncIOEventEmitter):
    """The server-offered connection carrying music and stage voices to one participant.

    ``reconcile(producers)`` is the one idempotent entry point: it makes the
    m-lines carry exactly those producers (reusing inactive m-lines) and
    offers again if anything changed, only after the previous answer came
    back. Events: ``offer`` (sdp, tracks).
    """

    def __init__(self, owner: str, ice_servers: list[str]) -> None:
        super().__init__()
        self.owner = owner
        self.pc = RTCPeerConnection(rtc_configuration(ice_servers))
        self.slots: list[Slot] = []
        self._awaiting_answer = False
        self._dirty = False
        self._closed = False
        self._negotiated_state: list[tuple[str | None, str | None]] = []
        self._guarded = False
        self.live = False  # stage members hear the live feed, listeners the audience feed
        self.sr_slot = 0  # which of the router's ticks sends our RTCP sender reports
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def consumers(self) -> list[Consumer]:
        return [s.consumer for s in self.slots if s.consumer is not None]

    def _on_state(self) -> None:
        # asyncio's sendto on a dead socket logs rather than raises: stop at once. The
        # client rejoins with its resume token, which builds a new connection.
        if self.pc.connectionState in ("failed", "closed"):
            self._stop_sending()

    def _stop_sending(self) -> None:
        for slot in self.slots:
            if slot.consumer is not None:
                if slot.producer is not None:
                    slot.producer.remove_consumer(slot.consumer)
                slot.consumer.close()

    async def reconcile(self, producers: list[Producer]) -> None:
        if self._closed:
            return
        wanted = [p for p in producers if not p.closed]
        for slot in self.slots:
            if slot.producer is not None and slot.producer not in wanted:
                self._detach(slot)
        carried = {s.producer for s in self.slots}
        for producer in wanted:
            if producer not in carried:
                self._attach(self._free_slot(), producer)
        if self._state() != self._negotiated_state:
            self._dirty = True
            await self._maybe_offer()

    def _state(self) -> list[tuple[str | None, str | None]]:
        return [
            (s.producer.id if s.producer else None, s.transceiver.direction) for s in self.slots
        ]

    def _free_slot(self) -> Slot:
        for slot in self.slots:
            if slot.producer is None and slot.mid is not None:
                return slot
        transceiver = self.pc.addTransceiver("audio", direction="sendonly")
        opus = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.name == "opus"]
        transceiver.setCodecPreferences(opus)
        slot = Slot(transceiver)
        aiortc_seams.intercept_sender(
            transceiver.sender, lambda sender, params: self._sender_ready(slot, sender, params)
        )
        self.slots.append(slot)
        return slot

    def set_live(self, live: bool) -> None:
        """Move every consumer to the live or the audience feed (the music jumps by D)."""
        self.live = live
        for slot in self.slots:
            if slot.producer is not None and slot.consumer is not None:
                slot.producer.add_consumer(slot.consumer, live=live)

    def _attach(self, slot: Slot, producer: Producer) -> None:
        slot.producer = producer
        slot.transceiver.direction = "sendonly"
        if slot.consumer is not None:
            producer.add_consumer(slot.consumer, live=self.live)

    def _detach(self, slot: Slot) -> None:
        if slot.producer is not None and slot.consumer is not None:
            slot.producer.remove_consumer(slot.consumer)
        slot.producer = None
        slot.transceiver.direction = "inactive"

    def _sender_ready(self, slot: Slot, sender: RTCRtpSender, params: RTCRtpSendParameters) -> None:
        wire = aiortc_seams.wire_of(sender.transport)
        if wire is None:
            log.warning("sub %s: sender ready without a wire", self.owner)
            return
        payload_type = params.codecs[0].payloadType
        assert payload_type is not None  # our own offer always numbers its codecs
        consumer = Consumer(sender._ssrc, payload_type, wire, params.rtcp.cname or "")
        slot.consumer = consumer
        aiortc_seams.on_sender_rtcp(sender, lambda packet: _rtcp_to(consumer, packet))
        if slot.producer is not None:
            slot.producer.add_consumer(consumer, live=self.live)

    async def _maybe_offer(self) -> None:
        if self._awaiting_answer or not self._dirty or self._closed:
            return
        self._dirty = False
        self._awaiting_answer = True
        state = self._state()
        try:
            await self.pc.setLocalDescription(await self.pc.createOffer())
        except InvalidStateError:
            if self._closed:
                return  # closed while we were offering
            raise
        if self._closed:
            return
        if not self._guarded:
            aiortc_seams.guard_ice_connection(self.slots[0].transceiver.sender.transport, self._on_rtcp)
            self._guarded = True
        self._negotiated_state = state
        music = {s.mid for s in self.slots if s.producer and s.producer.kind == "music"}
        sdp = add_opus_fmtp(self.pc.localDescription.sdp, {m for m in music if m})
        tracks = [
            {"mid": s.mid, "kind": s.producer.kind, "owner": s.producer.owner}
            for s in self.slots
            if s.producer is not None
        ]
        self.emit("offer", sdp, tracks)

    def _on_rtcp(self, packet: bytes) -> None:
        """Receiver reports about our consumers (the listener's RTT), straight from the socket."""
        for ssrc, lsr, dlsr in report_blocks(packet):
            for slot in self.slots:
                if slot.consumer is not None and slot.consumer.ssrc == ssrc:
                    slot.consumer.receiver_report(lsr, dlsr)

    async def handle_answer(self, sdp: str) -> None:
        """Apply the client's answer; raises ValueError (SdpError) if it is unusable."""
        if not self._awaiting_answer:
            raise ValueError("no offer is waiting for an answer")
        check_answer(sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self._awaiting_answer = False
        await self._maybe_offer()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_sending()
        try:
            await self.pc.close()
        finally:
            drop_transport_listeners(self.pc)
            self.slots.clear()
            self.remove_all_listeners()


def drop_transport_listeners(pc: RTCPeerConnection) -> None:
    """After ``pc.close()``: remove the event handlers left on its DTLS and ICE transports.

    aiortc removes the connection's own listeners when it closes, not the ones
    the connection put on its transports (its bound methods): each is a
    reference cycle that leaves the closed connection to the cyclic GC.
    """
    for transceiver in pc.getTransceivers():
        dtls = transceiver.sender.transport
        ice = dtls.transport
        for emitter in (dtls, ice, ice.iceGatherer):
            emitter.remove_all_listeners()


def _rtcp_to(consumer: Consumer, packet: object) -> None:
    for report in getattr(packet, "reports", ()):
        if report.ssrc == consumer.ssrc:
            consumer.receiver_report(report.lsr, report.dlsr, report.fraction_lost)


__all__ = ["SubscriberPeer", "Slot", "drop_transport_listeners"]
