"""A room's music: its queue, then the library in rotation, one 20 ms frame per tick of the room clock.

Sans-I/O in spirit: nothing here schedules anything. The room's clock (in the
SFU) calls ``next_frame(now_ms)`` exactly once per tick; ``render(now_ms)`` is
the deterministic numpy core under it, tested with a fake clock.

The music bus, per frame::

    decks (each at its loudness-normalizing gain, with its crossfade envelope)
      -> sum (+ the 10 ms fade-outs of cut decks) -> ducking -> music gain
      -> true-peak limiter (5 ms look-ahead) -> Opus

Every track is brought to ``target_lufs`` (default -16 LUFS) by a fixed gain
of ``target - loudness``, at most +12 dB; the limiter keeps the peaks that
boost pushes up under -1 dBTP.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from pyee.asyncio import AsyncIOEventEmitter

from .audio import FRAME_MS, GainRamp, silence
from .crossfader import DEFAULT_CROSSFADE_S, Crossfader
from .ducker import DEFAULT_DEPTH_DB, Ducker
from .encoder import OpusFrameEncoder
from .library import Library, Track
from .limiter import PeakLimiter
from .lineup import DEFAULT_TARGET_LUFS, Lineup
from .rotation import Rotation

log = logging.getLogger(__name__)


class RoomMusic(AsyncIOEventEmitter):
    """Plays the queue, else ``library`` in rotation, forever; silence when nothing is playable.

    ``next_frame(now_ms)`` (the SFU's ``MusicSource``) returns one Opus packet
    per call; ``render(now_ms)`` the ``(960, 2)`` float32 frame under it. Both
    must be called exactly once per 20 ms tick, ``now_ms`` being the tick's
    time on the server clock. ``clock_ms`` is only used to state
    ``now_playing`` before the first tick.

    Tracks change with an equal-power crossfade of ``crossfade_s`` (at most
    half of either track), at their end and on ``skip``; with 0 they follow
    gaplessly. Every other seam (seek, pause, play, a cut) gets a 10 ms fade,
    and gain changes are ramped, so nothing clicks. The rotation resumes after
    the last rotation track played once the queue is empty.

    Events: ``now_playing`` (the ``now_playing()`` dict) on every track change
    (at the start of a crossfade), pause, play, skip and seek, and when ticks
    were missed (the timeline moved); ``queue`` (the ``queue()`` list) on every
    change of the queue, including an entry leaving it to play. Files that
    fail to open are logged and skipped (from the rotation, for good).
    """

    def __init__(
        self,
        library: Library,
        *,
        clock_ms: Callable[[], float] | None = None,
        encoder: OpusFrameEncoder | None = None,
        queue: Iterable[tuple[str, Track]] = (),
        crossfade_s: float = DEFAULT_CROSSFADE_S,
        ducking_db: float = DEFAULT_DEPTH_DB,
        target_lufs: float | None = DEFAULT_TARGET_LUFS,
        ceiling_dbtp: float = -1.0,
        rotation: Rotation | None = None,
    ) -> None:
        super().__init__()
        self.library = library
        self._clock_ms = clock_ms
        self._encoder = encoder or OpusFrameEncoder()
        self._lineup = Lineup(library, queue, target_lufs=target_lufs, on_queue_change=self._queue_changed,
                              rotation=rotation)  # a station's rules; None: the library A-Z
        self._crossfader = Crossfader(self._lineup, on_change=self._mark_changed, crossfade_s=crossfade_s)
        self._paused = False
        self._gain = GainRamp(1.0)
        self._ducker = Ducker(ducking_db)
        self._limiter = PeakLimiter(ceiling_dbtp)
        self._last_tick_ms: float | None = None
        self._changed = False
        self.on("error", self._log_handler_error)

    # -- per tick -----------------------------------------------------------

    def next_frame(self, now_ms: float) -> bytes:
        """One Opus packet (20 ms, 48 kHz stereo) for the tick at ``now_ms``."""
        return self._encoder.encode(self.render(now_ms))

    def advance(self, now_ms: float) -> None:
        """The tick at ``now_ms`` for nobody: playback moves on as with ``next_frame``, no Opus is
        made (the encoder picks up at the next ``next_frame``, a seam only the first listener hears)."""
        self.render(now_ms)

    def render(self, now_ms: float) -> np.ndarray:
        """The ``(960, 2)`` float32 frame for the tick at ``now_ms`` (advances playback 20 ms)."""
        bus = silence()
        if not self._paused:
            self._crossfader.play(bus)
        tail = self._crossfader.take_tail()
        if tail is not None:
            bus[: len(tail)] += tail
        self._ducker.apply(bus)
        self._gain.apply(bus)
        out = self._limiter.process(bus)
        last = self._last_tick_ms
        if last is not None and abs(now_ms - last - FRAME_MS) > 1.0 and not self._paused:
            self._changed = True  # ticks were missed: the position moved against the clock
        self._last_tick_ms = now_ms
        if self._changed:
            self._emit_now_playing()
        return out

    # -- transport ----------------------------------------------------------

    def now_playing(self) -> dict[str, Any] | None:
        """``{"track", "position_ms", "server_ms", "paused"}``: the track was at
        ``position_ms`` at server time ``server_ms`` (as heard, after the limiter's
        look-ahead); ``None`` if nothing is playable."""
        deck = self._crossfader.current_or_next()
        if deck is None:
            return None
        position = max(0.0, deck.position_ms)
        whole = math.floor(position)
        return {
            "track": deck.track.to_json(),
            "position_ms": int(whole),
            "server_ms": self._next_tick_ms() + self.latency_ms - (position - whole),
            "paused": self._paused,
        }

    def skip(self) -> None:
        """Go to the queue's head, else the next track of the rotation, now (paused or not);
        crossfading from the current position when a crossfade is set."""
        if self._crossfader.skip(paused=self._paused):
            self._emit_now_playing()

    def pause(self) -> None:
        """Silence from the next tick on (after a 10 ms fade); the position holds."""
        if self._paused:
            return
        self._crossfader.pause()
        self._paused = True
        self._emit_now_playing()

    def play(self) -> None:
        """Resume where paused, fading in."""
        if not self._paused:
            return
        self._paused = False
        self._crossfader.resume()
        self._emit_now_playing()

    def seek(self, position_ms: float) -> None:
        """Jump within the current track (clamped to 0..duration); past the end moves on."""
        if self._crossfader.seek(position_ms, paused=self._paused):
            self._emit_now_playing()

    def set_gain(self, gain: float) -> None:
        """Music level 0..1, reached by a short ramp (no click)."""
        self._gain.set(gain)

    def set_crossfade(self, seconds: float) -> None:
        """Crossfade length for the next track changes (0: gapless hard cuts with the 10 ms fades)."""
        self._crossfader.set_length(seconds)

    def set_ducking(self, db: float) -> None:
        """How far the music dips under voices, in dB (0 turns ducking off)."""
        self._ducker.set_depth(db)

    def set_voice_active(self, active: bool) -> None:
        """Someone on stage is talking (True) or nobody is (False): the music ducks under them."""
        self._ducker.set_active(active)

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def gain(self) -> float:
        return self._gain.target

    @property
    def crossfade_s(self) -> float:
        return self._crossfader.length_s

    @property
    def ducking_db(self) -> float:
        return self._ducker.depth_db

    @property
    def latency_ms(self) -> float:
        """How much later than rendered a sample comes out (the limiter's look-ahead)."""
        return self._limiter.latency_ms

    # -- queue --------------------------------------------------------------

    def queue(self) -> list[dict[str, Any]]:
        """The entries still to play, head first: ``[{"entry_id", "track"}]``."""
        return [entry.to_json() for entry in self._lineup.queue.entries()]

    def queue_add(self, track: Track, *, entry_id: str | None = None) -> dict[str, Any]:
        """Append ``track`` to the queue; returns the new entry (``ValueError`` on a repeated id)."""
        entry = self._lineup.queue.add(track, entry_id)
        self._queue_changed()
        return entry.to_json()

    def queue_remove(self, entry_id: str) -> bool:
        """Drop an entry; False if there is none with this id."""
        return self._lineup.queue.remove(entry_id) and self._queue_changed()

    def queue_move(self, entry_id: str, index: int) -> bool:
        """Move an entry to ``index`` (clamped); False if there is none with this id."""
        return self._lineup.queue.move(entry_id, index) and self._queue_changed()

    def remove_track(self, track_id: str) -> bool:
        """Take a track out of this room (it left the library): every queue entry of it goes and,
        if it is playing, what plays next starts now (a cut with the 10 ms fade, no crossfade:
        the track is gone). A crossfade already carrying it out finishes. True if anything changed.
        """
        dropped = self._lineup.queue.remove_track(track_id)
        if dropped:
            self._queue_changed()
        deck = self._crossfader.current
        if deck is None or deck.track.track_id != track_id:
            return bool(dropped)
        following = self._lineup.open_next()
        if following is None:  # nothing else to play: fade out to silence
            self._crossfader.pause()
            self._crossfader.close()
        else:
            self._crossfader.replace(following[0], following[1], paused=self._paused)
        self._emit_now_playing()
        return True

    def restore_queue(self, entries: Iterable[tuple[str, Track]]) -> None:
        """Replace the queue with persisted ``(entry_id, track)`` pairs, head first."""
        self._lineup.queue.replace(entries)
        self._queue_changed()

    # -- persistence --------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What to save to resume this room's music after a restart (JSON-friendly):
        ``track_id``, ``entry_id`` (the queue entry playing, if any), ``position_ms``,
        ``paused``, ``gain``, ``crossfade_s``, ``ducking_db``, ``queue`` [(entry_id, track_id)]."""
        deck = self._crossfader.current
        return {
            "track_id": deck.track.track_id if deck else None,
            "entry_id": self._crossfader.entry_id if deck else None,
            "position_ms": int(max(0.0, deck.position_ms)) if deck else 0,
            "paused": self._paused,
            "gain": self._gain.target,
            "crossfade_s": self.crossfade_s,
            "ducking_db": self.ducking_db,
            "queue": [(e.entry_id, e.track.track_id) for e in self._lineup.queue.entries()],
        }

    def restore_playback(
        self, track: Track, position_ms: float = 0.0, *, paused: bool = False, entry_id: str | None = None
    ) -> bool:
        """Make ``track`` current at ``position_ms`` (paused or not); False if it cannot be opened.

        A rotation track (no ``entry_id``) also sets where the rotation goes on from.
        """
        deck = self._lineup.open(track)
        if deck is None:
            return False
        self._crossfader.replace(deck, entry_id, paused=self._paused)
        if entry_id is None:
            self._lineup.rotation_last = track
        if position_ms > 0:
            deck.seek(min(float(position_ms), float(track.duration_ms)))
        self._paused = bool(paused)
        self._emit_now_playing()
        return True

    def close(self) -> None:
        """Release the files."""
        self._crossfader.close()

    # -- internals: events ----------------------------------------------------

    def _next_tick_ms(self) -> float:
        """Server time of the next frame to be rendered."""
        if self._last_tick_ms is not None:
            return self._last_tick_ms + FRAME_MS
        return self._clock_ms() if self._clock_ms is not None else 0.0

    def _mark_changed(self) -> None:
        self._changed = True

    def _emit_now_playing(self) -> None:
        self._changed = False
        state = self.now_playing()
        if state is not None:
            self.emit("now_playing", state)

    def _queue_changed(self) -> bool:
        self._crossfader.replan()
        self.emit("queue", self.queue())
        return True

    @staticmethod
    def _log_handler_error(exc: BaseException) -> None:
        log.error("music event handler failed", exc_info=exc)
