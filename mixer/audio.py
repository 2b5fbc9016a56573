"""The mixer's audio format and small sample-level helpers.

Every buffer inside the mixer is a float32 numpy array of shape ``(n, 2)``:
48 kHz, stereo, interleaved (row = one sample instant), nominal range -1..1.
A frame is 20 ms, 960 samples: one tick of the room clock, one Opus packet.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 960
SAMPLES_PER_MS = SAMPLE_RATE / 1000.0  # 48.0
DECLICK = 480  # samples of the 10 ms fade used at every seam (track change, skip, pause)


def silence(samples: int = FRAME_SAMPLES) -> np.ndarray:
    """A zeroed ``(samples, 2)`` float32 buffer."""
    return np.zeros((samples, CHANNELS), dtype=np.float32)


def empty() -> np.ndarray:
    """A ``(0, 2)`` float32 buffer."""
    return silence(0)


def ramp(start: float, stop: float, samples: int) -> np.ndarray:
    """Gains going linearly from ``start`` towards ``stop``: a ``(samples, 1)`` column.

    The first sample gets ``start``; ``stop`` is reached one sample after the
    last, so two ramps placed end to end join without a repeated value.
    """
    if samples <= 0:
        return np.zeros((0, 1), dtype=np.float32)
    steps = np.arange(samples, dtype=np.float32) / np.float32(samples)
    return (start + (stop - start) * steps).astype(np.float32)[:, None]


def overlay(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    """``a + b`` as long as the longer of the two (``a`` may be ``None``: then ``b``)."""
    if a is None:
        return b
    both = silence(max(len(a), len(b)))
    both[: len(a)] += a
    both[: len(b)] += b
    return both


def fade_out(buf: np.ndarray) -> np.ndarray:
    """A copy of ``buf`` faded linearly from full level to silence over its length."""
    return buf * ramp(1.0, 0.0, len(buf))


class GainRamp:
    """A gain that moves smoothly towards its target, never in one step (no clicks).

    ``apply`` multiplies a buffer in place; a full 0 to 1 swing takes
    ``ramp_ms`` (50 ms by default).
    """

    def __init__(self, gain: float = 1.0, *, ramp_ms: float = 50.0) -> None:
        self.current = float(gain)
        self.target = float(gain)
        self._step = 1.0 / max(1.0, ramp_ms * SAMPLES_PER_MS)  # per sample

    def set(self, gain: float) -> None:
        """Aim at ``gain`` (clamped to 0..1)."""
        self.target = min(1.0, max(0.0, float(gain)))

    def apply(self, buf: np.ndarray) -> None:
        """Scale ``buf`` in place, moving the gain towards the target as it goes."""
        n = len(buf)
        if n == 0:
            return
        if self.current == self.target:
            if self.current != 1.0:
                buf *= np.float32(self.current)
            return
        delta = self.target - self.current
        needed = int(np.ceil(abs(delta) / self._step))
        if needed <= n:
            reach, end = needed, self.target
        else:
            reach, end = n, self.current + float(np.sign(delta)) * self._step * n
        gains = np.full((n, 1), end, dtype=np.float32)
        gains[:reach] = ramp(self.current, end, reach)
        buf *= gains
        self.current = end
