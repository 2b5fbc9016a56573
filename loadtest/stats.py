"""Per-peer reception statistics: pure arithmetic, no I/O (tested with a fake clock).

For every SSRC a peer receives we count packets and bytes, unwrap sequence
numbers and timestamps, and model a fixed jitter buffer to tell whether the
audio arrived *in real time*:

- a packet's offset is ``arrival_ms - media_ms`` (its RTP time in ms since
  the stream's first packet);
- the buffer plays at the smallest offset seen so far plus ``jitter_ms``;
- a packet is on time when its offset is within that, i.e. it arrived
  before a listener with a ``jitter_ms`` buffer would have needed it.

``realtime`` of a stream is the audio time of on-time packets that arrived in
the measured window, divided by the window's length (capped at 1). A sender
that falls behind (aiortc does rather than drop) shows as a rising offset and
a falling ``realtime``, even with no sequence gap; a sender that drops shows
as loss and as missing audio time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

CLOCK_RATE = 48_000  # Opus RTP clock, whatever the sample rate actually coded
DEFAULT_FRAME_MS = 20.0


@dataclass(slots=True)
class Window:
    """The measured window, in monotonic milliseconds; infinite until the runner sets it."""

    start: float = math.inf
    end: float = math.inf

    def __contains__(self, now_ms: float) -> bool:
        return self.start <= now_ms < self.end

    @property
    def length_ms(self) -> float:
        if math.isinf(self.start) or math.isinf(self.end):
            return 0.0
        return max(self.end - self.start, 0.0)


def _signed(delta: int, bits: int) -> int:
    """``delta`` modulo 2**bits, as a signed number (for sequence/timestamp unwrapping)."""
    half = 1 << (bits - 1)
    return ((delta + half) & ((1 << bits) - 1)) - half


@dataclass(slots=True)
class StreamStats:
    """What one SSRC delivered."""

    jitter_ms: float
    packets: int = 0
    octets: int = 0
    first_ms: float | None = None
    _max_seq: int = 0  # extended (unwrapped) sequence numbers
    _base_seq: int = 0
    _last_ts: int = 0  # extended timestamp of the last packet
    _last_ts32: int = 0
    _base_ts: int = 0
    _min_offset: float = math.inf
    frame_ms: float = DEFAULT_FRAME_MS
    w_packets: int = 0
    w_octets: int = 0
    w_on_time: int = 0
    w_first_seq: int | None = None
    w_max_seq: int = 0

    def add(self, seq: int, ts: int, size: int, now_ms: float, window: Window) -> None:
        """Account one packet (sequence number, RTP timestamp, payload size) arriving now."""
        if self.packets == 0:
            self.first_ms = now_ms
            self._max_seq = self._base_seq = seq
            self._last_ts = self._base_ts = self._last_ts32 = ts
            ext_seq, ext_ts = seq, ts
        else:
            ext_seq = self._max_seq + _signed(seq - self._max_seq, 16)
            ext_ts = self._last_ts + _signed(ts - self._last_ts32, 32)
            if ext_seq == self._max_seq + 1 and ext_ts > self._last_ts:
                self.frame_ms = (ext_ts - self._last_ts) * 1000.0 / CLOCK_RATE
            self._max_seq = max(self._max_seq, ext_seq)
            self._base_seq = min(self._base_seq, ext_seq)
            self._last_ts, self._last_ts32 = ext_ts, ts
        self.packets += 1
        self.octets += size
        offset = now_ms - (ext_ts - self._base_ts) * 1000.0 / CLOCK_RATE
        if offset < self._min_offset:
            self._min_offset = offset
        if now_ms in window:
            self._add_in_window(ext_seq, size, offset <= self._min_offset + self.jitter_ms)

    def _add_in_window(self, ext_seq: int, size: int, on_time: bool) -> None:
        self.w_packets += 1
        self.w_octets += size
        self.w_on_time += on_time
        if self.w_first_seq is None or ext_seq < self.w_first_seq:
            self.w_first_seq = ext_seq
        self.w_max_seq = max(self.w_max_seq, ext_seq)

    @property
    def lost(self) -> int:
        """Packets missing from the sequence numbers seen over the whole stream."""
        return max(self._max_seq - self._base_seq + 1 - self.packets, 0)

    @property
    def window_expected(self) -> int:
        if self.w_first_seq is None:
            return 0
        return self.w_max_seq - self.w_first_seq + 1

    def realtime(self, window_ms: float) -> float:
        """Fraction of the window covered by audio that arrived in time."""
        if window_ms <= 0:
            return 0.0
        return min(self.w_on_time * self.frame_ms / window_ms, 1.0)


@dataclass(slots=True)
class PeerStats:
    """Everything one listener peer received, per SSRC."""

    jitter_ms: float = 200.0
    streams: dict[int, StreamStats] = field(default_factory=dict)
    first_packet_ms: float | None = None

    def add(self, ssrc: int, seq: int, ts: int, size: int, now_ms: float, window: Window) -> None:
        stream = self.streams.get(ssrc)
        if stream is None:
            stream = self.streams[ssrc] = StreamStats(self.jitter_ms)
            if self.first_packet_ms is None:
                self.first_packet_ms = now_ms
        stream.add(seq, ts, size, now_ms, window)

    def main_stream(self) -> StreamStats | None:
        """The stream that delivered most in the window (the music, for a listener)."""
        if not self.streams:
            return None
        return max(self.streams.values(), key=lambda s: (s.w_packets, s.packets))

    def summary(self, window_ms: float) -> dict[str, float | int]:
        """Totals over every stream, and real-time coverage of the main one."""
        streams = list(self.streams.values())
        main = self.main_stream()
        return {
            "ssrcs": len(streams),
            "packets_total": sum(s.packets for s in streams),
            "bytes_total": sum(s.octets for s in streams),
            "lost_total": sum(s.lost for s in streams),
            "packets": sum(s.w_packets for s in streams),
            "bytes": sum(s.w_octets for s in streams),
            "expected": sum(s.window_expected for s in streams),
            "lost": sum(max(s.window_expected - s.w_packets, 0) for s in streams),
            "realtime": main.realtime(window_ms) if main else 0.0,
        }


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None when empty."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(data) - 1)
    return float(data[low] + (data[high] - data[low]) * (rank - low))
