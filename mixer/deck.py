"""A deck: one track being played, at its loudness-normalizing gain, with fades at its seams.

A deck fades its own start (and every restart after a seek or a pause) in
over 10 ms and its last 10 ms out, looking ahead in the decoder to know where
the end is. A crossfade runs two (or more) decks at once, each with an
equal-power envelope: the gain is ``sin(theta)``, theta moving linearly
between 0 and pi/2, so a fade-in and a fade-out of the same length keep the
power constant (sin^2 + cos^2 = 1). A fade-out started in the middle of a
fade-in turns back from where it is: no jump.
"""

from __future__ import annotations

import math

import numpy as np

from .audio import DECLICK, SAMPLES_PER_MS, empty, ramp
from .decoder import Decoder
from .library import Track

HALF_PI = math.pi / 2


class Deck:
    """Plays one ``Track``: ``read(n)`` returns the next samples, faded at the seams.

    Raises ``DecodeError`` at construction if the file cannot be opened.
    ``position_ms`` is the track position of the next sample ``read`` returns;
    ``gain`` (linear) scales everything the deck plays.
    """

    def __init__(self, track: Track, *, gain: float = 1.0, fade: int = DECLICK) -> None:
        self.track = track
        self.gain = float(gain)
        self._decoder = Decoder(track.path)
        self._fade = fade
        self._buf = empty()  # decoded samples not yet handed out (the look-ahead)
        self._fade_in_at = 0  # samples of the current fade-in already played
        self._tail_faded = False
        self._theta = HALF_PI  # the equal-power envelope: gain sin(theta)
        self._dtheta = 0.0  # per sample: > 0 crossfading in, < 0 crossfading out
        self.samples_played = 0

    @property
    def position_ms(self) -> float:
        return self._decoder.position_ms - len(self._buf) / SAMPLES_PER_MS

    @property
    def remaining_ms(self) -> float:
        """Time left to play by the track's duration (may be off for files with a wrong header)."""
        return self.track.duration_ms - self.position_ms

    @property
    def finished(self) -> bool:
        """True once the last sample of the track has been read, or a crossfade out is complete."""
        faded_out = self._theta <= 0.0 and self._dtheta <= 0.0
        return faded_out or (self._decoder.finished and len(self._buf) == 0)

    @property
    def fading_out(self) -> bool:
        return self._dtheta < 0.0

    def crossfade_in(self, samples: int) -> None:
        """Rise from silence over ``samples`` (equal-power)."""
        self._theta = 0.0
        self._dtheta = HALF_PI / max(1, samples)

    def crossfade_out(self, samples: int) -> None:
        """Fall to silence from the current level; a full fall takes ``samples`` (equal-power)."""
        self._dtheta = -HALF_PI / max(1, samples)

    def read(self, n: int) -> np.ndarray:
        """Up to ``n`` samples (fewer only at the end of the track)."""
        out = self._take(n)
        self._buf = self._buf[len(out) :]
        gains = self._gains(len(out))
        self._fade_in_at += len(out)
        self._theta = min(HALF_PI, max(0.0, self._theta + self._dtheta * len(out)))
        if self._dtheta > 0.0 and self._theta >= HALF_PI:
            self._dtheta = 0.0  # a fade-in is complete (a fade-out is kept: it marks the end)
        self.samples_played += len(out)
        return out * gains

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` samples as ``read`` would return them, without consuming them."""
        out = self._take(n)
        return out * self._gains(len(out))

    def fade_in(self) -> None:
        """Fade the next samples in (after a pause)."""
        self._fade_in_at = 0

    def seek(self, position_ms: float) -> None:
        """Continue from ``position_ms``, fading in."""
        self._decoder.seek(position_ms)
        self._buf = empty()
        self._tail_faded = False
        self.fade_in()

    def close(self) -> None:
        self._decoder.close()
        self._buf = empty()

    def _take(self, n: int) -> np.ndarray:
        """The first ``n`` buffered samples, decoding ahead so that the fade-out can be placed."""
        want = n + self._fade
        while len(self._buf) < want and not self._decoder.finished:
            chunk = self._decoder.read(want - len(self._buf))
            if len(chunk) == 0:
                break
            self._buf = np.concatenate((self._buf, chunk)) if len(self._buf) else chunk
        if self._decoder.finished and not self._tail_faded:
            self._tail_faded = True
            k = min(self._fade, len(self._buf))
            if k:
                self._buf = self._buf.copy()
                self._buf[-k:] *= ramp(1.0, 0.0, k)
        return self._buf[:n]

    def _gains(self, n: int) -> np.ndarray | np.float32:
        """The gains of the next ``n`` samples: a column, or one number when they are all equal."""
        if self._dtheta == 0.0:
            gains: np.ndarray | np.float32 = np.float32(self.gain * math.sin(self._theta))
        else:
            theta = np.clip(self._theta + self._dtheta * np.arange(n), 0.0, HALF_PI)
            gains = (self.gain * np.sin(theta)).astype(np.float32)[:, None]
        done = self._fade_in_at
        if done >= self._fade or n == 0:
            return gains
        declick = np.ones((n, 1), dtype=np.float32)
        k = min(n, self._fade - done)
        declick[:k] = ramp(done / self._fade, (done + k) / self._fade, k)
        return declick * gains
