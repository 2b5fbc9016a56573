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

from .audio import DECLICK, FRAME_MS, SAMPLES_PER_MS, GainRamp, fade_out, overlay, silence
from .deck import Deck
from .ducker import DEFAULT_DEPTH_DB, Ducker
from .encoder import OpusFrameEncoder
from .library import Library, Track
from .limiter import PeakLimiter
from .lineup import DEFAULT_TARGET_LUFS, Lineup

log = logging.getLogger(__name__)

DEFAULT_CROSSFADE_S = 3.0
MAX_CROSSFADE_S = 20.0
MAX_OUTGOING = 2  # decks still fading out; an older one is cut (with the 10 ms fade)


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
    ) -> None:
        super().__init__()
        self.library = library
        self._clock_ms = clock_ms
        self._encoder = encoder or OpusFrameEncoder()
        self._lineup = Lineup(library, queue, target_lufs=target_lufs, on_queue_change=self._queue_changed)
        self._deck: Deck | None = None
        self._entry_id: str | None = None  # the queue entry the current deck came from
        self._outgoing: list[Deck] = []  # decks fading out under the current one
        self._crossfade_ms = 0.0
        self.set_crossfade(crossfade_s)
        self._plan: tuple[Deck, float] | None = None  # (current deck, its crossfade length)
        self._paused = False
        self._gain = GainRamp(1.0)
        self._ducker = Ducker(ducking_db)
        self._limiter = PeakLimiter(ceiling_dbtp)
        self._tail: np.ndarray | None = None
        self._last_tick_ms: float | None = None
        self._changed = False
        self.on("error", self._log_handler_error)

    # -- per tick -----------------------------------------------------------

    def next_frame(self, now_ms: float) -> bytes:
        """One Opus packet (20 ms, 48 kHz stereo) for the tick at ``now_ms``."""
        return self._encoder.encode(self.render(now_ms))

    def render(self, now_ms: float) -> np.ndarray:
        """The ``(960, 2)`` float32 frame for the tick at ``now_ms`` (advances playback 20 ms)."""
        bus = silence()
        if not self._paused:
            try:  # a broken file must cost a track, never a tick
                self._maybe_crossfade()
                self._fill(bus)
            except Exception:
                self._drop_broken_deck()
            self._mix_outgoing(bus)
        if self._tail is not None:
            bus[: len(self._tail)] += self._tail
            self._tail = None
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
        deck = self._deck or self._start_next()
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
        old = self._deck or self._start_next()
        if old is None:
            return
        following = self._lineup.open_next()
        if following is None:
            return
        deck, entry_id = following
        if self._paused or old.samples_played == 0:
            old.close()
        elif self._crossfade_ms > 0:
            self._hand_over(old, deck, min(self._crossfade_ms, deck.track.duration_ms / 2))
        else:
            self._cut(old)
        self._set_current(deck, entry_id)
        self._emit_now_playing()

    def pause(self) -> None:
        """Silence from the next tick on (after a 10 ms fade); the position holds."""
        if self._paused:
            return
        for deck in self._outgoing:
            self._cut(deck)
        self._outgoing = []
        if self._deck is not None:
            self._declick_out(self._deck)
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
        deck = self._deck or self._start_next()
        if deck is None:
            return
        if not self._paused:
            self._declick_out(deck)
        deck.seek(min(max(0.0, float(position_ms)), float(deck.track.duration_ms)))
        self._emit_now_playing()

    def set_gain(self, gain: float) -> None:
        """Music level 0..1, reached by a short ramp (no click)."""
        self._gain.set(gain)

    def set_crossfade(self, seconds: float) -> None:
        """Crossfade length for the next track changes (0: gapless hard cuts with the 10 ms fades)."""
        self._crossfade_ms = min(MAX_CROSSFADE_S, max(0.0, float(seconds))) * 1000.0
        self._plan = None

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
        return self._crossfade_ms / 1000.0

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

    def restore_queue(self, entries: Iterable[tuple[str, Track]]) -> None:
        """Replace the queue with persisted ``(entry_id, track)`` pairs, head first."""
        self._lineup.queue.replace(entries)
        self._queue_changed()

    # -- persistence --------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What to save to resume this room's music after a restart (JSON-friendly):
        ``track_id``, ``entry_id`` (the queue entry playing, if any), ``position_ms``,
        ``paused``, ``gain``, ``crossfade_s``, ``ducking_db``, ``queue`` [(entry_id, track_id)]."""
        deck = self._deck
        return {
            "track_id": deck.track.track_id if deck else None,
            "entry_id": self._entry_id if deck else None,
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
        for old in self._decks():
            if self._paused:
                old.close()
            else:
                self._cut(old)
        self._outgoing = []
        self._set_current(deck, entry_id)
        if entry_id is None:
            self._lineup.rotation_last = track
        if position_ms > 0:
            deck.seek(min(float(position_ms), float(track.duration_ms)))
        self._paused = bool(paused)
        self._emit_now_playing()
        return True

    def close(self) -> None:
        """Release the files."""
        for deck in self._decks():
            deck.close()
        self._outgoing = []
        self._deck = None

    # -- internals: playing -------------------------------------------------

    def _decks(self) -> list[Deck]:
        return [*self._outgoing, *([self._deck] if self._deck else [])]

    def _fill(self, out: np.ndarray) -> None:
        """Add the current deck into ``out``, moving on gaplessly when a track ends mid-frame."""
        filled = 0
        budget = len(self._lineup) + 2  # tracks that end at once; never loop forever
        while filled < len(out) and budget > 0:
            deck = self._deck or self._start_next()
            if deck is None:
                return
            chunk = deck.read(len(out) - filled)
            out[filled : filled + len(chunk)] += chunk
            filled += len(chunk)
            if deck.finished:
                budget -= 1
                self._deck = None
                deck.close()
                if deck.samples_played == 0:
                    log.warning("track %s has no audio, skipping it", deck.track.path)
                    self._lineup.bad.add(deck.track.track_id)
                self._start_next()  # at once: now_playing names the next track from this tick on

    def _mix_outgoing(self, out: np.ndarray) -> None:
        for deck in list(self._outgoing):
            try:
                chunk = deck.read(len(out))
                out[: len(chunk)] += chunk
                done = deck.finished
            except Exception:
                log.exception("track %s failed while fading out", deck.track.path)
                done = True
            if done:
                self._outgoing.remove(deck)
                deck.close()

    def _maybe_crossfade(self) -> None:
        """At the end of the current track, start the next one under it."""
        deck = self._deck
        if deck is None or self._crossfade_ms <= 0 or deck.fading_out:
            return
        remaining = deck.remaining_ms
        if remaining > min(self._crossfade_ms, deck.track.duration_ms / 2):
            return
        if self._plan is None or self._plan[0] is not deck:
            upcoming = self._lineup.upcoming()
            if upcoming is None:
                return
            length = min(self._crossfade_ms, deck.track.duration_ms / 2, upcoming.duration_ms / 2)
            self._plan = (deck, length)
        length = self._plan[1]
        if remaining > length:
            return
        following = self._lineup.open_next()
        if following is not None:
            self._hand_over(deck, following[0], min(length, remaining) if remaining > 0 else length)
            self._set_current(*following)

    def _hand_over(self, old: Deck, new: Deck, length_ms: float) -> None:
        """Crossfade: ``old`` fades out, ``new`` in, both over ``length_ms`` (a plain start if
        nothing is left of ``old``, e.g. after a seek to its end)."""
        if len(old.peek(1)) == 0:
            old.close()
            return
        samples = max(1, round(length_ms * SAMPLES_PER_MS))
        old.crossfade_out(samples)
        new.crossfade_in(samples)
        self._outgoing.append(old)
        while len(self._outgoing) > MAX_OUTGOING:
            self._cut(self._outgoing.pop(0))

    def _cut(self, deck: Deck) -> None:
        """Stop ``deck`` now, with a 10 ms fade."""
        self._declick_out(deck)
        deck.close()

    def _declick_out(self, deck: Deck) -> None:
        """Queue a 10 ms fade-out of what ``deck`` would have played next."""
        self._tail = overlay(self._tail, fade_out(deck.peek(DECLICK)))  # several seams a tick: all fade

    def _drop_broken_deck(self) -> None:
        deck, self._deck = self._deck, None
        if deck is None:
            log.exception("music render failed")
            return
        log.exception("track %s failed while playing, skipping it", deck.track.path)
        self._lineup.bad.add(deck.track.track_id)
        try:
            deck.close()
        except Exception:
            log.debug("closing a broken deck failed", exc_info=True)
        self._changed = True

    # -- internals: what plays next -------------------------------------------

    def _start_next(self) -> Deck | None:
        """Open what plays next and make it current (with a 10 ms fade-in)."""
        following = self._lineup.open_next()
        if following is None:
            self._deck = None
            return None
        self._set_current(*following)
        return self._deck

    def _set_current(self, deck: Deck, entry_id: str | None) -> None:
        self._deck, self._entry_id = deck, entry_id
        self._changed = True

    # -- internals: events ----------------------------------------------------

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

    def _queue_changed(self) -> bool:
        self._plan = None
        self.emit("queue", self.queue())
        return True

    @staticmethod
    def _log_handler_error(exc: BaseException) -> None:
        log.error("music event handler failed", exc_info=exc)
