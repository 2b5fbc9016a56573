"""A room's play log: every track written when it starts, completed when it ends.

A play starts when the music's ``now_playing`` names another track (a crossfade's start counts
as the change); its ``played_ms`` is the time it was actually heard (pauses left out), on the
process's monotonic clock. ``listeners_peak`` follows every join and role change. The registry
checkpoints each open play every few seconds, so a crash loses at most those seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..store import Store
from ..store.base import now_iso
from ..store.playlog import PLAY_COLUMNS
from .participant import Participant
from .room import Room

RECENT_PLAYS = 50
PUBLIC_FIELDS = ("play_id", "room_id", "track_id", "title", "artist", "album", "duration_ms",
                 "started_at", "ended_at", "played_ms")
EXPORT_FIELDS = tuple(c.strip() for c in PLAY_COLUMNS.split(","))


class PlayLog:
    """Writes one room's plays to the store as its music moves on."""

    def __init__(self, room: Room, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self.room = room
        self.store = store
        self._clock = clock
        self.play_id: int | None = None
        self.track_id: str | None = None
        self._played_s = 0.0
        self._since: float | None = None  # when the current play was last unpaused
        self._peak = 0
        room.music.on("now_playing", self.on_now_playing)
        room.on("presence", self.on_presence)
        room.once("ended", self.close)
        current = room.music.now_playing()
        if current is not None:  # restored, or already rolling: that play starts now
            self.on_now_playing(current)

    def played_ms(self) -> int:
        running = self._clock() - self._since if self._since is not None else 0.0
        return int(round((self._played_s + running) * 1000))

    def on_now_playing(self, now_playing: dict[str, Any] | None) -> None:
        if now_playing is None:
            return
        track = now_playing["track"]
        if track["track_id"] != self.track_id:
            self._finish()
            self._start(track)
        paused = bool(now_playing.get("paused"))
        if paused and self._since is not None:
            self._played_s += self._clock() - self._since
            self._since = None
        elif not paused and self._since is None:
            self._since = self._clock()

    def on_presence(self, event: str, participant: Participant) -> None:
        if event != "participant_left" and self.play_id is not None:
            self._peak = max(self._peak, self.room.listener_count())

    def checkpoint(self) -> None:
        """Write how long the open play has run so far (and its peak audience)."""
        if self.play_id is not None:
            self.store.update_play(self.play_id, played_ms=self.played_ms(), listeners_peak=self._peak)

    def close(self) -> None:
        """The room ended or this process lets it go: the open play is complete."""
        self._finish()

    def _start(self, track: dict[str, Any]) -> None:
        self.track_id = track["track_id"]
        self._peak = self.room.listener_count()
        self._played_s, self._since = 0.0, None
        self.play_id = self.store.start_play(
            self.room.room_id, self.room.title, track, started_at=now_iso(), listeners=self._peak
        )

    def _finish(self) -> None:
        if self.play_id is None:
            return
        self.store.update_play(
            self.play_id, played_ms=self.played_ms(), listeners_peak=self._peak, ended_at=now_iso()
        )
        self.play_id, self.track_id, self._since = None, None, None


def recent_plays(store: Store, room_id: str, limit: int = RECENT_PLAYS) -> list[dict[str, Any]]:
    """A room's last plays, newest first, as anyone may see them (no audience figures)."""
    rows = store.plays(room_id=room_id, limit=limit, newest_first=True)
    return [{key: row[key] for key in PUBLIC_FIELDS} for row in rows]
