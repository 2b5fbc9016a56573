"""A room's music: the library in rotation, one 20 ms frame per tick of the room clock.

Sans-I/O in spirit: nothing here schedules anything. The room's clock (in the
SFU) calls ``next_frame(now_ms)`` exactly once per tick; ``render(now_ms)`` is
the deterministic numpy core under it, tested with a fake clock.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from pyee.asyncio import AsyncIOEventEmitter

from .audio import DECLICK, FRAME_MS, GainRamp, fade_out, silence
from .deck import Deck
from .decoder import DecodeError
from .encoder import OpusFrameEncoder
from .library import Library, Track

log = logging.getLogger(__name__)


class RoomMusic(AsyncIOEventEmitter):
    """Plays ``library`` in rotation, forever; silence when there is nothing playable.

    ``next_frame(now_ms)`` (the SFU's ``MusicSource``) returns one Opus packet
    per call; ``render(now_ms)`` the ``(960, 2)`` float32 frame under it. Both
    must be called exactly once per 20 ms tick, ``now_ms`` being the tick's
    time on the server clock. ``clock_ms`` is only used to state
    ``now_playing`` before the first tick.

    Every seam (track change, skip, seek, pause, play) gets a 10 ms fade, and
    gain changes are ramped, so nothing clicks. A skip, seek or pause fades the
    old sound out while the new one fades in: ``_tail`` holds that faded
    remainder and is mixed into the next frame (the seam a crossfade will use).

    Event ``now_playing`` (the ``now_playing()`` dict) on every track change,
    pause, play, skip and seek, and when ticks were missed (the timeline
    moved). Files that fail to open are logged and skipped for good.
    """

    def __init__(
        self,
        library: Library,
        *,
        clock_ms: Callable[[], float] | None = None,
        encoder: OpusFrameEncoder | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self._clock_ms = clock_ms
        self._encoder = encoder or OpusFrameEncoder()
        self._deck: Deck | None = None
        self._paused = False
        self._gain = GainRamp(1.0)
        self._tail: np.ndarray | None = None
        self._bad: set[str] = set()
        self._last_tick_ms: float | None = None
        self._changed = False
        self.on("error", self._log_handler_error)

    # -- per tick -----------------------------------------------------------

    def next_frame(self, now_ms: float) -> bytes:
        """One Opus packet (20 ms, 48 kHz stereo) for the tick at ``now_ms``."""
        return self._encoder.encode(self.render(now_ms))

    def render(self, now_ms: float) -> np.ndarray:
        """The ``(960, 2)`` float32 frame for the tick at ``now_ms`` (advances playback 20 ms)."""
        out = silence()
        if not self._paused:
            try:
                self._fill(out)
            except Exception:  # a broken file must cost a track, never a tick
                self._drop_broken_deck()
        if self._tail is not None:
            out[: len(self._tail)] += self._tail
            self._tail = None
        self._gain.apply(out)
        last = self._last_tick_ms
        if last is not None and abs(now_ms - last - FRAME_MS) > 1.0 and not self._paused:
            self._changed = True  # ticks were missed: the position moved against the clock
        self._last_tick_ms = now_ms
        if self._changed:
            self._changed = False
            self._emit_now_playing()
        return out

    # -- controls -----------------------------------------------------------

    def now_playing(self) -> dict[str, Any] | None:
        """``{"track", "position_ms", "server_ms", "paused"}``: the track was at
        ``position_ms`` at server time ``server_ms``; ``None`` if nothing is playable."""
        deck = self._deck or self._load(None)
        if deck is None:
            return None
        position = max(0.0, deck.position_ms)
        whole = math.floor(position)
        return {
            "track": deck.track.to_json(),
            "position_ms": int(whole),
            "server_ms": self._next_tick_ms() - (position - whole),
            "paused": self._paused,
        }

    def skip(self) -> None:
        """Go to the next track of the rotation now (paused or not)."""
        old = self._deck or self._load(None)
        if old is None:
            return
        self._fade_out_current()
        self._deck = None
        old.close()
        self._load(old.track)
        self._emit_now_playing()

    def pause(self) -> None:
        """Silence from the next tick on (after a 10 ms fade); the position holds."""
        if self._paused:
            return
        self._fade_out_current()
        self._paused = True
        self._emit_now_playing()

    def play(self) -> None:
        """Resume where paused, fading in."""
        if not self._paused:
            return
        self._paused = False
        if self._deck is not None:
            self._deck.fade_in()
        self._emit_now_playing()

    def seek(self, position_ms: float) -> None:
        """Jump within the current track (clamped to 0..duration); past the end moves on."""
        deck = self._deck or self._load(None)
        if deck is None:
            return
        self._fade_out_current()
        deck.seek(min(max(0.0, float(position_ms)), float(deck.track.duration_ms)))
        self._emit_now_playing()

    def set_gain(self, gain: float) -> None:
        """Music level 0..1, reached by a short ramp (no click)."""
        self._gain.set(gain)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def gain(self) -> float:
        return self._gain.target

    def close(self) -> None:
        """Release the current file."""
        if self._deck is not None:
            self._deck.close()
            self._deck = None

    # -- internals ----------------------------------------------------------

    def _fill(self, out: np.ndarray) -> None:
        """Fill ``out`` from the current deck, moving on to the next tracks as they end."""
        filled = 0
        budget = len(self.library) + 2  # tracks that end at once; never loop forever
        while filled < len(out) and budget > 0:
            deck = self._deck or self._load(None)
            if deck is None:
                return
            chunk = deck.read(len(out) - filled)
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            if deck.finished:
                budget -= 1
                self._deck = None
                deck.close()
                if deck.samples_played == 0:
                    log.warning("track %s has no audio, skipping it", deck.track.path)
                    self._bad.add(deck.track.track_id)
                self._load(deck.track)

    def _drop_broken_deck(self) -> None:
        deck, self._deck = self._deck, None
        if deck is None:
            log.exception("music render failed")
            return
        log.exception("track %s failed while playing, skipping it", deck.track.path)
        self._bad.add(deck.track.track_id)
        try:
            deck.close()
        except Exception:
            log.debug("closing a broken deck failed", exc_info=True)
        self._changed = True

    def _load(self, after: Track | None) -> Deck | None:
        """Open the track following ``after`` in the rotation (the first if ``None``)."""
        for track in self._rotation(after):
            try:
                self._deck = Deck(track)
            except DecodeError as exc:
                log.warning("skipping unplayable track %s: %s", track.path, exc)
                self._bad.add(track.track_id)
                continue
            self._changed = True
            return self._deck
        self._deck = None
        return None

    def _rotation(self, after: Track | None) -> list[Track]:
        """The playable tracks, starting with the one after ``after`` and wrapping around."""
        tracks = self.library.tracks()
        start = 0
        if after is not None:
            ids = [t.track_id for t in tracks]
            if after.track_id in ids:
                start = ids.index(after.track_id) + 1
        ordered = tracks[start:] + tracks[:start]
        return [t for t in ordered if t.track_id not in self._bad]

    def _fade_out_current(self) -> None:
        """Queue a 10 ms fade-out of what would have played next (nothing if paused)."""
        if self._deck is None or self._paused:
            return
        tail = fade_out(self._deck.peek(DECLICK))
        if self._tail is not None:  # two seams within one tick: keep both fades
            both = silence(max(len(tail), len(self._tail)))
            both[: len(tail)] += tail
            both[: len(self._tail)] += self._tail
            tail = both
        self._tail = tail

    def _next_tick_ms(self) -> float:
        """Server time of the next frame to be rendered."""
        if self._last_tick_ms is not None:
            return self._last_tick_ms + FRAME_MS
        return self._clock_ms() if self._clock_ms is not None else 0.0

    def _emit_now_playing(self) -> None:
        self._changed = False
        state = self.now_playing()
        if state is not None:
            self.emit("now_playing", state)

    @staticmethod
    def _log_handler_error(exc: BaseException) -> None:
        log.error("now_playing handler failed", exc_info=exc)
