"""The HTTP API of PROTOCOL.md: rooms, tracks, config and health."""

from __future__ import annotations

from aiohttp import web

from ..errors import ApiError
from ..keys import CLUSTER, CREATE_LIMIT, REGISTRY, SETTINGS
from ..model.ratelimit import allowed
from ..model.turn import turn_relay
from ..tokens import bearer
from ..validate import LIMITS, is_clean_text, person_text
from .cluster_view import cluster_rooms
from .requests import json_body, live_room


def _rules(body: dict) -> list[str]:
    rules = body.get("rules", [])
    most, longest = LIMITS["rules"], LIMITS["rule"]
    if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
        raise ApiError("bad_request", "The rules must be a list of lines of text.", reason="rules_not_text")
    rules = [r.strip() for r in rules if r.strip()]
    if len(rules) > most:
        raise ApiError("bad_request", f"A show can add at most {most} rules; this one has {len(rules)}.",
                       reason="rules_too_many", most=most, count=len(rules))
    for n, rule in enumerate(rules, 1):
        if len(rule) > longest:
            raise ApiError("bad_request", f"Rule {n} is {len(rule)} characters long: at most {longest}.",
                           reason="rule_too_long", n=n, length=len(rule), most=longest)
        if not is_clean_text(rule):
            raise ApiError("bad_request", f"Rule {n} has characters that cannot be shown.",
                           reason="rule_unshowable", n=n)
    return rules


async def create_room(request: web.Request) -> web.Response:
    if not await allowed(request.app[CREATE_LIMIT], request.app.get(CLUSTER), "create", request.remote or ""):
        raise ApiError("rate_limited", "too many rooms from this address; try again later")
    body = await json_body(request)
    title = person_text(body, "title", "title")
    host_name = person_text(body, "host_name", "host_name")
    description = person_text(body, "description", "description", required=False)
    rules = _rules(body)
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
    """The room summary, its rules (a visitor reads them before joining) and whether it is permanent
    (a station, the demo: no host ever takes calls there)."""
    room = live_room(request)
    return web.json_response({**room.summary(), "rules": room.rules, "permanent": room.permanent})


async def delete_room(request: web.Request) -> web.Response:
    room = live_room(request)
    if not room.is_host_token(bearer(request.headers.get("Authorization"))):
        raise ApiError("unauthorized", "only the host may end the show")
    await room.end()
    return web.Response(status=204)


async def step_away(request: web.Request) -> web.Response:
    """``POST /api/rooms/{room_id}/away`` (the host): the host leaves without ending the show.

    Everyone is told at once (``host_away``, with how long the show waits for the host) before the
    host's socket closes, so nobody reads "reconnecting" for a host who left on purpose."""
    room = live_room(request)
    if not room.is_host_token(bearer(request.headers.get("Authorization"))):
        raise ApiError("unauthorized", "only the host may step away from the show")
    wait_s = 0 if room.permanent else int(request.app[REGISTRY].settings.host_grace_s)
    room.broadcast({"type": "host_away", "reason": "stepped_away", "wait_s": wait_s})
    return web.json_response({"wait_s": wait_s})


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
            "max_chat_length": LIMITS["chat"],
            "max_upload_bytes": settings.max_upload_bytes,
            "limits": LIMITS,
            "host_grace_s": int(settings.host_grace_s),
        }
    )
