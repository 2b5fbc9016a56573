"""A look-ahead true-peak limiter for the music bus, vectorized per 20 ms frame.

The peak of each sample and of the signal between it and the next is
estimated at 4x oversampling (three interpolated points per interval, a
12-tap windowed-sinc interpolator, both channels linked). The gain each
sample needs to stay under the ceiling then goes through three stages:

1. hold: the minimum over the next ``hold + 1`` samples (the look-ahead), so
   the gain is already down when a peak arrives;
2. release: the gain climbs back by at most ``1 / release`` per sample
   (a running minimum, no per-sample loop);
3. smoothing: a moving average over ``hold + 1`` samples, so every attack is
   a ramp, never a step.

Every sample of the average's window holds a gain at most the one its
peak needs (each window of stage 1 contains the peak), so the output never
exceeds the ceiling at the sample points. The signal is delayed by
``LOOKAHEAD`` samples (5 ms). A quiet bus (sample peaks 6 dB under the
ceiling, no gain reduction pending) is only delayed.
"""

from __future__ import annotations

import numpy as np

from .audio import CHANNELS, SAMPLES_PER_MS

LOOKAHEAD = 240  # samples of delay (5 ms)
_TAPS = 12  # interpolator taps per phase, centred between samples n and n + 1
_BEFORE = _TAPS // 2 - 1  # 5 past samples of context
_AFTER = _TAPS // 2  # 6 future samples of context
_HOLD = LOOKAHEAD - _AFTER  # the look-ahead window of the gain (stage 1)


def _interpolator() -> np.ndarray:
    """``(12, 3)``: the weights of x[n-5] .. x[n+6] for the points n + 1/4, n + 1/2, n + 3/4."""
    offsets = np.arange(-_BEFORE, _AFTER + 1, dtype=np.float64)
    columns = []
    for frac in (0.25, 0.5, 0.75):
        t = frac - offsets
        taps = np.sinc(t) * (0.5 + 0.5 * np.cos(np.pi * t / (_AFTER + 0.5)))  # Hann-windowed sinc
        columns.append(taps / taps.sum())
    return np.stack(columns, axis=1)


_WEIGHTS = _interpolator().astype(np.float32)


def sliding_min(values: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = values[i : i + width].min()`` for every full window, in log2(width) passes."""
    out, span = values, 1
    while span * 2 <= width:
        out = np.minimum(out[:-span], out[span:])
        span *= 2
    count = len(values) - width + 1
    if span < width:
        return np.minimum(out[:count], out[width - span : width - span + count])
    return out[:count]


def true_peaks(signal: np.ndarray) -> np.ndarray:
    """Per sample n of ``signal[5 : -6]``: the largest magnitude at n and at the three 4x points
    after it, over both channels."""
    channels = np.ascontiguousarray(signal.T)  # (2, n): contiguous windows make the product fast
    windows = np.lib.stride_tricks.sliding_window_view(channels, _TAPS, axis=1)  # (2, m, 12)
    points = np.abs(windows @ _WEIGHTS).max(axis=2)  # (2, m)
    samples = np.abs(channels[:, _BEFORE : channels.shape[1] - _AFTER])
    return np.maximum(points, samples).max(axis=0)


class PeakLimiter:
    """``process(frame)`` returns the limited frame, ``LOOKAHEAD`` samples late.

    ``ceiling_db`` in dBTP (default -1); ``release_ms``: the time a full
    swing of the gain takes to recover (the recovery is linear in gain).
    """

    def __init__(self, ceiling_db: float = -1.0, *, release_ms: float = 200.0) -> None:
        self.ceiling = float(10.0 ** (ceiling_db / 20.0))
        self._aim = self.ceiling * (1.0 - 1e-5)  # a hair under, against float32 rounding
        self._step = 1.0 / max(1.0, release_ms * SAMPLES_PER_MS)
        # input: 5 samples already out (context), then the LOOKAHEAD samples not yet out
        self._input = np.zeros((_BEFORE + LOOKAHEAD, CHANNELS), dtype=np.float32)
        self._gains = np.ones(_HOLD, dtype=np.float64)  # released gains of the last samples out
        self._idle = True
        self.reduction = 1.0  # the lowest gain applied in the last frame (1.0: not limiting)

    @property
    def latency_ms(self) -> float:
        return LOOKAHEAD / SAMPLES_PER_MS

    def process(self, frame: np.ndarray) -> np.ndarray:
        """The next ``len(frame)`` samples of output (the input delayed, its peaks held down)."""
        n = len(frame)
        signal = np.concatenate((self._input, frame))
        self._input = signal[n:]
        out = signal[_BEFORE : _BEFORE + n]
        loud = float(np.abs(signal[_BEFORE:]).max(initial=0.0)) * 2.0 >= self.ceiling
        if self._idle and not loud:
            self.reduction = 1.0
            return out.copy()
        if loud:
            peaks = true_peaks(signal[: _BEFORE + n + _HOLD + _AFTER])
            need = np.minimum(1.0, self._aim / np.maximum(peaks, 1e-12))
        else:
            need = np.ones(n + _HOLD)
        held = sliding_min(need, _HOLD + 1)  # n values
        ramp = np.arange(1, n + 1) * self._step
        released = np.minimum(np.minimum.accumulate(held - ramp), self._gains[-1]) + ramp
        window = np.concatenate((self._gains, released))
        total = np.concatenate(([0.0], np.cumsum(window)))
        gains = (total[_HOLD + 1 :] - total[:n]) / (_HOLD + 1)
        self._gains = window[n:]
        self._idle = bool(self._gains.min() >= 1.0)
        self.reduction = float(gains.min())
        return (out * gains[:, None]).astype(np.float32)
