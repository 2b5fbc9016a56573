"""The HTTP API of PROTOCOL.md: rooms, tracks, config and health."""

from __future__ import annotations

import json

from aiohttp import web

from .errors import ApiError
from .tokens import bearer


async def _json_body(request: web.Request) -> dict:
    if request.content_length is not None and request.content_length > 64 * 1024:
        raise ApiError("too_large", "body over 64 KiB")
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise ApiError("bad_request", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError("bad_request", "the body must be a JSON object")
    return body


def _text(body: dict, name: str, max_len: int, *, required: bool = True) -> str:
    value = body.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError("bad_request", f"'{name}' must be a non-empty string")
    value = value.strip()
    if len(value) > max_len:
        raise ApiError("bad_request", f"'{name}' is over {max_len} characters")
    return value


async def create_room(request: web.Request) -> web.Response:
    from .app import CREATE_LIMIT, REGISTRY

    if not request.app[CREATE_LIMIT].allow(request.remote or ""):
        raise ApiError("rate_limited", "too many rooms from this address; try again later")
    body = await _json_body(request)
    title = _text(body, "title", 100)
    host_name = _text(body, "host_name", 40)
    description = _text(body, "description", 1000, required=False)
    rules = body.get("rules", [])
    if not isinstance(rules, list) or len(rules) > 10 or not all(
        isinstance(r, str) and 0 < len(r) <= 200 for r in rules
    ):
        raise ApiError("bad_request", "'rules' must be up to 10 lines of 1-200 characters")
    room, host_token = request.app[REGISTRY].create(title, host_name, description, rules=rules)
    return web.json_response(
        {"room_id": room.room_id, "host_token": host_token, "room_url": f"/r/{room.room_id}"},
        status=201,
    )


async def list_rooms(request: web.Request) -> web.Response:
    from .app import REGISTRY

    return web.json_response([r.summary() for r in request.app[REGISTRY].live()])


def _room(request: web.Request):  # type: ignore[no-untyped-def]
    from .app import REGISTRY

    room = request.app[REGISTRY].get(request.match_info["room_id"])
    if room is None or room.ended:
        raise ApiError("not_found", "no live room with this id")
    return room


async def get_room(request: web.Request) -> web.Response:
    return web.json_response(_room(request).summary())


async def delete_room(request: web.Request) -> web.Response:
    room = _room(request)
    if not room.is_host_token(bearer(request.headers.get("Authorization"))):
        raise ApiError("unauthorized", "only the host may end the show")
    await room.end()
    return web.Response(status=204)


async def config(request: web.Request) -> web.Response:
    from .app import SETTINGS

    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "ice_servers": [{"urls": url} for url in settings.ice_servers],
            "max_chat_length": settings.chat_max,
            "max_upload_bytes": settings.max_upload_bytes,
        }
    )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def add_routes(app: web.Application) -> None:
    from . import operator_api, tracks_api
    from .metrics import metrics
    from .ws import room_socket

    app.router.add_post("/api/rooms", create_room)
    app.router.add_get("/api/rooms", list_rooms)
    app.router.add_get("/api/rooms/{room_id}", get_room)
    app.router.add_delete("/api/rooms/{room_id}", delete_room)
    app.router.add_get("/api/rooms/{room_id}/ws", room_socket)
    tracks_api.add_routes(app)
    app.router.add_get("/api/config", config)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    operator_api.add_routes(app)
