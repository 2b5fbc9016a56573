"""Listeners' song requests: made, then accepted (queued) or declined by the host or a moderator."""

from __future__ import annotations

from typing import Any

from .base import StoreBase

_REQUEST_COLUMNS = "request_id, room_id, participant_id, name, track_id, note, status, at"


class RequestsMixin(StoreBase):
    """Requests per room; a pending one waits for an answer, an answered one is kept for the record."""

    def add_request(
        self, request_id: str, *, room_id: str, participant_id: str, name: str, track_id: str, note: str,
        at: str,
    ) -> None:
        self._write(
            f"INSERT INTO requests ({_REQUEST_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
            (request_id, room_id, participant_id, name, track_id, note, at),
        )

    def pending_requests(self, room_id: str) -> list[dict[str, Any]]:
        """The room's requests waiting for an answer, oldest first."""
        return self._dicts(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE room_id = ? AND status = 'pending' ORDER BY seq",
            (room_id,),
        )

    def request(self, room_id: str, request_id: str) -> dict[str, Any] | None:
        rows = self._dicts(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE room_id = ? AND request_id = ?",
            (room_id, request_id),
        )
        return rows[0] if rows else None

    def answer_request(self, request_id: str, status: str, *, by: str, at: str) -> bool:
        """Accept or decline a pending request; False if it was not pending any more."""
        return (
            self._write(
                "UPDATE requests SET status = ?, answered_by = ?, answered_at = ?"
                " WHERE request_id = ? AND status = 'pending'",
                (status, by, at, request_id),
            )
            > 0
        )
