"""A fake wire for the fan-out path: it keeps what was "sent" so tests can parse it.

``protect`` and ``protect_rtcp`` are the identity, so the bytes handed to
``sendto`` are plain RTP/RTCP and parse with aiortc's own parsers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiortc.rtp import AnyRtcpPacket, RtcpPacket, RtcpSdesPacket, RtcpSrPacket, RtpPacket

from sfu.aiortc_seams import Wire
from sfu.consumer import Consumer

PEER_ADDR = ("192.0.2.7", 40_000)
CONSUMER_SSRC = 0x1234_5678
CONSUMER_PT = 111
OTHER_PT = 96


def _identity(data: bytes) -> bytes:
    return data


@dataclass
class FakeSocket:
    """The peer's nominated socket: ``sent`` holds every (data, addr) given to ``sendto``.

    Set ``error`` to make ``sendto`` raise it, as a transport closed under us does;
    ``attempts`` counts the calls, successful or not.
    """

    sent: list[tuple[bytes, tuple[str, int]]] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    error: Exception | None = None
    attempts: int = 0

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        self.attempts += 1
        if self.error is not None:
            raise self.error
        self.sent.append((data, addr))
        self.sent_at.append(time.monotonic())

    def wire(self, addr: tuple[str, int] = PEER_ADDR) -> Wire:
        return Wire(protect=_identity, protect_rtcp=_identity, sendto=self.sendto, addr=addr)


@dataclass
class FakeTime:
    """A clock the test moves by hand: stands in for the ``time`` module where a module
    reads ``time.monotonic()``, and for ``ntp_now`` (wall time, moving with ``now``)."""

    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now

    def ntp_now(self) -> int:
        """A 64-bit NTP time that moves with ``now``, for ``sfu.consumer.ntp_now``."""
        seconds = int(self.now)
        return ((seconds + 3_900_000_000) << 32) | int((self.now - seconds) * (1 << 32))


def listener(
    ssrc: int = CONSUMER_SSRC, payload_type: int = CONSUMER_PT, cname: str = "listener"
) -> tuple[Consumer, FakeSocket]:
    """A consumer sending on a fake socket."""
    socket = FakeSocket()
    return Consumer(ssrc, payload_type, socket.wire(), cname), socket


def is_rtcp(data: bytes) -> bool:
    """RFC 5761: the second byte of RTCP is 192..223 (RTP's marker and payload type never are here)."""
    return 192 <= data[1] <= 223


def rtp_sent(socket: FakeSocket) -> list[RtpPacket]:
    return [RtpPacket.parse(data) for data, _ in socket.sent if not is_rtcp(data)]


def rtcp_sent(socket: FakeSocket) -> list[AnyRtcpPacket]:
    """Every RTCP packet sent, compound packets flattened."""
    return [packet for data, _ in socket.sent if is_rtcp(data) for packet in RtcpPacket.parse(data)]


def sender_reports(socket: FakeSocket) -> list[RtcpSrPacket]:
    return [p for p in rtcp_sent(socket) if isinstance(p, RtcpSrPacket)]


def sdes_chunks(socket: FakeSocket) -> list[RtcpSdesPacket]:
    return [p for p in rtcp_sent(socket) if isinstance(p, RtcpSdesPacket)]


def sequences(socket: FakeSocket) -> list[int]:
    return [p.sequence_number for p in rtp_sent(socket)]


def timestamps(socket: FakeSocket) -> list[int]:
    return [p.timestamp for p in rtp_sent(socket)]


def lsr_of(report: RtcpSrPacket) -> int:
    """The middle 32 bits of the SR's NTP time: what a receiver echoes as LSR (RFC 3550 6.4.1)."""
    return (report.sender_info.ntp_timestamp >> 16) & 0xFFFFFFFF
