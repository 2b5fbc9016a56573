"""One subscriber's outgoing copy of one producer: the per-listener hot path."""

from __future__ import annotations

import time

from .aiortc_seams import Wire
from .clock import SAMPLE_RATE
from .rtp import RTP_HEADER, ntp_now, sender_report

_pack = RTP_HEADER.pack
_MASK16 = 0xFFFF
_MASK32 = 0xFFFFFFFF


class Consumer:
    """Rewrites SSRC, sequence number and timestamp and sends one packet.

    ``send`` is called by the producer's fan-out loop for every packet; it
    builds the 12-byte header, SRTP-protects and ``sendto``s on the peer's
    nominated ICE socket, with no task or queue. Sequence numbers and
    timestamps stay continuous when the consumer moves to another producer
    (``rebase``), so the receiver's jitter buffer never sees a jump.
    A consumer starts paused until the peer's transport is connected.
    """

    __slots__ = (
        "ssrc",
        "payload_type",
        "cname",
        "wire",
        "packets",
        "octets",
        "rtt_ms",
        "loss_pct",
        "_seq_offset",
        "_ts_offset",
        "_last_seq",
        "_last_ts",
        "_last_time",
        "_rebase",
        "_lsr",
        "_lsr_time",
        "_closed",
        "_protect",
        "_sendto",
        "_addr",
    )

    def __init__(self, ssrc: int, payload_type: int, wire: Wire, cname: str = "onair") -> None:
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.cname = cname.encode()[:255]
        self.wire = wire
        self._protect = wire.protect
        self._sendto = wire.sendto
        self._addr = wire.addr
        self.packets = 0
        self.octets = 0
        self.rtt_ms: float | None = None
        self.loss_pct: float | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq = 0
        self._last_ts = 0
        self._last_time = 0.0
        self._rebase = True
        self._lsr = 0
        self._lsr_time = 0.0
        self._closed = False

    def rebase(self) -> None:
        """The next packet comes from another source: keep numbering continuous."""
        self._rebase = True

    def close(self) -> None:
        self._closed = True

    def send(self, payload: bytes, timestamp: int, sequence: int, marker: bool, now: float) -> bool:
        """Send one packet; ``now`` is ``time.monotonic()``, read once per fan-out."""
        if self._closed:
            return False
        if self._rebase:
            self._rebase_on(timestamp, sequence, now)
        seq = (sequence + self._seq_offset) & _MASK16
        ts = (timestamp + self._ts_offset) & _MASK32
        header = _pack(0x80, self.payload_type | 0x80 if marker else self.payload_type,
                       seq, ts, self.ssrc)
        try:
            self._sendto(self._protect(header + payload), self._addr)
        except Exception:  # transport closed under us: the peer is going away
            self._closed = True
            return False
        self._last_seq = seq
        self._last_ts = ts
        self._last_time = now
        self.packets += 1
        self.octets += len(payload)
        return True

    def _rebase_on(self, timestamp: int, sequence: int, now: float) -> None:
        self._rebase = False
        if self.packets == 0:
            self._seq_offset = 0
            self._ts_offset = 0
            return
        elapsed = max(now - self._last_time, 0.02)
        next_ts = self._last_ts + int(elapsed * SAMPLE_RATE)
        self._seq_offset = (self._last_seq + 1 - sequence) & _MASK16
        self._ts_offset = (next_ts - timestamp) & _MASK32

    def sender_report(self) -> None:
        """Send an RTCP SR with the true counts, mapping NTP time to our RTP clock."""
        if self._closed or self.packets == 0:
            return
        ntp = ntp_now()
        rtp_ts = self._last_ts + int((time.monotonic() - self._last_time) * SAMPLE_RATE)
        data = sender_report(self.ssrc, ntp, rtp_ts, self.packets, self.octets, self.cname)
        self._lsr = (ntp >> 16) & _MASK32
        self._lsr_time = time.monotonic()
        try:
            self.wire.sendto(self.wire.protect_rtcp(data), self.wire.addr)
        except Exception:
            self._closed = True

    def receiver_report(self, lsr: int, dlsr: int, fraction_lost: int = 0) -> None:
        """Round-trip time and loss from a receiver report block about our SSRC."""
        self.loss_pct = fraction_lost * 100.0 / 256.0  # since the receiver's last report
        if lsr and lsr == self._lsr:
            rtt = time.monotonic() - self._lsr_time - dlsr / 65536.0
            if rtt >= 0:
                ms = rtt * 1000.0
                self.rtt_ms = ms if self.rtt_ms is None else 0.8 * self.rtt_ms + 0.2 * ms
