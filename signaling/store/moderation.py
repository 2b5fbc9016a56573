"""Bans, reports and the audit log; who was ever in a room (so that they may be reported)."""

from __future__ import annotations

from typing import Any

from .base import StoreBase, dumps, loads, new_row_id, normalize_ip, now_iso

_BAN_COLUMNS = "ban_id, room_id, participant_id, ip, reason, at, by"
_REPORT_COLUMNS = "report_id, room_id, reporter_id, participant_id, message_id, reason, at"
_REPORT_VIEW = f"{_REPORT_COLUMNS}, status, note, resolved_at"
REPORT_STATUSES = ("open", "resolved", "dismissed")
# What the operator's console shows with a report: the names and the message's text.
_REPORT_REVIEW = f"""
SELECT {", ".join("r." + c for c in _REPORT_VIEW.split(", "))},
       (SELECT name FROM participants WHERE participant_id = r.reporter_id) AS reporter_name,
       (SELECT name FROM participants WHERE participant_id = r.participant_id) AS participant_name,
       c.name AS message_author, c.text AS message_text, c.deleted AS message_deleted
FROM reports r LEFT JOIN chat c ON c.message_id = r.message_id
"""
_AUDIT_COLUMNS = "audit_id, room_id, actor_id, actor_name, action, target_id, detail, at"


def _report(row: Any) -> dict[str, Any]:
    """The protocol's ``report`` shape: optional fields only when set (``status`` always is)."""
    out = {k: row[k] for k in row.keys() if row[k] is not None}
    if "message_deleted" in out:
        out["message_deleted"] = bool(out["message_deleted"])
    return out


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
                  AND lifted_at IS NULL
                ORDER BY seq DESC LIMIT 1""",
            (room_id, participant_id or None, normalize_ip(ip)),
        )
        return dict(row) if row else None

    def bans(self) -> list[dict[str, Any]]:
        """The active bans (not lifted), newest first; ``name``: the banned participant's, if known."""
        columns = ", ".join("b." + c for c in _BAN_COLUMNS.split(", "))
        return self._dicts(
            f"""SELECT {columns}, p.name AS name FROM bans b
                LEFT JOIN participants p ON p.participant_id = b.participant_id
                WHERE b.lifted_at IS NULL ORDER BY b.seq DESC"""
        )

    def ban(self, ban_id: str) -> dict[str, Any] | None:
        """One ban, active or lifted (``lifted_at`` is then set), or None."""
        row = self._one(f"SELECT {_BAN_COLUMNS}, lifted_at FROM bans WHERE ban_id = ?", (ban_id,))
        return dict(row) if row else None

    def lift_ban(self, ban_id: str) -> bool:
        """Lift an active ban (it is kept, with ``lifted_at``, but judges nobody); False if unknown
        or lifted already."""
        changed = self._write(
            "UPDATE bans SET lifted_at = ? WHERE ban_id = ? AND lifted_at IS NULL", (now_iso(), ban_id)
        )
        return changed > 0

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
        return {**{k: v for k, v in report.items() if v is not None}, "status": "open"}

    def reports(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Reports in the protocol's shape, newest first."""
        rows = self._all(
            f"SELECT {_REPORT_VIEW} FROM reports ORDER BY seq DESC LIMIT ?", (max(0, int(limit)),)
        )
        return [_report(r) for r in rows]

    def reports_for_review(self, status: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Reports newest first (of one ``status`` if given), each with what the operator needs to
        judge it: ``reporter_name``, ``participant_name``, and the message's ``message_author``,
        ``message_text`` and ``message_deleted`` (each when known)."""
        where, params = ("WHERE r.status = ?", (status,)) if status else ("", ())
        sql = f"{_REPORT_REVIEW} {where} ORDER BY r.seq DESC LIMIT ?"
        rows = self._all(sql, (*params, max(0, int(limit))))
        return [_report(r) for r in rows]

    def report(self, report_id: str) -> dict[str, Any] | None:
        """One report as ``reports_for_review`` shows it, or None."""
        row = self._one(f"{_REPORT_REVIEW} WHERE r.report_id = ?", (report_id,))
        return _report(row) if row else None

    def resolve_report(self, report_id: str, status: str, note: str | None = None) -> dict[str, Any] | None:
        """Mark a report ``resolved`` or ``dismissed`` (again, to change its mind), with an
        optional ``note``; the report as ``report`` shows it, or None if unknown."""
        if status not in REPORT_STATUSES[1:]:
            raise ValueError(f"a report is resolved or dismissed, not {status!r}")
        changed = self._write(
            "UPDATE reports SET status = ?, note = ?, resolved_at = ? WHERE report_id = ?",
            (status, note or None, now_iso(), report_id),
        )
        return self.report(report_id) if changed else None

    def was_in_room(self, room_id: str, participant_id: str) -> bool:
        """Whether ``participant_id`` was ever in ``room_id``: remembered as a participant (gone,
        kicked or banned ones stay remembered while the room lives), author of a message, or
        banned there."""
        row = self._one(
            """SELECT 1 FROM participants WHERE room_id = ?1 AND participant_id = ?2
               UNION ALL SELECT 1 FROM bans WHERE room_id = ?1 AND participant_id = ?2
               UNION ALL SELECT 1 FROM chat WHERE room_id = ?1 AND participant_id = ?2
               LIMIT 1""",
            (room_id, participant_id),
        )
        return row is not None

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
