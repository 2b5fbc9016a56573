"""The operator's bans: ``POST /api/bans`` (ban and remove at once), ``GET /api/bans`` (the active
ones), ``DELETE /api/bans/{ban_id}`` (lift: the next join is judged without it)."""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from ..errors import CLOSE_KICKED, ApiError
from ..keys import REGISTRY, STORE
from ..model.participant import Participant
from ..model.room import Room
from ..store.base import normalize_ip
from ..validate import is_clean_text
from .requests import json_body, require_operator


def optional_id(body: dict[str, Any], name: str) -> str | None:
    """An optional id string of a JSON body (absent or null: None); ``bad_request`` otherwise."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 100 or not is_clean_text(value):
        raise ApiError("bad_request", f"'{name}' must be an id string")
    return value


def _ban_request(body: dict[str, Any]) -> tuple[str | None, str | None, str, str | None]:
    """``participant_id``, canonical ``ip``, ``reason`` and ``room_id`` of a ban, validated."""
    participant_id = optional_id(body, "participant_id")
    room_id = optional_id(body, "room_id")
    ip = body.get("ip")
    if ip is not None:
        if not isinstance(ip, str):
            raise ApiError("bad_request", "'ip' must be an IP address")
        try:
            ipaddress.ip_address(ip.strip())
        except ValueError:
            raise ApiError("bad_request", "'ip' must be an IP address") from None
        ip = normalize_ip(ip)
    if participant_id is None and ip is None:
        raise ApiError("bad_request", "a ban needs a participant_id or an ip")
    reason = body.get("reason")
    if not isinstance(reason, str) or not is_clean_text(reason):
        raise ApiError("bad_request", "'reason' must be a string")
    reason = reason.strip()
    if len(reason) > 500:
        raise ApiError("bad_request", "'reason' is over 500 characters")
    return participant_id, ip, reason, room_id


def _matches(p: Participant, participant_id: str | None, ip: str | None) -> bool:
    # The host is exempt from bans at join (protocol.join.admit); removing them here would not hold.
    if p.role == "host":
        return False
    return p.participant_id == participant_id or (ip is not None and normalize_ip(p.address) == ip)


async def _remove_banned(
    rooms: list[Room], participant_id: str | None, ip: str | None, reason: str
) -> dict[str, list[str]]:
    """Remove the connected participants the ban matches; their ids by room id."""
    removed: dict[str, list[str]] = {}
    for room in rooms:
        for pid in list(room.sessions):
            p = room.participants.get(pid)
            if p is not None and _matches(p, participant_id, ip):
                await room.remove(p, {"type": "kicked", "reason": reason or "banned"}, CLOSE_KICKED)
                removed.setdefault(room.room_id, []).append(pid)
    return removed


async def add_ban(request: web.Request) -> web.Response:
    require_operator(request)
    participant_id, ip, reason, room_id = _ban_request(await json_body(request))
    store, registry = request.app[STORE], request.app[REGISTRY]
    if room_id is not None and store.room(room_id) is None:
        raise ApiError("not_found", "no room with this id")
    ban = store.add_ban(reason=reason, room_id=room_id, participant_id=participant_id, ip=ip, by="operator")
    if room_id is None:
        rooms = list(registry.rooms.values())
    else:
        rooms = [room] if (room := registry.get(room_id)) is not None else []
    removed = await _remove_banned(rooms, participant_id, ip, reason)
    everyone = sorted(pid for ids in removed.values() for pid in ids)
    # One entry for the ban itself (in its room, or room-less for every room), and one in
    # each room it removed someone from, so every host's log says why people left.
    store.audit(
        "operator_ban",
        room_id=room_id,
        actor_name="operator",
        target_id=participant_id,
        detail={"ban_id": ban["ban_id"], "ip": ip, "reason": reason, "removed": everyone},
    )
    for other_room, ids in removed.items():
        if other_room != room_id:
            store.audit(
                "operator_ban",
                room_id=other_room,
                actor_name="operator",
                target_id=participant_id,
                detail={"ban_id": ban["ban_id"], "ip": ip, "reason": reason, "removed": ids},
            )
    return web.json_response({**ban, "removed": everyone}, status=201)


async def list_bans(request: web.Request) -> web.Response:
    """``GET /api/bans``: ``[ban]``, the active ones, newest first."""
    require_operator(request)
    return web.json_response(request.app[STORE].bans())


async def lift_ban(request: web.Request) -> web.Response:
    """``DELETE /api/bans/{ban_id}``: 204; 404 if no active ban has this id."""
    require_operator(request)
    store = request.app[STORE]
    ban_id = request.match_info["ban_id"]
    ban = store.ban(ban_id)
    if ban is None or not store.lift_ban(ban_id):
        raise ApiError("not_found", "no active ban with this id")
    store.audit(
        "operator_unban",
        room_id=ban["room_id"],
        actor_name="operator",
        target_id=ban["participant_id"],
        detail={"ban_id": ban_id, "ip": ban["ip"], "reason": ban["reason"]},
    )
    return web.Response(status=204)
