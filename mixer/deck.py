"""A deck: one track being played, with short fades at its seams.

The deck is what a crossfade will later run two of at once. For now it fades
its own start (and every restart after a seek or a pause) in over 10 ms and
its last 10 ms out, looking ahead in the decoder to know where the end is.
"""

from __future__ import annotations

import numpy as np

from .audio import DECLICK, SAMPLES_PER_MS, empty, ramp
from .decoder import Decoder
from .library import Track


class Deck:
    """Plays one ``Track``: ``read(n)`` returns the next samples, faded at the seams.

    Raises ``DecodeError`` at construction if the file cannot be opened.
    ``position_ms`` is the track position of the next sample ``read`` returns.
    """

    def __init__(self, track: Track, *, fade: int = DECLICK) -> None:
        self.track = track
        self._decoder = Decoder(track.path)
        self._fade = fade
        self._buf = empty()  # decoded samples not yet handed out (the look-ahead)
        self._fade_in_at = 0  # samples of the current fade-in already played
        self._tail_faded = False
        self.samples_played = 0

    @property
    def position_ms(self) -> float:
        return self._decoder.position_ms - len(self._buf) / SAMPLES_PER_MS

    @property
    def finished(self) -> bool:
        """True once the last sample of the track has been read."""
        return self._decoder.finished and len(self._buf) == 0

    def read(self, n: int) -> np.ndarray:
        """Up to ``n`` samples (fewer only at the end of the track)."""
        out = self._take(n)
        self._buf = self._buf[len(out) :]
        gains = self._fade_in_gains(len(out))
        self._fade_in_at += len(out)
        self.samples_played += len(out)
        return out * gains if gains is not None else out

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` samples as ``read`` would return them, without consuming them."""
        out = self._take(n)
        gains = self._fade_in_gains(len(out))
        return out * gains if gains is not None else out.copy()

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

    def _fade_in_gains(self, n: int) -> np.ndarray | None:
        done = self._fade_in_at
        if done >= self._fade or n == 0:
            return None
        gains = np.ones((n, 1), dtype=np.float32)
        k = min(n, self._fade - done)
        gains[:k] = ramp(done / self._fade, (done + k) / self._fade, k)
        return gains
