"""``/api/tracks``: search the library and upload to it (stub, being written)."""

from __future__ import annotations

from aiohttp import web

from .errors import ApiError


async def list_tracks(request: web.Request) -> web.Response:
    from .app import LIBRARY

    try:
        limit = min(max(int(request.query.get("limit", "50")), 1), 200)
        offset = max(int(request.query.get("offset", "0")), 0)
    except ValueError:
        raise ApiError("bad_request", "limit and offset must be integers") from None
    library = request.app[LIBRARY]
    q = request.query.get("q", "").strip()
    tracks = library.search(q) if q else library.tracks()
    return web.json_response([t.to_json() for t in tracks[offset : offset + limit]])


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/tracks", list_tracks)
