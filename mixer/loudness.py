"""Integrated loudness (EBU R128 / ITU-R BS.1770-4) of 48 kHz stereo audio, in numpy.

The signal is K-weighted (the standard's two biquads: a +4 dB high shelf,
then the "RLB" high-pass), squared, and averaged over 400 ms blocks that
start every 100 ms (75 % overlap). Blocks under -70 LUFS are dropped (the
absolute gate), then those more than 10 LU under the mean of the rest (the
relative gate); the integrated loudness is the mean of what remains::

    L = -0.691 + 10 log10(sum over channels of the mean square)

so a 997 Hz stereo sine with a peak of -20 dBFS in each channel measures
-20.0 LUFS (the K-weighting gains +0.691 dB at 997 Hz).

``Biquad`` is an exact streaming IIR filter without a per-sample Python loop:
the numerator is a 3-tap FIR; the recursive part is computed in blocks of
``BLOCK`` samples as the block's zero-state response (an FFT convolution with
the truncated impulse response, exact within the block) plus the decaying
response to the two outputs carried in from the previous block, a Python
loop per block (not per sample) carrying them along.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

from .audio import SAMPLE_RATE
from .decoder import Decoder

BLOCK = 4096  # samples per block of the recursive part
SUB_BLOCK = SAMPLE_RATE // 10  # 100 ms: the hop between gating blocks
GATE_SUB_BLOCKS = 4  # a gating block is 400 ms
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
_OFFSET = -0.691

# BS.1770-4, table 1 and 2: the K-weighting at 48 kHz as (b0, b1, b2), (a1, a2) with a0 = 1.
SHELF = ((1.53512485958697, -2.69169618940638, 1.19839281085285), (-1.69065929318241, 0.73248077421585))
HIGH_PASS = ((1.0, -2.0, 1.0), (-1.99004745483398, 0.99007225036621))


def k_weighting() -> tuple[np.ndarray, np.ndarray]:
    """The two K-weighting biquads as one 4th-order filter: ``(b, a)``, ``a[0] == 1``."""
    return np.convolve(SHELF[0], HIGH_PASS[0]), np.convolve((1.0, *SHELF[1]), (1.0, *HIGH_PASS[1]))


@lru_cache(maxsize=16)
def _responses(a: tuple[float, ...], n: int) -> tuple[np.ndarray, np.ndarray]:
    """For ``y[k] = w[k] - a1 y[k-1] - ... - aN y[k-N]`` over n samples: the spectrum (FFT size 2n)
    of the impulse response, and the ``(n, N)`` responses to a zero input after y[-j] = 1 (column j-1)."""
    order = len(a)
    h = np.zeros(n + order)  # h[order + k] is the response at k; zeros before
    h[order] = 1.0
    free = np.zeros((n + order, order))
    for j in range(order):
        free[order - 1 - j, j] = 1.0
    coeffs = np.array(a[::-1])  # aN .. a1, against the previous N outputs in time order
    for k in range(order, n + order):
        h[k] -= coeffs @ h[k - order : k]
        free[k] = -coeffs @ free[k - order : k]
    return np.fft.rfft(h[order:], 2 * n), free[order:]


class IIRFilter:
    """A causal IIR filter (``a[0] == 1``) over ``(n, channels)`` buffers, state kept between calls.

    Exact (float64) and vectorized: see the module docstring.
    """

    def __init__(self, b: Iterable[float], a: Iterable[float], channels: int = 2) -> None:
        self.b = np.array(list(b), dtype=np.float64)
        a = [float(v) for v in a]
        if a[0] != 1.0:
            raise ValueError("a[0] must be 1")
        self.a = tuple(a[1:])
        self._x = np.zeros((len(self.b) - 1, channels))  # the last inputs, oldest first
        self._y = np.zeros((len(self.a), channels))  # the last outputs: y[-1], y[-2], ...

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter ``x`` (continuing from the previous call); returns float64 of the same shape."""
        x = np.asarray(x, dtype=np.float64)
        n, taps = len(x), len(self.b)
        if n == 0:
            return x.copy()
        xe = np.concatenate((self._x, x))
        w = self.b[0] * xe[taps - 1 :]
        for i in range(1, taps):
            w += self.b[i] * xe[taps - 1 - i : len(xe) - i]
        self._x = xe[len(xe) - (taps - 1) :].copy()
        return self._recursive(w)

    def _recursive(self, w: np.ndarray) -> np.ndarray:
        n, channels = w.shape
        order = len(self.a)
        size = min(BLOCK, 1 << max(order - 1, n - 1).bit_length())  # small inputs, small FFTs
        spectrum, free = _responses(self.a, size)
        blocks = -(-n // size)
        padded = np.zeros((blocks * size, channels))
        padded[:n] = w
        padded = padded.reshape(blocks, size, channels)
        zs = np.fft.irfft(np.fft.rfft(padded, 2 * size, axis=1) * spectrum[None, :, None], 2 * size, axis=1)
        zs = zs[:, :size]
        # carry the last N outputs from block to block: state' = last outputs of (zs + free @ state)
        ends = free[::-1][:order]  # rows for y[size-1], y[size-2], ...
        states = np.empty((blocks, order, channels))
        state = self._y
        for i in range(blocks):
            states[i] = state
            state = zs[i, ::-1][:order] + ends @ state
        y = (zs + np.matmul(free[None], states)).reshape(blocks * size, channels)[:n]
        self._y = np.concatenate((y[::-1][:order], self._y))[:order].copy()
        return y


class LoudnessMeter:
    """Feed 48 kHz audio in any chunk sizes; ``integrated()`` is the gated loudness so far.

    Memory: two floats per channel per 100 ms, whatever the length.
    """

    def __init__(self, channels: int = 2) -> None:
        self._filter = IIRFilter(*k_weighting(), channels=channels)
        self._sums: list[np.ndarray] = []  # per 100 ms sub-block: sum of squares, per channel
        self._partial = np.zeros(channels)
        self._partial_n = 0

    def feed(self, samples: np.ndarray) -> None:
        """Add ``(n, channels)`` samples."""
        if len(samples) == 0:
            return
        k = self._filter.process(samples)
        squares = k * k
        start = 0
        if self._partial_n:
            take = min(SUB_BLOCK - self._partial_n, len(squares))
            self._partial += squares[:take].sum(axis=0)
            self._partial_n += take
            start = take
            if self._partial_n == SUB_BLOCK:
                self._sums.append(self._partial)
                self._partial, self._partial_n = np.zeros_like(self._partial), 0
        whole = (len(squares) - start) // SUB_BLOCK
        if whole:
            chunk = squares[start : start + whole * SUB_BLOCK]
            self._sums.extend(chunk.reshape(whole, SUB_BLOCK, -1).sum(axis=1))
            start += whole * SUB_BLOCK
        if start < len(squares):
            self._partial = self._partial + squares[start:].sum(axis=0)
            self._partial_n += len(squares) - start

    def block_powers(self) -> np.ndarray:
        """The weighted mean square of every complete 400 ms block (channel weights all 1)."""
        if len(self._sums) < GATE_SUB_BLOCKS:
            return np.zeros(0)
        per_sub = np.array(self._sums).sum(axis=1)
        cum = np.concatenate(([0.0], np.cumsum(per_sub)))
        return (cum[GATE_SUB_BLOCKS:] - cum[:-GATE_SUB_BLOCKS]) / (GATE_SUB_BLOCKS * SUB_BLOCK)

    def integrated(self) -> float | None:
        """The gated integrated loudness in LUFS; ``None`` if no block passes the gates."""
        return gated_loudness(self.block_powers())


def gated_loudness(powers: np.ndarray) -> float | None:
    """BS.1770 gating over block powers (weighted mean squares of the 400 ms blocks)."""
    with np.errstate(divide="ignore"):
        levels = _OFFSET + 10.0 * np.log10(powers)
    kept = powers[levels > ABSOLUTE_GATE_LUFS]
    if len(kept) == 0:
        return None
    relative = _OFFSET + 10.0 * math.log10(float(kept.mean())) + RELATIVE_GATE_LU
    gated = powers[(levels > ABSOLUTE_GATE_LUFS) & (levels > relative)]
    return _OFFSET + 10.0 * math.log10(float(gated.mean()))


def integrated_loudness(samples: np.ndarray) -> float | None:
    """The integrated loudness of a whole ``(n, 2)`` 48 kHz buffer, in LUFS (``None`` if silent)."""
    meter = LoudnessMeter(samples.shape[1] if samples.ndim == 2 else 1)
    meter.feed(samples if samples.ndim == 2 else samples[:, None])
    return meter.integrated()


def measure_file(path: Path | str, chunk: int = SAMPLE_RATE) -> float | None:
    """Decode ``path`` to 48 kHz stereo and measure it (streaming; memory stays flat).

    ``None`` if the file holds no block above the absolute gate (silence or under 400 ms).
    Raises ``DecodeError`` if it cannot be opened.
    """
    meter = LoudnessMeter()
    with Decoder(path) as decoder:
        while len(data := decoder.read(chunk)):
            meter.feed(data)
    return meter.integrated()
