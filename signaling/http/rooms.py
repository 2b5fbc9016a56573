"""The HTTP API of PROTOCOL.md: rooms, tracks, config and health."""

from __future__ import annotations

from aiohttp import web

from ..errors import ApiError
from ..keys import CLUSTER, CREATE_LIMIT, REGISTRY, SETTINGS
from ..model.ratelimit import allowed
from ..model.turn import turn_relay
from ..tokens import bearer
from .cluster_view import cluster_rooms
from .requests import json_body, live_room, text_field


async def create_room(request: web.Request) -> web.Response:
    if not await allowed(request.app[CREATE_LIMIT], request.app.get(CLUSTER), "create", request.remote or ""):
        raise ApiError("rate_limited", "too many rooms from this address; try again later")
    body = await json_body(request)
    title = text_field(body, "title", 100)
    host_name = text_field(body, "host_name", 40)
    description = text_field(body, "description", 1000, required=False)
    rules = body.get("rules", [])
    if not isinstance(rules, list) or len(rules) > 10 or not all(
        isinstance(r, str) and 0 < len(r) <= 200 for r in rules
    ):
        raise ApiError("bad_request", "'rules' must be up to 10 lines of 1-200 characters")
    room, host_token = request.app[REGISTRY].create(title, host_name, description, rules=rules)
    bus = request.app.get(CLUSTER)
    if bus is not None:  # with workers: this one is the room's origin before anyone can join it
        await bus.claim_origin(room.room_id)
    return web.json_response(
        {"room_id": room.room_id, "host_token": host_token, "room_url": f"/r/{room.room_id}"},
        status=201,
    )


async def list_rooms(request: web.Request) -> web.Response:
    bus = request.app.get(CLUSTER)
    if bus is not None:  # with workers: every worker's rooms
        return web.json_response(await cluster_rooms(bus, request.app[REGISTRY]))
    return web.json_response([r.summary() for r in request.app[REGISTRY].live()])


async def get_room(request: web.Request) -> web.Response:
    return web.json_response(live_room(request).summary())


async def delete_room(request: web.Request) -> web.Response:
    room = live_room(request)
    if not room.is_host_token(bearer(request.headers.get("Authorization"))):
        raise ApiError("unauthorized", "only the host may end the show")
    await room.end()
    return web.Response(status=204)


async def config(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    ice_servers: list[dict] = [{"urls": url} for url in settings.ice_servers]
    relay = turn_relay(settings)
    if relay is not None:
        ice_servers.append(relay.ice_server())  # fresh credentials on every request
    return web.json_response(
        {
            "ice_servers": ice_servers,
            "ice_transport_policy": settings.ice_transport_policy,
            "max_chat_length": settings.chat_max,
            "max_upload_bytes": settings.max_upload_bytes,
        }
    )
