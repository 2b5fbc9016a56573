"""Operator and host endpoints: reports (listed, resolved or dismissed) and the audit log.

Bans are in ``bans.py``; the console's rooms, live figures and page in ``admin.py``.
"""

from __future__ import annotations

from aiohttp import web

from ..errors import ApiError
from ..keys import STORE
from ..store.moderation import REPORT_STATUSES
from ..tokens import bearer
from ..validate import is_clean_text
from .requests import json_body, live_room, require_operator

AUDIT_LIMIT = 200
NOTE_MAX = 500
RESOLUTIONS = REPORT_STATUSES[1:]  # what a report may become: resolved or dismissed


async def list_reports(request: web.Request) -> web.Response:
    """``GET /api/reports`` (``status``: only those): ``[report]`` newest first, each with the
    names and the message text the console shows."""
    require_operator(request)
    status = request.query.get("status") or None
    if status is not None and status not in REPORT_STATUSES:
        raise ApiError("bad_request", f"'status' must be one of {', '.join(REPORT_STATUSES)}")
    return web.json_response(request.app[STORE].reports_for_review(status))


def _resolution(body: dict) -> tuple[str, str | None]:
    status = body.get("status")
    if status not in RESOLUTIONS:
        raise ApiError("bad_request", "'status' must be 'resolved' or 'dismissed'")
    note = body.get("note")
    if note is None:
        return status, None
    if not isinstance(note, str) or not is_clean_text(note):
        raise ApiError("bad_request", "'note' must be text")
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise ApiError("bad_request", f"'note' is over {NOTE_MAX} characters")
    return status, note or None


async def resolve_report(request: web.Request) -> web.Response:
    """``POST /api/reports/{report_id}`` ``{"status": "resolved"|"dismissed", "note"?}``: the report."""
    require_operator(request)
    status, note = _resolution(await json_body(request))
    store = request.app[STORE]
    report_id = request.match_info["report_id"]
    report = store.resolve_report(report_id, status, note)
    if report is None:
        raise ApiError("not_found", "no report with this id")
    # The note stays on the report: the room's host reads this log, and the notes are the operator's.
    store.audit(
        f"report_{status}",
        room_id=report["room_id"],
        actor_name="operator",
        target_id=report.get("participant_id"),
        detail={"report_id": report_id},
    )
    return web.json_response(report)


async def operator_audit(request: web.Request) -> web.Response:
    require_operator(request)
    room_id = request.query.get("room_id") or None
    return web.json_response(request.app[STORE].audit_log(room_id, AUDIT_LIMIT))


async def room_audit(request: web.Request) -> web.Response:
    room = live_room(request)
    if not room.is_host_token(bearer(request.headers.get("Authorization"))):
        raise ApiError("unauthorized", "only the host may read the room's audit log")
    return web.json_response(request.app[STORE].audit_log(room.room_id, AUDIT_LIMIT))
