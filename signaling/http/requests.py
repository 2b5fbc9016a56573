"""What HTTP handlers share: the JSON body and its text fields, the operator check, the room in the path."""

from __future__ import annotations

import json

from aiohttp import web

from ..errors import ApiError
from ..keys import REGISTRY, SETTINGS
from ..model.room import Room
from ..tokens import bearer, same


async def json_body(request: web.Request) -> dict:
    if request.content_length is not None and request.content_length > 64 * 1024:
        raise ApiError("too_large", "body over 64 KiB")
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        raise ApiError("bad_request", "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError("bad_request", "the body must be a JSON object")
    return body


def text_field(body: dict, name: str, max_len: int, *, required: bool = True) -> str:
    value = body.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError("bad_request", f"'{name}' must be a non-empty string")
    value = value.strip()
    if len(value) > max_len:
        raise ApiError("bad_request", f"'{name}' is over {max_len} characters")
    return value


def require_operator(request: web.Request) -> None:
    expected = request.app[SETTINGS].admin_token
    if not expected:
        raise ApiError("forbidden", "operator endpoints need an admin token in the configuration")
    if not same(bearer(request.headers.get("Authorization")), expected):
        raise ApiError("unauthorized", "this endpoint is for the operator")


def live_room(request: web.Request) -> Room:
    """The live room named by ``{room_id}`` in the path; ``not_found`` otherwise."""
    room = request.app[REGISTRY].get(request.match_info["room_id"])
    if room is None or room.ended:
        raise ApiError("not_found", "no live room with this id")
    return room
