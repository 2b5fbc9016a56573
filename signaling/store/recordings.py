"""Recordings of shows: one row per recording, its file under ``<data-dir>/recordings/``."""

from __future__ import annotations

from typing import Any

from .base import StoreBase, now_iso

_COLUMNS = (
    "recording_id, room_id, title, host_name, description, file, started_at, ended_at, duration_ms, bytes"
)


class RecordingsMixin(StoreBase):
    """A recording is listed once it ended (``ended_at`` set); its chat is the room's chat of its span."""

    def add_recording(self, recording_id: str, *, room_id: str, title: str, host_name: str,
                      description: str, file: str) -> dict[str, Any]:
        """A recording that starts now; returns the stored row."""
        self._write(
            f"INSERT INTO recordings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 0, 0)",
            (recording_id, room_id, title, host_name, description, file, now_iso()),
        )
        row = self.recording(recording_id)
        assert row is not None  # just written
        return row

    def finish_recording(self, recording_id: str, *, duration_ms: int, size: int,
                         ended_at: str | None = None) -> None:
        """The recording ended (now, unless ``ended_at`` says when): its length and size are known."""
        self._write(
            "UPDATE recordings SET ended_at = ?, duration_ms = ?, bytes = ? WHERE recording_id = ?",
            (ended_at or now_iso(), int(duration_ms), int(size), recording_id),
        )

    def open_recordings(self, room_id: str) -> list[dict[str, Any]]:
        """The room's recordings not finished (being made, or cut short by a crash)."""
        return self._dicts(
            f"SELECT {_COLUMNS} FROM recordings WHERE room_id = ? AND ended_at IS NULL", (room_id,))

    def recording(self, recording_id: str) -> dict[str, Any] | None:
        """One recording (finished or not), or None."""
        rows = self._dicts(f"SELECT {_COLUMNS} FROM recordings WHERE recording_id = ?", (recording_id,))
        return rows[0] if rows else None

    def recordings(self, limit: int = 200) -> list[dict[str, Any]]:
        """Finished recordings, newest first."""
        return self._dicts(
            f"SELECT {_COLUMNS} FROM recordings WHERE ended_at IS NOT NULL"
            " ORDER BY started_at DESC, recording_id LIMIT ?",
            (max(0, int(limit)),),
        )

    def delete_recording(self, recording_id: str) -> bool:
        return self._write("DELETE FROM recordings WHERE recording_id = ?", (recording_id,)) > 0

    def chat_between(self, room_id: str, start: str, end: str | None,
                     limit: int = 5000) -> list[dict[str, Any]]:
        """The room's messages (not deleted) written from ``start`` to ``end`` (ISO UTC), oldest first."""
        return self._dicts(
            "SELECT message_id, participant_id, name, text, server_ms, at FROM chat"
            " WHERE room_id = ? AND deleted = 0 AND at >= ? AND (? IS NULL OR at <= ?)"
            " ORDER BY seq LIMIT ?",
            (room_id, start, end, end, max(0, int(limit))),
        )
