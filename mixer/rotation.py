"""A station's rotation rules: which of its tracks play when the queue is empty, in order or
shuffled, with artists and titles kept apart.

``artist_separation = N``: a track whose artist is among the last N tracks played is not picked
while another track qualifies (so with N = 2, an artist never plays twice within 3 consecutive
tracks); ``title_separation`` is the same for titles. Every play counts in that history (queued
and requested tracks too), but only the rotation's own picks are held to the rules: the host's
queue is theirs. When no track qualifies (too few artists for N) the one whose artist played
longest ago comes first, so the music never stops. Tracks without an artist tag are never kept
apart by artist.

Shuffle deals the tracks like a deck: each plays once before any plays again, a new deck is dealt
when one runs out, and tracks added meanwhile are slipped in at random places.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .library import Track, sort_key

HISTORY = 200  # plays remembered: past the largest separation anyone would set


def _artist(track: Track) -> str:
    return track.artist.strip().casefold()


def _title(track: Track) -> str:
    return track.title.strip().casefold()


def under(path: Path, folders: list[Path]) -> bool:
    """Whether ``path`` lies inside one of ``folders`` (all absolute)."""
    return any(path == folder or folder in path.parents for folder in folders)


class Rotation:
    """The order the rotation tries tracks in, from ``source()`` (the station's tracks now).

    ``order(after, bad)`` is a pure view (the next track first; ``bad`` tracks left out);
    ``played(track)`` records a play. ``rng`` makes the shuffle reproducible in tests.
    """

    def __init__(
        self,
        source: Callable[[], list[Track]],
        *,
        shuffle: bool = False,
        artist_separation: int = 0,
        title_separation: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        if artist_separation < 0 or title_separation < 0:
            raise ValueError("separations are counts of tracks: 0 or more")
        self.source = source
        self.shuffle = shuffle
        self.artist_separation = artist_separation
        self.title_separation = title_separation
        self.history: deque[Track] = deque(maxlen=max(HISTORY, artist_separation, title_separation))
        self._rng = rng or random.Random()
        self._deck: list[str] = []  # the shuffled order of this round, by track id
        self._dealt: set[str] = set()  # played in this round

    def __len__(self) -> int:
        return len(self.source())

    def played(self, track: Track) -> None:
        """``track`` started playing (from the rotation or the queue)."""
        self.history.append(track)
        self._dealt.add(track.track_id)

    def order(self, after: Track | None, bad: set[str]) -> list[Track]:
        """Every playable track, the one to play next first."""
        tracks = [t for t in self.source() if t.track_id not in bad]
        base = self._shuffled(tracks) if self.shuffle else _after(tracks, after)
        return self._separated(base)

    def _shuffled(self, tracks: list[Track]) -> list[Track]:
        by_id = {t.track_id: t for t in tracks}
        known = set(self._deck)
        for track_id in by_id:
            if track_id not in known:  # new since the deal: somewhere in the rest of the round
                self._deck.insert(self._rng.randint(0, len(self._deck)), track_id)
        self._deck = [i for i in self._deck if i in by_id]
        if by_id and all(i in self._dealt for i in self._deck):
            self._deal(list(by_id))
        ahead = [by_id[i] for i in self._deck if i not in self._dealt]
        return ahead + [by_id[i] for i in self._deck if i in self._dealt]

    def _deal(self, ids: list[str]) -> None:
        self._rng.shuffle(ids)
        last = self.history[-1].track_id if self.history else None
        if len(ids) > 1 and ids[0] == last:  # a new round never opens with the track just played
            ids.append(ids.pop(0))
        self._deck, self._dealt = ids, set()

    def _separated(self, base: list[Track]) -> list[Track]:
        recent = list(self.history)
        artists = {_artist(t) for t in recent[-self.artist_separation:]} if self.artist_separation else set()
        titles = {_title(t) for t in recent[-self.title_separation:]} if self.title_separation else set()
        artists.discard("")

        def clear(track: Track) -> bool:
            return _artist(track) not in artists and _title(track) not in titles

        fine = [t for t in base if clear(t)]
        if len(fine) == len(base):
            return fine
        last_seen: dict[str, int] = {}
        for age, track in enumerate(reversed(recent)):
            if self.artist_separation:
                last_seen.setdefault("a:" + _artist(track), age)
            if self.title_separation:
                last_seen.setdefault("t:" + _title(track), age)

        def staleness(track: Track) -> int:  # how many plays ago its artist or title last played
            by_artist = last_seen.get("a:" + _artist(track), HISTORY)
            return min(by_artist, last_seen.get("t:" + _title(track), HISTORY))

        held = sorted((t for t in base if not clear(t)), key=staleness, reverse=True)
        return fine + held


def _after(tracks: list[Track], after: Track | None) -> list[Track]:
    """The library's order (artist, title), from the track after ``after``, wrapping around."""
    ordered = sorted(tracks, key=sort_key)
    if after is None:
        return ordered
    keys = [sort_key(t) for t in ordered]
    start = next((i + 1 for i, t in enumerate(ordered) if t.track_id == after.track_id), None)
    if start is None:
        start = sum(1 for k in keys if k <= sort_key(after))
    return ordered[start:] + ordered[:start]
