"""Rooms, their participants (for resuming after a restart) and their chat."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from .base import StoreBase, dumps, hash_token, loads, now_iso, token_matches

_PARTICIPANT_COLUMNS = (
    "participant_id, room_id, name, role, address, hand_raised, chat_muted, muted, last_seen"
)
_MESSAGE_COLUMNS = "message_id, participant_id, name, text, server_ms, at"


def _room(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "room_id": row["room_id"],
        "title": row["title"],
        "description": row["description"],
        "host_name": row["host_name"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "permanent": bool(row["permanent"]),
        "rules_extra": loads(row["rules_extra"], []),
        "settings": loads(row["settings"], {}),
    }


# participants.muted: 0 open, 1 closed by its owner, 2 closed by the host or a moderator
MUTE_CODES = {"self": 1, "moderator": 2}
MUTED_BY = {code: who for who, code in MUTE_CODES.items()}

def _participant(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for flag in ("hand_raised", "chat_muted"):
        out[flag] = bool(out[flag])
    out["muted_by"] = MUTED_BY.get(out["muted"])  # the column keeps who closed the mic
    out["muted"] = bool(out["muted"])
    return out


def _message(row: sqlite3.Row) -> dict[str, Any]:
    """A chat row in the protocol's ``message`` shape (plus ``deleted`` if it was selected)."""
    out = dict(row)
    if "deleted" in out:
        out["deleted"] = bool(out["deleted"])
    return out


