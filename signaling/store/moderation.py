"""Bans, reports and the audit log."""

from __future__ import annotations

from typing import Any

from .base import StoreBase, dumps, loads, new_row_id, normalize_ip, now_iso

_BAN_COLUMNS = "ban_id, room_id, participant_id, ip, reason, at, by"
_REPORT_COLUMNS = "report_id, room_id, reporter_id, participant_id, message_id, reason, at"
_AUDIT_COLUMNS = "audit_id, room_id, actor_id, actor_name, action, target_id, detail, at"


def _report(row: Any) -> dict[str, Any]:
    """The protocol's ``report`` shape: optional fields only when set."""
    return {k: row[k] for k in row.keys() if row[k] is not None}


def _audit(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["detail"] = loads(out["detail"], {})
    return out


class ModerationMixin(StoreBase):
    """Who is banned, what was reported, and who did what."""

    # --- bans ------------------------------------------------------------------
    def add_ban(
        self,
        *,
        reason: str = "",
        room_id: str | None = None,
        participant_id: str | None = None,
        ip: str | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Ban a participant id and/or an address, in one room or (``room_id`` None) every room."""
        ip = normalize_ip(ip)
        if not participant_id and not ip:
            raise ValueError("a ban needs a participant_id or an ip")
        ban = {
            "ban_id": new_row_id("b"),
            "room_id": room_id or None,
            "participant_id": participant_id or None,
            "ip": ip,
            "reason": reason,
            "at": now_iso(),
            "by": by,
        }
        self._write(f"INSERT INTO bans ({_BAN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(ban.values()))
        return ban

    def is_banned(
        self, room_id: str | None, participant_id: str | None, ip: str | None
    ) -> dict[str, Any] | None:
        """The newest ban matching the participant OR the address, in this room or everywhere."""
        row = self._one(
            f"""SELECT {_BAN_COLUMNS} FROM bans
                WHERE (room_id IS NULL OR room_id = ?)
                  AND (participant_id = ? OR ip = ?)
                ORDER BY seq DESC LIMIT 1""",
            (room_id, participant_id or None, normalize_ip(ip)),
        )
        return dict(row) if row else None

    def bans(self) -> list[dict[str, Any]]:
        """Every ban, newest first."""
        return self._dicts(f"SELECT {_BAN_COLUMNS} FROM bans ORDER BY seq DESC")

    def lift_ban(self, ban_id: str) -> bool:
        """Remove a ban; False if unknown."""
        return self._write("DELETE FROM bans WHERE ban_id = ?", (ban_id,)) > 0

    # --- reports ---------------------------------------------------------------
    def add_report(
        self,
        *,
        room_id: str,
        reporter_id: str,
        reason: str,
        participant_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a report; returns it in the protocol's ``report`` shape."""
        report = {
            "report_id": new_row_id("rep"),
            "room_id": room_id,
            "reporter_id": reporter_id,
            "participant_id": participant_id or None,
            "message_id": message_id or None,
            "reason": reason,
            "at": now_iso(),
        }
        self._write(
            f"INSERT INTO reports ({_REPORT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(report.values())
        )
        return {k: v for k, v in report.items() if v is not None}

    def reports(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Reports, newest first."""
        rows = self._all(
            f"SELECT {_REPORT_COLUMNS} FROM reports ORDER BY seq DESC LIMIT ?", (max(0, int(limit)),)
        )
        return [_report(r) for r in rows]

    # --- audit -----------------------------------------------------------------
    def audit(
        self,
        action: str,
        *,
        room_id: str | None = None,
        actor_id: str | None = None,
        actor_name: str | None = None,
        target_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record that ``actor`` did ``action`` (``kick``, ``ban``, ``promote``...) to ``target``."""
        self._write(
            f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?)",
            (room_id, actor_id, actor_name, action, target_id, dumps(detail or {}), now_iso()),
        )

    def audit_log(self, room_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Audit entries, newest first; of one room, or of everything when ``room_id`` is None."""
        limit = max(0, int(limit))
        if room_id is None:
            rows = self._all(f"SELECT {_AUDIT_COLUMNS} FROM audit ORDER BY audit_id DESC LIMIT ?", (limit,))
        else:
            rows = self._all(
                f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE room_id = ? ORDER BY audit_id DESC LIMIT ?",
                (room_id, limit),
            )
        return [_audit(r) for r in rows]
