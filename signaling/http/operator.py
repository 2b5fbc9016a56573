"""Operator and host endpoints: reports, bans, the audit log."""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from ..errors import CLOSE_KICKED, ApiError
from ..keys import REGISTRY, STORE
from ..model.participant import Participant
from ..model.room import Room
from ..store.base import normalize_ip
from ..tokens import bearer
from ..validate import is_clean_text
from .requests import json_body, live_room, require_operator

AUDIT_LIMIT = 200


async def list_reports(request: web.Request) -> web.Response:
    require_operator(request)
    return web.json_response(request.app[STORE].reports())


def _optional_id(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 100 or not is_clean_text(value):
        raise ApiError("bad_request", f"'{name}' must be an id string")
    return value


def _ban_request(body: dict[str, Any]) -> tuple[str | None, str | None, str, str | None]:
    """``participant_id``, canonical ``ip``, ``reason`` and ``room_id`` of a ban, validated."""
    participant_id = _optional_id(body, "participant_id")
    room_id = _optional_id(body, "room_id")
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
    # The host is exempt from bans at join (ws._join); removing them here would not hold.
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


async def operator_audit(request: web.Request) -> web.Response:
    require_operator(request)
    room_id = request.query.get("room_id") or None
    return web.json_response(request.app[STORE].audit_log(room_id, AUDIT_LIMIT))


async def room_audit(request: web.Request) -> web.Response:
    room = live_room(request)
    if not room.is_host_token(bearer(request.headers.get("Authorization"))):
        raise ApiError("unauthorized", "only the host may read the room's audit log")
    return web.json_response(request.app[STORE].audit_log(room.room_id, AUDIT_LIMIT))
