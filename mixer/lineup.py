"""What plays next in a room: the queue's head, else the library's rotation; decks opened at the
gain that brings each track to the target loudness."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable

from .deck import Deck
from .decoder import DecodeError
from .library import Library, Track, sort_key
from .play_queue import PlayQueue
from .rotation import Rotation

log = logging.getLogger(__name__)

DEFAULT_TARGET_LUFS = -16.0
MAX_BOOST_DB = 12.0


class Lineup:
    """The queue, the rotation (resuming after the last rotation track played) and the tracks
    that failed to open (left out of the rotation for good).

    ``on_queue_change()`` is called whenever an entry leaves the queue to play.
    """

    def __init__(
        self,
        library: Library,
        queue: Iterable[tuple[str, Track]] = (),
        *,
        target_lufs: float | None = DEFAULT_TARGET_LUFS,
        on_queue_change: Callable[[], object] = lambda: None,
        rotation: Rotation | None = None,
    ) -> None:
        self.library = library
        self.policy = rotation  # a station's rules (its tracks, shuffle, separation); None: the library A-Z
        self.queue = PlayQueue(queue)
        self.target_lufs = target_lufs
        self.rotation_last: Track | None = None
        self.bad: set[str] = set()
        self._on_queue_change = on_queue_change

    def open_next(self) -> tuple[Deck, str | None] | None:
        """The queue's head (taken off the queue) with its entry id, else the next rotation track, opened."""
        while (entry := self.queue.pop()) is not None:
            self._on_queue_change()
            deck = self.open(entry.track)
            if deck is not None:
                if self.policy is not None:
                    self.policy.played(entry.track)
                return deck, entry.entry_id
        for track in self.rotation():
            deck = self.open(track)
            if deck is not None:
                self.rotation_last = track
                if self.policy is not None:
                    self.policy.played(track)
                return deck, None
        return None

    def upcoming(self) -> Track | None:
        """The track ``open_next`` would try first."""
        head = self.queue.peek()
        if head is not None:
            return head.track
        rotation = self.rotation()
        return rotation[0] if rotation else None

    def rotation(self) -> list[Track]:
        """The playable tracks, starting after the last rotation track played, wrapping around.

        The last one may have left the library since (removed, or gone at a rescan): the
        rotation then goes on from where it stood in the library's order."""
        if self.policy is not None:
            return self.policy.order(self.rotation_last, self.bad)
        tracks = self.library.tracks()
        start = 0
        after = self.rotation_last
        if after is not None:
            ids = [t.track_id for t in tracks]
            if after.track_id in ids:
                start = ids.index(after.track_id) + 1
            else:
                start = bisect_right([sort_key(t) for t in tracks], sort_key(after))
        ordered = tracks[start:] + tracks[:start]
        return [t for t in ordered if t.track_id not in self.bad]

    def open(self, track: Track) -> Deck | None:
        """A deck for ``track`` at its normalizing gain; ``None`` (logged, marked bad) if it cannot open."""
        try:
            return Deck(track, gain=self.normalization(track))
        except DecodeError as exc:
            log.warning("skipping unplayable track %s: %s", track.path, exc)
            self.bad.add(track.track_id)
            return None

    def normalization(self, track: Track) -> float:
        """The gain that brings ``track`` to the target loudness (at most +12 dB; 1 if unmeasured)."""
        if self.target_lufs is None or track.loudness_lufs is None:
            return 1.0
        return 10.0 ** (min(MAX_BOOST_DB, self.target_lufs - track.loudness_lufs) / 20.0)

    def __len__(self) -> int:
        """How many tracks could follow one another at most (the library and the queue)."""
        rotating = len(self.policy) if self.policy is not None else 0
        return max(len(self.library), rotating) + len(self.queue)
