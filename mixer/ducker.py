"""Ducking: the music dips while someone speaks, and comes back when they stop.

``set_active(True)`` (from the speakers' audio levels, a few times a second
or per packet) takes the music down by ``depth_db`` in ``attack_ms`` (40 ms);
after ``set_active(False)`` it holds for ``hold_ms`` (100 ms: the gaps between
words do not pump), then comes back up over ``release_ms`` (500 ms). The
gain moves linearly in dB, sample by sample, in time counted in samples
rendered: deterministic under a fake clock.
"""

from __future__ import annotations

import numpy as np

from .audio import SAMPLES_PER_MS

DEFAULT_DEPTH_DB = 12.0
MAX_DEPTH_DB = 40.0


class Ducker:
    """A gain in dB (0 or below) applied in place to each frame by ``apply``."""

    def __init__(
        self,
        depth_db: float = DEFAULT_DEPTH_DB,
        *,
        attack_ms: float = 40.0,
        hold_ms: float = 100.0,
        release_ms: float = 500.0,
    ) -> None:
        self.depth_db = 0.0
        self.set_depth(depth_db)
        self._attack = max(1.0, attack_ms * SAMPLES_PER_MS)  # samples for a full dip
        self._release = max(1.0, release_ms * SAMPLES_PER_MS)
        self._hold = round(hold_ms * SAMPLES_PER_MS)
        self._active = False
        self._hold_left = 0  # samples of hold still to go after the voice stopped
        self.level_db = 0.0  # the gain now

    @property
    def active(self) -> bool:
        return self._active

    def set_depth(self, depth_db: float) -> None:
        """How far the music dips, in dB (0 turns ducking off; at most 40)."""
        self.depth_db = min(MAX_DEPTH_DB, max(0.0, float(depth_db)))

    def set_active(self, active: bool) -> None:
        """Voice on (dip) or off (hold, then release)."""
        if self._active and not active:
            self._hold_left = self._hold
        self._active = bool(active)

    def apply(self, buf: np.ndarray) -> None:
        """Scale ``buf`` in place, moving the gain towards where it should be."""
        n = len(buf)
        ducked = self._active or self._hold_left > 0
        if not self._active:
            self._hold_left = max(0, self._hold_left - n)
        target = -self.depth_db if ducked else 0.0
        current = self.level_db
        if current == target:
            if current != 0.0:
                buf *= np.float32(10.0 ** (current / 20.0))
            return
        span = self.depth_db if self.depth_db > 0 else abs(target - current)
        rate = span / (self._attack if target < current else self._release)
        steps = np.arange(1, n + 1) * rate
        if target < current:
            levels = np.maximum(current - steps, target)
        else:
            levels = np.minimum(current + steps, target)
        self.level_db = float(levels[-1])
        buf *= (10.0 ** (levels / 20.0)).astype(np.float32)[:, None]
