"""The private seams of aiortc the SFU relies on, wrapped in one place.

aiortc is pinned to a minor version in pyproject.toml because of this module;
``tests/test_aiortc_seams.py`` pins each seam down on a bare pair of aiortc
peers, so an upgrade that moves one fails loudly.

- ``tap_receiver``: every decrypted RTP packet of a receiver goes to a
  callback instead of aiortc's jitter buffer and decoder (voice is forwarded,
  never decoded), while RTCP receiver reports keep flowing.
- ``intercept_sender``: aiortc calls ``RTCRtpSender.send(parameters)`` once the
  DTLS transport is up; we take the negotiated parameters instead of letting
  aiortc start its per-sender RTP and RTCP tasks, and register the sender with
  the transport so RTCP from the remote still routes to it.
- ``wire_of``: the SRTP session and the nominated ICE pair's socket of a DTLS
  transport, for the fan-out loop that sends without any per-packet task;
  its ``protect`` calls libsrtp through pylibsrtp's own cffi binding
  (``fast_protect``: a third less than ``Session.protect``, pinned by
  ``tests/test_fast_protect.py`` against pylibsrtp 1.0).
- ``guard_ice_connection``: drops empty and stray datagrams before aioice
  parses or queues them (an empty one would close the connection): once
  connected, anything not from the nominated remote.
- ``tap_rtp_headers`` (load-test peers): reads each SRTP packet's clear
  header as the datagram arrives and drops it, never decrypting it.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pylibsrtp
from aiortc import RTCDtlsTransport, RTCRtpReceiver, RTCRtpSender, clock
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RtpPacket
from pylibsrtp._binding import ffi, lib

PacketCallback = Callable[[RtpPacket, int], None]


def tap_receiver(receiver: RTCRtpReceiver, on_packet: PacketCallback) -> None:
    """Send every RTP packet ``receiver`` gets to ``on_packet(packet, arrival_ms)``.

    The packet is not decoded. Reception statistics are still fed so that
    aiortc's RTCP receiver reports (loss, jitter) reach the sender.
    """
    codecs: dict[int, Any] = receiver._RTCRtpReceiver__codecs  # type: ignore[attr-defined]  # private, pinned
    streams: dict[int, Any] = receiver._RTCRtpReceiver__remote_streams  # type: ignore[attr-defined]  # private, pinned
    active: dict[int, Any] = receiver._RTCRtpReceiver__active_ssrc  # type: ignore[attr-defined]  # private, pinned

    async def tapped(packet: RtpPacket, arrival_time_ms: int) -> None:
        if not receiver._enabled:
            return
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        active[packet.ssrc] = clock.current_datetime()
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        on_packet(packet, arrival_time_ms)

    receiver._handle_rtp_packet = tapped  # type: ignore[method-assign]  # the seam


SendHook = Callable[[RTCRtpSender, RTCRtpSendParameters], None]


def intercept_sender(sender: RTCRtpSender, on_ready: SendHook) -> None:
    """Replace aiortc's sending machinery of ``sender`` by ``on_ready``.

    ``on_ready(sender, parameters)`` is called once, when the transport is
    connected and the parameters are negotiated. Nothing of aiortc's own RTP or
    RTCP loop runs for this sender afterwards.
    """
    started = False

    async def send(parameters: RTCRtpSendParameters) -> None:
        nonlocal started
        if started:
            return
        started = True
        sender.transport._register_rtp_sender(sender, parameters)
        on_ready(sender, parameters)

    async def stop() -> None:
        if started:
            sender.transport._unregister_rtp_sender(sender)

    sender.send = send  # type: ignore[method-assign]  # the seam
    sender.stop = stop  # type: ignore[method-assign]  # the seam


def on_sender_rtcp(sender: RTCRtpSender, handler: Callable[[Any], None]) -> None:
    """Hand every RTCP packet routed to ``sender`` (receiver reports) to ``handler``."""

    async def handle(packet: Any) -> None:
        handler(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]  # the seam


@dataclass(slots=True)
class Wire:
    """What a fan-out loop needs to put a packet on the wire for one peer."""

    protect: Callable[[bytes], bytes]
    protect_rtcp: Callable[[bytes], bytes]
    sendto: Callable[[bytes, tuple[str, int]], object]
    addr: tuple[str, int]


def wire_of(dtls: RTCDtlsTransport) -> Wire | None:
    """The SRTP session and nominated socket of a connected DTLS transport."""
    srtp = dtls._tx_srtp
    if srtp is None or dtls.state != "connected":
        return None
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return None
    return Wire(
        protect=fast_protect(srtp),
        protect_rtcp=srtp.protect_rtcp,
        sendto=pair.protocol.transport.sendto,
        addr=pair.remote_addr,
    )


_SRTP_MAX_TRAILER = 144  # pylibsrtp's SRTP_MAX_TRAILER_LEN: room left in its buffer for the tag


def fast_protect(session: pylibsrtp.Session) -> Callable[[bytes], bytes]:
    """``session.protect`` without pylibsrtp's per-call checks and allocation.

    The same libsrtp call on the same session state (its buffer, its length
    cell, made once): byte for byte what ``session.protect`` returns, about
    0.4 us sooner per packet. Raises ``pylibsrtp.Error`` as ``protect`` does.
    """
    srtp = session._srtp[0]  # private, pinned
    cdata, buffer = session._cdata, session._buffer  # private, pinned
    length = ffi.new("int *")
    protect, limit = lib.srtp_protect, len(cdata) - _SRTP_MAX_TRAILER

    def fast(data: bytes) -> bytes:
        size = len(data)
        if size > limit:
            raise ValueError("packet is too long")
        length[0] = size
        buffer[0:size] = data
        status = protect(srtp, cdata, length)
        if status:
            raise pylibsrtp.Error(f"srtp_protect failed ({status})")
        return buffer[0 : length[0]]

    return fast


QUEUE_LIMIT = 256  # datagrams waiting for aiortc's DTLS reader (it drains them at once)
STRANGER_STUN_RATE = 50.0  # STUN datagrams a second from unknown addresses, before connecting
STRANGER_STUN_BURST = 100


RtcpHandler = Callable[[bytes], None]


def guard_ice_connection(dtls: RTCDtlsTransport, on_rtcp: RtcpHandler | None = None) -> None:
    """Drop datagrams that would harm the connection or cost us, before aioice parses them.

    aioice queues any datagram that is not STUN, from any address, without
    bound; it parses and answers (HMAC included) any STUN from anyone; and
    aiortc's DTLS reader dies on an empty datagram. Once ICE has nominated a
    pair, only datagrams from that pair's remote address get through. Before,
    STUN from an address ICE does not know yet (a peer-reflexive candidate)
    passes within a small budget, anything else only from a known remote
    candidate. The queue to the DTLS reader is bounded: a flood is dropped,
    not buffered.

    With ``on_rtcp`` (a connection we only send on), SRTCP from the nominated
    remote is decrypted and handed to ``on_rtcp(compound_packet)`` at once,
    instead of going through aioice's queue, aiortc's DTLS reader task, its
    RTCP parser and router (what one receiver report a second per listener
    used to cost).
    """
    connection: Any = dtls.transport._connection  # aioice's Connection, private
    queue: asyncio.Queue = connection._queue

    def data_received(data: bytes, component: int) -> None:
        if queue.qsize() < QUEUE_LIMIT:
            queue.put_nowait((data, component))

    connection.data_received = data_received  # the seam
    gate = _Gate(connection)
    if on_rtcp is not None:
        gate.rtcp = _rtcp_reader(dtls, on_rtcp)
    for protocol in connection._protocols:
        protocol.datagram_received = gate.wrap(protocol.datagram_received)


class _Gate:
    """Which datagrams of one ICE connection reach aioice."""

    def __init__(self, connection: Any) -> None:
        self.nominated: dict[int, Any] = connection._nominated  # aioice's own dict, kept current
        self.check_list: list[Any] = connection._check_list
        self.tokens = float(STRANGER_STUN_BURST)
        self.at = time.monotonic()
        self.rtcp: Callable[[bytes], bool] | None = None  # True: handled (see guard_ice_connection)

    def wrap(self, original: Callable[[bytes, Any], None]) -> Callable[[bytes, Any], None]:
        nominated = self.nominated

        def datagram_received(data: bytes, addr: Any) -> None:
            if not data:
                return
            if nominated:  # connected: the nominated remote only (RFC 7675 consent comes from it too)
                for pair in nominated.values():
                    remote = pair.remote_addr
                    if remote[1] == addr[1] and remote[0] == addr[0]:
                        if self.rtcp is None or not self.rtcp(data):
                            original(data, addr)
                        return
                return
            if self.admit_early(data, (addr[0], addr[1])):
                original(data, addr)

        return datagram_received

    def admit_early(self, data: bytes, addr: tuple[str, int]) -> bool:
        if any(pair.remote_addr == addr for pair in self.check_list):
            return True
        if data[0] > 3:
            return False  # not STUN (RFC 7983), and from an address ICE has not checked
        now = time.monotonic()
        self.tokens = min(float(STRANGER_STUN_BURST), self.tokens + (now - self.at) * STRANGER_STUN_RATE)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def _rtcp_reader(dtls: RTCDtlsTransport, on_rtcp: RtcpHandler) -> Callable[[bytes], bool]:
    """True when ``data`` was SRTCP (decrypted and handed on, or dropped as forged or replayed)."""

    def read(data: bytes) -> bool:
        # RFC 7983: 128..191 is RTP or RTCP; RTCP's packet types are 192..208 (aiortc's is_rtcp)
        if not (127 < data[0] < 192 and len(data) > 1 and 191 < data[1] < 209):
            return False
        srtp = dtls._rx_srtp
        if srtp is None:
            return False  # before DTLS is done: aiortc drops it anyway
        try:
            packet = srtp.unprotect_rtcp(data)
        except pylibsrtp.Error:
            return True
        on_rtcp(packet)
        return True

    return read


HeaderCallback = Callable[[int, int, int, int], None]  # ssrc, sequence, timestamp, size
_RTP_SEQ_TS_SSRC = struct.Struct("!HII")


def tap_rtp_headers(dtls: RTCDtlsTransport, on_header: HeaderCallback, *, keep_rtcp: bool = True) -> None:
    """Hand each RTP datagram of ``dtls`` to ``on_header(ssrc, sequence, timestamp, size)`` and drop it.

    SRTP encrypts the payload only: sequence number, timestamp and SSRC are in
    the clear, so a load-test peer can count packets, gaps and timing without
    decrypting, queueing or parsing anything (``size`` is the datagram less its
    12-byte header, the SRTP tag included). DTLS and STUN reach aioice and
    aiortc as before; RTCP too, unless ``keep_rtcp`` is False (then the
    sender's reports are dropped unread: aiortc's receiver reports go out
    without a round trip in them). Call once the ICE transport has gathered.
    """
    connection: Any = dtls.transport._connection  # aioice's Connection, private
    for protocol in connection._protocols:
        protocol.datagram_received = _header_reader(protocol.datagram_received, on_header, keep_rtcp)


def _header_reader(
    original: Callable[[bytes, Any], None], on_header: HeaderCallback, keep_rtcp: bool = True
) -> Callable[[bytes, Any], None]:
    unpack = _RTP_SEQ_TS_SSRC.unpack_from

    def datagram_received(data: bytes, addr: Any) -> None:
        # RFC 7983: 128..191 is RTP or RTCP; RTCP's packet types are 192..208 (aiortc's is_rtcp)
        if len(data) >= 12 and 127 < data[0] < 192:
            if not 191 < data[1] < 209:
                sequence, timestamp, ssrc = unpack(data, 2)
                on_header(ssrc, sequence, timestamp, len(data) - 12)
                return
            if not keep_rtcp:
                return
        original(data, addr)

    return datagram_received


__all__ = [
    "HeaderCallback",
    "PacketCallback",
    "RtcpHandler",
    "Wire",
    "fast_protect",
    "guard_ice_connection",
    "intercept_sender",
    "on_sender_rtcp",
    "tap_receiver",
    "tap_rtp_headers",
    "wire_of",
]
