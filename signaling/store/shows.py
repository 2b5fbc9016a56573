"""Scheduled shows: announced ahead with a start time, opened by their host as a room of the same id."""

from __future__ import annotations

import sqlite3
from typing import Any

from .base import StoreBase, hash_token, now_iso, token_matches

_SHOW_COLUMNS = (
    "show_id, title, host_name, description, starts_at, starts_utc, duration_min, created_at, opened_at"
)


def _show(row: sqlite3.Row) -> dict[str, Any]:
    return dict(row)


class ShowsMixin(StoreBase):
    """Shows announced ahead; ``starts_utc`` (ISO UTC) orders them, ``starts_at`` keeps the offset given."""

    def add_show(
        self,
        show_id: str,
        *,
        title: str,
        host_name: str,
        description: str,
        starts_at: str,
        starts_utc: str,
        duration_min: int,
        host_token: str,
    ) -> dict[str, Any]:
        """Announce a show; only sha256(host_token) is kept. Returns the stored show."""
        self._write(
            """INSERT INTO shows (show_id, title, host_name, description, starts_at, starts_utc,
                                  duration_min, host_token_hash, created_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (show_id, title, host_name, description, starts_at, starts_utc, int(duration_min),
             hash_token(host_token), now_iso()),
        )
        show = self.show(show_id)
        assert show is not None  # just written
        return show

    def show(self, show_id: str) -> dict[str, Any] | None:
        """One show not cancelled, or None."""
        row = self._one(
            f"SELECT {_SHOW_COLUMNS} FROM shows WHERE show_id = ? AND cancelled_at IS NULL", (show_id,)
        )
        return _show(row) if row else None

    def shows_from(self, since_utc: str) -> list[dict[str, Any]]:
        """Shows not cancelled starting at or after ``since_utc`` (ISO UTC), soonest first."""
        rows = self._all(
            f"SELECT {_SHOW_COLUMNS} FROM shows WHERE cancelled_at IS NULL AND starts_utc >= ?"
            " ORDER BY starts_utc, show_id",
            (since_utc,),
        )
        return [_show(r) for r in rows]

    def check_show_token(self, show_id: str, token: str | None) -> bool:
        """Whether ``token`` is the show's host token (constant-time compare of the hashes)."""
        row = self._one("SELECT host_token_hash FROM shows WHERE show_id = ?", (show_id,))
        return token_matches(token, row["host_token_hash"] if row else None)

    def mark_show_opened(self, show_id: str) -> None:
        """The host opened the show's room (the first time counts)."""
        self._write(
            "UPDATE shows SET opened_at = coalesce(opened_at, ?) WHERE show_id = ?", (now_iso(), show_id)
        )

    def cancel_show(self, show_id: str) -> bool:
        """Take a show off the schedule; False if it is unknown or cancelled already."""
        return (
            self._write(
                "UPDATE shows SET cancelled_at = ? WHERE show_id = ? AND cancelled_at IS NULL",
                (now_iso(), show_id),
            )
            > 0
        )

    def reopen_room(self, room_id: str) -> None:
        """A standing room (a station) comes back under its own id: no longer ended."""
        self._write("UPDATE rooms SET ended_at = NULL WHERE room_id = ?", (room_id,))
