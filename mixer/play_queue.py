"""A room's queue: the tracks asked for, played before the library's rotation resumes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .library import Track


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One queued play of a track (the same track may be queued twice, as two entries)."""

    entry_id: str
    track: Track

    def to_json(self) -> dict[str, Any]:
        """The protocol's entry: ``{"entry_id", "track"}``."""
        return {"entry_id": self.entry_id, "track": self.track.to_json()}


def new_entry_id() -> str:
    return uuid.uuid4().hex[:16]


class PlayQueue:
    """An ordered list of entries with unique ids; the head plays next."""

    def __init__(self, entries: Iterable[tuple[str, Track]] = ()) -> None:
        self._entries: list[QueueEntry] = []
        self.replace(entries)

    def replace(self, entries: Iterable[tuple[str, Track]]) -> None:
        """Set the whole queue (a restore). Raises ``ValueError`` on a repeated entry id."""
        new = [QueueEntry(str(entry_id), track) for entry_id, track in entries]
        if len({e.entry_id for e in new}) != len(new):
            raise ValueError("repeated entry id")
        self._entries = new

    def add(self, track: Track, entry_id: str | None = None) -> QueueEntry:
        """Append ``track``; ``entry_id`` if given must be new (``ValueError`` otherwise)."""
        entry = QueueEntry(entry_id or new_entry_id(), track)
        if self._index(entry.entry_id) is not None:
            raise ValueError(f"entry {entry.entry_id} is already queued")
        self._entries.append(entry)
        return entry

    def remove(self, entry_id: str) -> bool:
        """Drop the entry; False if there is none with this id."""
        index = self._index(entry_id)
        if index is None:
            return False
        del self._entries[index]
        return True

    def remove_track(self, track_id: str) -> list[str]:
        """Drop every entry of ``track_id``; the ids of the entries dropped."""
        dropped = [e.entry_id for e in self._entries if e.track.track_id == track_id]
        if dropped:
            self._entries = [e for e in self._entries if e.track.track_id != track_id]
        return dropped

    def move(self, entry_id: str, index: int) -> bool:
        """Move the entry to ``index`` (clamped to the queue); False if there is none with this id."""
        at = self._index(entry_id)
        if at is None:
            return False
        entry = self._entries.pop(at)
        self._entries.insert(min(max(0, int(index)), len(self._entries)), entry)
        return True

    def peek(self) -> QueueEntry | None:
        return self._entries[0] if self._entries else None

    def pop(self) -> QueueEntry | None:
        """Take the head off the queue."""
        return self._entries.pop(0) if self._entries else None

    def entries(self) -> list[QueueEntry]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def _index(self, entry_id: str) -> int | None:
        for i, entry in enumerate(self._entries):
            if entry.entry_id == entry_id:
                return i
        return None
