"""The play log over HTTP: the operator's export (JSON or CSV, for a period) and a room's recent plays."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from aiohttp import web

from ..errors import ApiError
from ..keys import STORE
from ..model.playlog import EXPORT_FIELDS, recent_plays
from ..model.shows import utc_iso
from .requests import require_operator


def _bound(request: web.Request, name: str) -> str | None:
    """A period bound from the query: ISO-8601, a date or a time; without an offset it is UTC."""
    text = request.query.get(name)
    if text is None or text == "":
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ApiError("bad_request", f"'{name}' must be an ISO-8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return utc_iso(moment)


async def export_playlog(request: web.Request) -> web.Response:
    """``GET /api/playlog`` (operator): plays that started in [``from``, ``to``), of one room or all,
    oldest first, as JSON (default) or CSV (``format=csv``), one row per play."""
    require_operator(request)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError("bad_request", "'format' must be json or csv")
    since, until = _bound(request, "from"), _bound(request, "to")
    if since is not None and until is not None and since > until:
        raise ApiError("bad_request", "'from' is after 'to'", reason="period_reversed")
    room_id = request.query.get("room_id") or None
    rows = request.app[STORE].plays(room_id=room_id, since=since, until=until)
    if fmt == "json":
        return web.json_response(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(EXPORT_FIELDS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return web.Response(
        text=out.getvalue(), content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="playlog.csv"'},
    )


async def room_playlog(request: web.Request) -> web.Response:
    """``GET /api/rooms/{room_id}/playlog``: anyone; the room's last 50 plays, newest first
    (``ended_at`` null: playing now)."""
    room_id = request.match_info["room_id"]
    store = request.app[STORE]
    if store.room(room_id) is None:
        raise ApiError("not_found", "no room with this id")
    return web.json_response(recent_plays(store, room_id))
