"""The program: a room's audience feed mixed into one signal on the server, once per room.

Sources are Opus packets as listeners receive them (the music, already ducked and
at -16 LUFS, and each stage voice after its audience delay), each decoded once.
A source's packets are placed on one sample timeline by their arrival time on the
server clock: the first packet of a run by its arrival, the next ones by their
RTP timestamps from there (a jitter buffer), so two sources that reached the
listeners together are mixed together, sample for sample. The anchor follows the
earliest arrivals (the least-delayed path). The anchor is taken on when a packet
reached the server (its arrival less the audience delay it was held for), and the
delay of the moment is added back: when the audience delay moves, the program
jumps exactly as the listeners' feed does, with no re-anchoring on a noisy arrival.

``render(tick_ms)`` hands out the 20 ms of the timeline that ended ``playout_ms``
before the tick, leaving late packets that long to arrive; packets are decoded then,
in timestamp order, so reordering on the way does not upset a decoder; voices are levelled
towards -16 LUFS (``VoiceLeveler``), then the sum goes through the mixer's
true-peak limiter (-1 dBTP).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import av
import numpy as np

from .audio import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE, SAMPLES_PER_MS
from .limiter import PeakLimiter

log = logging.getLogger(__name__)

DEFAULT_PLAYOUT_MS = 120.0
TIMELINE_SAMPLES = SAMPLE_RATE * 4  # what may be written ahead of the read position
_WRAP = 1 << 32
_EARLIER = 1  # any earlier arrival moves the anchor (a skip of that many samples, once)
_REFRESH_PACKETS = 100  # every ~2 s the anchor may move later, to the window's earliest arrival
_LATER = 2 * int(SAMPLES_PER_MS)
_MAX_PENDING = 200  # packets placed ahead of their time, per source (4 s of 20 ms packets)


class OpusDecoder:
    """Opus packets (mono or stereo) to ``(n, 2)`` float32, through libopus."""

    def __init__(self) -> None:
        ctx: Any = av.CodecContext.create("libopus", "r")
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "stereo"
        self._ctx = ctx

    def decode(self, payload: bytes) -> np.ndarray | None:
        try:
            frames = self._ctx.decode(av.Packet(payload))
        except av.FFmpegError:  # a broken packet: a gap, not an error
            return None
        if not frames:
            return None
        pcm = np.concatenate([f.to_ndarray().reshape(-1, CHANNELS) for f in frames])
        return pcm.astype(np.float32) / np.float32(32768.0)


class VoiceLeveler:
    """Brings a voice towards ``target_lufs`` with a slow gain (at most +-12 dB), frames of
    speech only (under -50 dBFS nothing is learned). Loudness is estimated from the mean square
    (no K-weighting: close enough for speech)."""

    def __init__(self, target_lufs: float = -16.0, max_db: float = 12.0, seconds: float = 3.0) -> None:
        self._target = 10.0 ** ((target_lufs + 0.691) / 10.0)  # sum of the two channels' mean squares
        self._limit = 10.0 ** (max_db / 20.0)
        self._alpha = min(1.0, FRAME_SAMPLES / (SAMPLE_RATE * seconds))
        self._power: float | None = None
        self.gain = 1.0

    def apply(self, pcm: np.ndarray) -> np.ndarray:
        power = float(np.mean(np.square(pcm, dtype=np.float32)) * CHANNELS)
        if power > 1e-5:  # about -50 dBFS
            self._power = power if self._power is None else self._power + self._alpha * (power - self._power)
            wanted = math.sqrt(self._target / max(self._power, 1e-12))
            wanted = min(self._limit, max(1.0 / self._limit, wanted))
            self.gain += 0.2 * (wanted - self.gain)
        return pcm * np.float32(self.gain)


class _Lane:
    """One source: its decoder, its anchor on the timeline, and how far it was written."""

    __slots__ = ("decoder", "leveler", "anchor", "last_ts", "unwrapped", "written", "guard", "window_min",
                 "count", "pending", "delay")

    def __init__(self, voice: bool) -> None:
        self.decoder = OpusDecoder()
        self.leveler = VoiceLeveler() if voice else None
        self.anchor: int | None = None  # timeline position minus the unwrapped timestamp
        self.last_ts = 0
        self.unwrapped = 0
        self.written = 0  # timeline position up to which this source was written
        self.guard = 0  # nothing before this: it was written under the previous anchor
        self.window_min: int | None = None
        self.count = 0
        self.pending: list[tuple[int, bytes]] = []  # (timeline position, payload), not decoded yet
        self.delay = 0

    def place(self, timestamp: int, entered: int, delay: int) -> int:
        """The timeline position of this packet's first sample: ``entered`` (when it reached the
        server) anchors the source, ``delay`` (the audience delay it was held for) is added."""
        anchor = self.anchor
        position = self._place(timestamp, entered) + delay
        if self.anchor != anchor or delay != self.delay:  # moved: what was placed stays, none twice
            self.guard = self.written
            self.delay = delay
        return position

    def _place(self, timestamp: int, arrival: int) -> int:
        if self.anchor is None:
            self.unwrapped = timestamp
        else:
            step = (timestamp - self.last_ts) % _WRAP
            self.unwrapped += step if step < _WRAP // 2 else step - _WRAP
        self.last_ts = timestamp
        offset = arrival - self.unwrapped
        far = self.anchor is not None and abs(offset - self.anchor) > SAMPLE_RATE  # a second off
        if self.anchor is None or far:
            self.anchor = offset  # first packet, or a second off (a new stream): start from here
            self.window_min = None
            self.count = 0
        elif offset < self.anchor - _EARLIER:
            self.anchor = offset
        self.window_min = offset if self.window_min is None else min(self.window_min, offset)
        self.count += 1
        if self.count >= _REFRESH_PACKETS:  # the sender's clock runs slow: follow it, 2 s at a time
            if self.window_min > self.anchor + _LATER:
                self.anchor = self.window_min
            self.window_min, self.count = None, 0
        return self.unwrapped + self.anchor


class ProgramMix:
    """Music and voices, as listeners hear them, into one ``(960, 2)`` frame per tick.

    ``push`` a packet of a source when listeners get it (``arrival_ms`` on the server clock);
    ``render(tick_ms)`` once per tick of the room clock; ``drop`` a source that left.
    """

    def __init__(self, *, playout_ms: float = DEFAULT_PLAYOUT_MS, ceiling_dbtp: float = -1.0) -> None:
        self.playout = int(round(playout_ms * SAMPLES_PER_MS))
        self._lanes: dict[str, _Lane] = {}
        self._timeline = np.zeros((TIMELINE_SAMPLES, CHANNELS), dtype=np.float32)
        self._read: int | None = None  # timeline position of the next sample out
        self._limiter = PeakLimiter(ceiling_dbtp)
        self.late_samples = 0  # samples that came after their time (dropped)

    @property
    def latency_ms(self) -> float:
        """From a packet reaching listeners to its sound leaving ``render``."""
        return self.playout / SAMPLES_PER_MS + self._limiter.latency_ms

    def sources(self) -> list[str]:
        return list(self._lanes)

    def push(self, source: str, payload: bytes, timestamp: int, arrival_ms: float, *,
             voice: bool, delay_ms: float = 0.0) -> None:
        """Place a packet that listeners got at ``arrival_ms`` after holding it ``delay_ms``; it is
        decoded when its time comes, in timestamp order (a decoder fed out of order glitches)."""
        lane = self._lanes.get(source)
        if lane is None:
            lane = self._lanes[source] = _Lane(voice)
        delay = round(delay_ms * SAMPLES_PER_MS)
        position = lane.place(timestamp, round(arrival_ms * SAMPLES_PER_MS) - delay, delay)
        if self._read is not None and position + FRAME_SAMPLES <= self._read:
            self.late_samples += FRAME_SAMPLES
            return
        if len(lane.pending) < _MAX_PENDING:
            lane.pending.append((position, payload))

    def _decode_due(self, end: int) -> None:
        """Decode and write every placed packet that starts before ``end``, oldest first."""
        for lane in self._lanes.values():
            if not lane.pending:
                continue
            lane.pending.sort(key=lambda item: item[0])
            count = next((i for i, (pos, _) in enumerate(lane.pending) if pos >= end), len(lane.pending))
            due, lane.pending = lane.pending[:count], lane.pending[count:]
            for position, payload in due:
                pcm = lane.decoder.decode(payload)
                if pcm is None:
                    continue
                if lane.leveler is not None:
                    pcm = lane.leveler.apply(pcm)
                self._write(lane, position, pcm)

    def drop(self, source: str) -> None:
        self._lanes.pop(source, None)

    def _write(self, lane: _Lane, position: int, pcm: np.ndarray) -> None:
        start = max(position, lane.guard)
        if self._read is not None and start < self._read:
            self.late_samples += self._read - start
            start = self._read
        end = position + len(pcm)
        if self._read is not None:
            end = min(end, self._read + TIMELINE_SAMPLES)
        if end <= start:
            return
        self._add(start, pcm[start - position : end - position])
        lane.written = max(lane.written, end)

    def _add(self, start: int, pcm: np.ndarray) -> None:
        index = start % TIMELINE_SAMPLES
        first = min(len(pcm), TIMELINE_SAMPLES - index)
        self._timeline[index : index + first] += pcm[:first]
        if first < len(pcm):
            self._timeline[: len(pcm) - first] += pcm[first:]

    def render(self, tick_ms: float) -> np.ndarray:
        """The program's frame for the tick at ``tick_ms``: the timeline ``playout_ms`` before it."""
        start = round(tick_ms * SAMPLES_PER_MS) - self.playout
        if self._read is not None and start > self._read:  # ticks were skipped: so is their audio
            self._clear(self._read, min(start - self._read, TIMELINE_SAMPLES))
        self._read = start
        self._decode_due(start + FRAME_SAMPLES)
        index = start % TIMELINE_SAMPLES
        first = min(FRAME_SAMPLES, TIMELINE_SAMPLES - index)
        frame = np.concatenate((self._timeline[index : index + first],
                                self._timeline[: FRAME_SAMPLES - first]))
        self._clear(start, FRAME_SAMPLES)
        self._read = start + FRAME_SAMPLES
        return self._limiter.process(frame)

    def _clear(self, start: int, count: int) -> None:
        index = start % TIMELINE_SAMPLES
        first = min(count, TIMELINE_SAMPLES - index)
        self._timeline[index : index + first] = 0.0
        if first < count:
            self._timeline[: count - first] = 0.0
