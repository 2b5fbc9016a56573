"""One 20 ms stereo frame in, one Opus packet out: libopus through PyAV.

libopus (FFmpeg's ``libopus`` wrapper, checked with PyAV 18.1) returns the
packet of a 960-sample frame from the same ``encode`` call: it has 312 samples
(6.5 ms) of internal lookahead, which shows as a negative pts on the first
packet, not as a missing packet. The encoder is nevertheless primed at
construction (silence is fed until a packet comes out, and those packets are
dropped), so if a build ever buffers more, the packets lag by whole frames
but ``encode`` still returns exactly one packet per call.

Measured cost (2 vCPU AMD EPYC container, PyAV 18.1 / libopus, 128 kbit/s VBR,
complexity 10, process CPU time over 11,800 frames): about 150 us per frame on
the demo music (0.75 % of one core per room; VBR lands near 150 kbit/s on it),
about 100 us on a 1 kHz sine, about 50 us on silence. ``RoomMusic.render``
(decoding the Ogg/Opus source, crossfades, ducking, the limiter) adds about
85 us per frame: 1.25 % of a core per room in all (``python -m benchmarks.mixer_bench``).
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

import av
import numpy as np

from .audio import CHANNELS, FRAME_SAMPLES, SAMPLE_RATE, silence

DEFAULT_BITRATE = 128_000
_MAX_PRIMING_FRAMES = 16


class OpusFrameEncoder:
    """Encodes ``(960, 2)`` float32 frames, one Opus packet (bytes) per call.

    Stateful: frames must be fed in order, one per 20 ms of stream. Values are
    clipped to -1..1.
    """

    def __init__(self, bitrate: int = DEFAULT_BITRATE) -> None:
        ctx: Any = av.CodecContext.create("libopus", "w")
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "stereo"
        ctx.format = "flt"
        ctx.bit_rate = bitrate
        ctx.time_base = Fraction(1, SAMPLE_RATE)
        ctx.options = {"application": "audio", "frame_duration": "20", "vbr": "on"}
        ctx.open()
        if ctx.frame_size != FRAME_SAMPLES:
            raise RuntimeError(f"libopus frame size is {ctx.frame_size}, expected {FRAME_SAMPLES}")
        self._ctx = ctx
        self._pts = 0
        self._pending: deque[bytes] = deque()
        self._prime()

    def encode(self, frame: np.ndarray) -> bytes:
        """The bytes of one Opus packet for the next 20 ms; ``frame`` is ``(960, 2)`` float32."""
        if frame.shape != (FRAME_SAMPLES, CHANNELS):
            raise ValueError(f"expected a ({FRAME_SAMPLES}, {CHANNELS}) frame, got {frame.shape}")
        data = np.clip(frame, -1.0, 1.0).astype(np.float32, copy=False)
        self._feed(data)
        if not self._pending:  # never seen with libopus; keeps the one-packet contract anyway
            raise RuntimeError("libopus returned no packet for a frame after priming")
        return self._pending.popleft()

    def _prime(self) -> None:
        for _ in range(_MAX_PRIMING_FRAMES):
            self._feed(silence())
            if self._pending:
                self._pending.clear()
                return
        raise RuntimeError("libopus produced no packet while priming")

    def _feed(self, data: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(data).reshape(1, -1), format="flt", layout="stereo"
        )
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        self._pts += FRAME_SAMPLES
        for packet in self._ctx.encode(frame):
            self._pending.append(bytes(packet))
