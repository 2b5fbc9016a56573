"""A room's decks and the seams between them: the current track, the ones still fading out under
it, equal-power crossfades at a track's end and on a skip, and 10 ms fades wherever a deck stops
short (a cut, a seek, a pause).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from .audio import DECLICK, SAMPLES_PER_MS, fade_out, overlay
from .deck import Deck
from .lineup import Lineup

log = logging.getLogger(__name__)

DEFAULT_CROSSFADE_S = 3.0
MAX_CROSSFADE_S = 20.0
MAX_OUTGOING = 2  # decks still fading out; an older one is cut (with the 10 ms fade)


class Crossfader:
    """The current deck (and the queue entry it came from), the decks fading out under it, and
    the crossfade length; what plays next comes from ``lineup``.

    ``play(out)`` adds one frame of every deck into ``out``, moving on (crossfading, or gaplessly
    with a length of 0) at the current track's end; the 10 ms fade-outs of the decks stopped short
    since the last frame are collected by ``take_tail()``. ``on_change()`` is called whenever the
    current track changes or a broken one is dropped.
    """

    def __init__(
        self,
        lineup: Lineup,
        *,
        on_change: Callable[[], object],
        crossfade_s: float = DEFAULT_CROSSFADE_S,
    ) -> None:
        self._lineup = lineup
        self._on_change = on_change
        self._deck: Deck | None = None
        self._entry_id: str | None = None  # the queue entry the current deck came from
        self._outgoing: list[Deck] = []  # decks fading out under the current one
        self._length_ms = 0.0
        self.set_length(crossfade_s)
        self._plan: tuple[Deck, float] | None = None  # (current deck, its crossfade length)
        self._tail: np.ndarray | None = None

    @property
    def current(self) -> Deck | None:
        return self._deck

    @property
    def entry_id(self) -> str | None:
        return self._entry_id

    @property
    def length_s(self) -> float:
        return self._length_ms / 1000.0

    def set_length(self, seconds: float) -> None:
        """Crossfade length for the next track changes (0: gapless hard cuts with the 10 ms fades)."""
        self._length_ms = min(MAX_CROSSFADE_S, max(0.0, float(seconds))) * 1000.0
        self._plan = None

    def replan(self) -> None:
        """Forget the planned crossfade: what plays next (and so its length) may have changed."""
        self._plan = None

    def current_or_next(self) -> Deck | None:
        """The current deck, else what plays next, opened and made current; None if nothing is playable."""
        return self._deck or self._start_next()

    # -- per tick -----------------------------------------------------------

    def play(self, out: np.ndarray) -> None:
        """Add one frame of the current deck and the outgoing ones into ``out``."""
        try:  # a broken file must cost a track, never a tick
            self._maybe_crossfade()
            self._fill(out)
        except Exception:
            self._drop_broken_deck()
        self._mix_outgoing(out)

    def take_tail(self) -> np.ndarray | None:
        """The pending 10 ms fade-outs (to add at the start of the next frame), cleared."""
        tail, self._tail = self._tail, None
        return tail

    # -- transport ----------------------------------------------------------

    def skip(self, *, paused: bool) -> bool:
        """Make what plays next current now, crossfading from the current position when a
        crossfade is set (and not ``paused``); False if nothing plays next."""
        old = self.current_or_next()
        if old is None:
            return False
        following = self._lineup.open_next()
        if following is None:
            return False
        deck, entry_id = following
        if paused or old.samples_played == 0:
            old.close()
        elif self._length_ms > 0:
            self._hand_over(old, deck, min(self._length_ms, deck.track.duration_ms / 2))
        else:
            self._cut(old)
        self._set_current(deck, entry_id)
        return True

    def pause(self) -> None:
        """Cut the outgoing decks and fade the current one out; its position holds."""
        for deck in self._outgoing:
            self._cut(deck)
        self._outgoing = []
        if self._deck is not None:
            self._declick_out(self._deck)

    def resume(self) -> None:
        """Fade the current deck back in (after ``pause``)."""
        if self._deck is not None:
            self._deck.fade_in()

    def seek(self, position_ms: float, *, paused: bool) -> bool:
        """Jump within the current track (clamped to 0..duration); False if nothing is playable."""
        deck = self.current_or_next()
        if deck is None:
            return False
        if not paused:
            self._declick_out(deck)
        deck.seek(min(max(0.0, float(position_ms)), float(deck.track.duration_ms)))
        return True

    def replace(self, deck: Deck, entry_id: str | None, *, paused: bool) -> None:
        """Make ``deck`` current now, stopping every other deck (with the 10 ms fade unless ``paused``)."""
        for old in self._decks():
            if paused:
                old.close()
            else:
                self._cut(old)
        self._outgoing = []
        self._set_current(deck, entry_id)

    def close(self) -> None:
        """Release the files."""
        for deck in self._decks():
            deck.close()
        self._outgoing = []
        self._deck = None

    # -- internals ------------------------------------------------------------

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
        if deck is None or self._length_ms <= 0 or deck.fading_out:
            return
        remaining = deck.remaining_ms
        if remaining > min(self._length_ms, deck.track.duration_ms / 2):
            return
        if self._plan is None or self._plan[0] is not deck:
            upcoming = self._lineup.upcoming()
            if upcoming is None:
                return
            length = min(self._length_ms, deck.track.duration_ms / 2, upcoming.duration_ms / 2)
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
        self._on_change()

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
        self._on_change()