class RoomsMixin(StoreBase):
    """Rooms, participants and chat."""

    # --- rooms -----------------------------------------------------------------
    def save_room(
        self,
        room_id: str,
        *,
        title: str,
        description: str = "",
        host_name: str = "",
        host_token: str | None = None,
        started_at: str | None = None,
        permanent: bool = False,
        rules_extra: Iterable[str] = (),
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Create or update a room. Only sha256(host_token) is kept; ``None`` keeps the stored one."""
        token_hash = hash_token(host_token) if host_token else None
        self._write(
            """INSERT INTO rooms (room_id, title, description, host_name, host_token_hash,
                                  started_at, permanent, rules_extra, settings)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (room_id) DO UPDATE SET
                   title = excluded.title, description = excluded.description,
                   host_name = excluded.host_name,
                   host_token_hash = coalesce(excluded.host_token_hash, rooms.host_token_hash),
                   permanent = excluded.permanent, rules_extra = excluded.rules_extra,
                   settings = excluded.settings""",
            (
                room_id,
                title,
                description,
                host_name,
                token_hash,
                started_at or now_iso(),
                int(permanent),
                dumps(list(rules_extra)),
                dumps(settings or {}),
            ),
        )

    def save_room_settings(self, room_id: str, settings: dict[str, Any]) -> None:
        """Replace a room's settings (JSON), e.g. its music desk's ducking depth."""
        self._write("UPDATE rooms SET settings = ? WHERE room_id = ?", (dumps(settings), room_id))

    def room(self, room_id: str) -> dict[str, Any] | None:
        """One room, live or ended, or None."""
        row = self._one("SELECT * FROM rooms WHERE room_id = ?", (room_id,))
        return _room(row) if row else None

    def live_rooms(self) -> list[dict[str, Any]]:
        """Rooms not ended, oldest first: what to bring back after a restart."""
        rows = self._all("SELECT * FROM rooms WHERE ended_at IS NULL ORDER BY started_at, room_id")
        return [_room(r) for r in rows]

    def end_room(self, room_id: str) -> bool:
        """Mark a room ended and forget its participants (nobody resumes into it); False if not live."""
        with self._tx() as db:
            changed = db.execute(
                "UPDATE rooms SET ended_at = ? WHERE room_id = ? AND ended_at IS NULL", (now_iso(), room_id)
            ).rowcount
            db.execute("DELETE FROM participants WHERE room_id = ?", (room_id,))
        return changed > 0

    def check_host_token(self, room_id: str, token: str | None) -> bool:
        """Whether ``token`` is the room's host token (constant-time compare of the hashes)."""
        row = self._one("SELECT host_token_hash FROM rooms WHERE room_id = ?", (room_id,))
        return token_matches(token, row["host_token_hash"] if row else None)

    # --- participants ----------------------------------------------------------
    def save_participant(
        self,
        room_id: str,
        participant_id: str,
        *,
        name: str,
        role: str,
        resume_token: str,
        address: str = "",
        hand_raised: bool = False,
        chat_muted: bool = False,
        muted: bool = False,
        muted_by: str | None = None,
        last_seen: str | None = None,
    ) -> None:
        """Create or update a participant; only sha256(resume_token) is kept. The room must exist.
        ``muted_by`` (``self`` or ``moderator``) says who closed a muted mic."""
        self._write(
            f"""INSERT INTO participants ({_PARTICIPANT_COLUMNS}, resume_token_hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (participant_id) DO UPDATE SET
                    room_id = excluded.room_id, name = excluded.name, role = excluded.role,
                    address = excluded.address, hand_raised = excluded.hand_raised,
                    chat_muted = excluded.chat_muted, muted = excluded.muted,
                    last_seen = excluded.last_seen, resume_token_hash = excluded.resume_token_hash""",
            (
                participant_id,
                room_id,
                name,
                role,
                address,
                int(hand_raised),
                int(chat_muted),
                MUTE_CODES.get(muted_by or "self", 1) if muted else 0,
                last_seen or now_iso(),
                hash_token(resume_token),
            ),
        )

    def participant_by_token(self, room_id: str, token: str | None) -> dict[str, Any] | None:
        """The participant of ``room_id`` whose resume token is ``token``, or None."""
        if not token:
            return None
        token_hash = hash_token(token)
        row = self._one(
            f"SELECT {_PARTICIPANT_COLUMNS}, resume_token_hash FROM participants"
            " WHERE room_id = ? AND resume_token_hash = ?",
            (room_id, token_hash),
        )
        if row is None or not token_matches(token, row["resume_token_hash"]):
            return None
        out = _participant(row)
        del out["resume_token_hash"]
        return out

    def room_participants(self, room_id: str) -> list[dict[str, Any]]:
        """Every remembered participant of a room (no token hashes)."""
        rows = self._all(
            f"SELECT {_PARTICIPANT_COLUMNS} FROM participants WHERE room_id = ? ORDER BY last_seen",
            (room_id,),
        )
        return [_participant(r) for r in rows]

    def forget_participant(self, participant_id: str) -> bool:
        """Drop a participant (their resume token stops working); False if unknown."""
        return self._write("DELETE FROM participants WHERE participant_id = ?", (participant_id,)) > 0

    # --- chat ------------------------------------------------------------------
    def add_chat(self, room_id: str, message: dict[str, Any]) -> None:
        """Store a protocol ``message``; committed (crash-safe) when this returns. The room must exist."""
        self._write(
            f"INSERT INTO chat (room_id, {_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                room_id,
                message["message_id"],
                message["participant_id"],
                message["name"],
                message["text"],
                int(message["server_ms"]),
                message["at"],
            ),
        )

    def delete_chat(self, room_id: str, message_id: str) -> bool:
        """Mark a message deleted; False if it is unknown in that room or already deleted."""
        return (
            self._write(
                "UPDATE chat SET deleted = 1 WHERE room_id = ? AND message_id = ? AND deleted = 0",
                (room_id, message_id),
            )
            > 0
        )

    def recent_chat(self, room_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The last ``limit`` messages not deleted, oldest first, in the protocol's shape."""
        rows = self._dicts(
            f"SELECT {_MESSAGE_COLUMNS} FROM chat WHERE room_id = ? AND deleted = 0"
            " ORDER BY seq DESC LIMIT ?",
            (room_id, max(0, int(limit))),
        )
        rows.reverse()
        return rows

    def chat_message(
        self, room_id: str, message_id: str, *, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """One message in the protocol's shape, or None. ``include_deleted`` adds a ``deleted`` flag."""
        row = self._one(
            f"SELECT {_MESSAGE_COLUMNS}, deleted FROM chat WHERE room_id = ? AND message_id = ?",
            (room_id, message_id),
        )
        if row is None or (row["deleted"] and not include_deleted):
            return None
        out = _message(row)
        if not include_deleted:
            del out["deleted"]
        return out
