"""Each room's queue and playback state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .base import StoreBase, now_iso


class MusicMixin(StoreBase):
    """The queue and what is playing, per room, so a restart resumes the show's music."""

    def save_queue(self, room_id: str, entries: Iterable[tuple[str, str]]) -> None:
        """Replace the room's queue with ``(entry_id, track_id)`` pairs, in order, atomically.

        If anything fails (a duplicate ``entry_id``, an unknown room) the old queue stays.
        """
        rows = [(room_id, i, entry_id, track_id) for i, (entry_id, track_id) in enumerate(entries)]
        with self._tx() as db:
            db.execute("DELETE FROM queue WHERE room_id = ?", (room_id,))
            db.executemany(
                "INSERT INTO queue (room_id, position, entry_id, track_id) VALUES (?, ?, ?, ?)", rows
            )

    def load_queue(self, room_id: str) -> list[tuple[str, str]]:
        """The room's queue as ``(entry_id, track_id)`` pairs, head first."""
        rows = self._all(
            "SELECT entry_id, track_id FROM queue WHERE room_id = ? ORDER BY position", (room_id,)
        )
        return [(r["entry_id"], r["track_id"]) for r in rows]

    def save_playback(
        self,
        room_id: str,
        *,
        track_id: str | None,
        position_ms: int,
        paused: bool,
        gain: float = 1.0,
        crossfade_s: float = 0.0,
    ) -> None:
        """Remember what the room plays and where (``position_ms`` into the track, now)."""
        self._write(
            """INSERT INTO playback (room_id, track_id, position_ms, paused, gain, crossfade_s, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (room_id) DO UPDATE SET
                   track_id = excluded.track_id, position_ms = excluded.position_ms,
                   paused = excluded.paused, gain = excluded.gain,
                   crossfade_s = excluded.crossfade_s, updated_at = excluded.updated_at""",
            (room_id, track_id, int(position_ms), int(paused), float(gain), float(crossfade_s), now_iso()),
        )

    def load_playback(self, room_id: str) -> dict[str, Any] | None:
        """``{track_id, position_ms, paused, gain, crossfade_s, updated_at}``, or None if never saved."""
        row = self._one(
            "SELECT track_id, position_ms, paused, gain, crossfade_s, updated_at"
            " FROM playback WHERE room_id = ?",
            (room_id,),
        )
        if row is None:
            return None
        out = dict(row)
        out["paused"] = bool(out["paused"])
        return out
