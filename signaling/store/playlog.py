"""The play log: one row per track played in a room, written when it starts and completed when it ends."""

from __future__ import annotations

from typing import Any

from .base import StoreBase

PLAY_COLUMNS = (
    "play_id, room_id, room_title, track_id, title, artist, album, duration_ms, started_at, ended_at,"
    " played_ms, listeners_start, listeners_peak"
)


class PlayLogMixin(StoreBase):
    """What played where, when, for how long and to how many: for licensing reports and "recently played"."""

    def start_play(
        self, room_id: str, room_title: str, track: dict[str, Any], *, started_at: str, listeners: int
    ) -> int:
        """A track started playing in a room: its row (``played_ms`` 0, no ``ended_at`` yet); its id."""
        with self._lock:
            cur = self._db.execute(
                """INSERT INTO plays (room_id, room_title, track_id, title, artist, album, duration_ms,
                                      started_at, listeners_start, listeners_peak)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (room_id, room_title, str(track.get("track_id", "")), str(track.get("title", "")),
                 str(track.get("artist", "")), str(track.get("album", "")),
                 int(track.get("duration_ms") or 0), started_at, int(listeners), int(listeners)),
            )
            return int(cur.lastrowid or 0)

    def update_play(self, play_id: int, *, played_ms: int, listeners_peak: int,
                    ended_at: str | None = None) -> None:
        """How long the play has run and its peak audience so far; ``ended_at`` completes it."""
        self._write(
            """UPDATE plays SET played_ms = ?, listeners_peak = max(listeners_peak, ?),
                                ended_at = coalesce(?, ended_at)
               WHERE play_id = ?""",
            (int(played_ms), int(listeners_peak), ended_at, int(play_id)),
        )

    def close_open_plays(self, ended_at: str) -> int:
        """Complete plays left open by a process that died (their last ``played_ms`` stands)."""
        return self._write("UPDATE plays SET ended_at = ? WHERE ended_at IS NULL", (ended_at,))

    def plays(
        self,
        *,
        room_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Plays (``started_at`` in [since, until), ISO UTC), oldest first unless ``newest_first``."""
        where, params = ["1"], []
        if room_id is not None:
            where.append("room_id = ?")
            params.append(room_id)
        if since is not None:
            where.append("started_at >= ?")
            params.append(since)
        if until is not None:
            where.append("started_at < ?")
            params.append(until)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {PLAY_COLUMNS} FROM plays WHERE {' AND '.join(where)} ORDER BY play_id {order}"
        if limit is not None:
            sql += f" LIMIT {max(0, int(limit))}"
        return self._dicts(sql, tuple(params))
