"""The room WebSocket: join, the message loop, and leaving."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from aiohttp import WSMsgType, web

from . import desk, moderation, stage  # noqa: F401  (their handlers register on import)
from .errors import CLOSE_REPLACED, CLOSE_TOO_BIG, JOIN_CLOSE, ApiError
from .handlers import dispatch
from .participant import Participant
from .registry import RoomRegistry
from .room import Room
from .session import Session
from .tokens import new_id, new_token, same
from .validate import is_clean_text

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024


def _origin_allowed(request: web.Request, allowed: list[str]) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: nothing to protect against
    served = {f"http://{request.host}", f"https://{request.host}"}
    return origin in served or origin in allowed


def _join_identity(
    room: Room, registry: RoomRegistry, name: str, token: str | None, address: str
) -> tuple[Participant, bool]:
    """Who is joining: the host, a returning participant, or a new listener."""
    if token:
        if room.is_host_token(token):
            existing = room.host
            if existing is not None:
                existing.name = name
                return existing, True
            return Participant(new_id("p"), name, "host", new_token(), address), False
        for p in room.participants.values():
            if same(token, p.resume_token):
                return p, True
        returning = registry.resume(room, token)
        if returning is not None:
            return returning, False
        raise ApiError("unauthorized", "this token is not valid for this room")
    return Participant(new_id("p"), name, "listener", new_token(), address), False


async def room_socket(request: web.Request) -> web.StreamResponse:
    from .app import REGISTRY, SETTINGS

    settings = request.app[SETTINGS]
    registry = request.app[REGISTRY]
    if not _origin_allowed(request, settings.allowed_origins):
        raise ApiError("forbidden", "this origin may not open a room socket")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    try:
        room, me = _join(request, registry)
    except ApiError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=JOIN_CLOSE.get(exc.code, 4400))
        return ws
    session = Session(ws, request.transport)
    await _enter(room, me, session)
    try:
        await _read_loop(room, me, session, ws)
    finally:
        # aiohttp may cancel this handler when the client vanishes: leaving must
        # still run to the end, or peers and tasks would be left behind.
        leaving = asyncio.ensure_future(_leave(room, registry, me, session))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(leaving)
    return ws


def _join(request: web.Request, registry: RoomRegistry) -> tuple[Room, Participant]:
    room = registry.get(request.match_info["room_id"])
    if room is None or room.ended:
        raise ApiError("not_found", "no live room with this id")
    name = request.query.get("name", "").strip()
    if not 1 <= len(name) <= 40 or not is_clean_text(name):
        raise ApiError("bad_request", "name must be 1-40 characters")
    address = request.remote or ""
    if not registry.join_limit.allow(address):
        raise ApiError("rate_limited", "too many joins from this address; try again shortly")
    token = request.query.get("token")
    me, present = _join_identity(room, registry, name, token, address)
    # An address ban keeps newcomers from that address out; someone who comes back
    # with their own valid token is judged by who they are.
    checked_ip = None if token else address
    if me.role != "host" and registry.store.is_banned(room.room_id, me.participant_id, checked_ip):
        raise ApiError("banned", "you are banned from this room")
    connected = sum(1 for p in room.participants.values() if p.connected)
    if not present and connected >= registry.settings.max_participants:
        raise ApiError("room_full", "this room is full")
    return room, me


async def _enter(room: Room, me: Participant, session: Session) -> None:
    old = room.sessions.get(me.participant_id)
    if old is not None:
        old.close(CLOSE_REPLACED)
        await room.router.remove_peer(me.participant_id)
    me.connected = True
    room.participants[me.participant_id] = me
    room.sessions[me.participant_id] = session
    room.router.set_live(me.participant_id, me.on_stage)
    if me.role == "host":
        room.host_left_at = None
    room.save(me)
    session.send(room.welcome(me))
    event = "participant_updated" if old is not None else "participant_joined"
    room.broadcast({"type": event, "participant": me.to_json()}, exclude=me.participant_id)
    sub = room.router.add_subscriber(me.participant_id)
    sub.on(
        "offer",
        lambda sdp, tracks: session.send(
            {"type": "offer", "pc": "sub", "sdp": sdp, "tracks": room.tracks_for(tracks)}
        ),
    )
    await room.router.reconcile()


async def _read_loop(
    room: Room, me: Participant, session: Session, ws: web.WebSocketResponse
) -> None:
    async for frame in ws:
        if frame.type == WSMsgType.TEXT:
            await _handle_text(room, me, session, frame.data)
        elif frame.type == WSMsgType.BINARY:
            session.send(
                {"type": "error", "code": "bad_request", "message": "frames must be JSON text"}
            )
        elif frame.type == WSMsgType.ERROR:
            if isinstance(ws.exception(), Exception) and "size" in str(ws.exception()):
                await ws.close(code=CLOSE_TOO_BIG)
            break
    if ws.close_code is None and ws.exception() is not None:
        await ws.close(code=CLOSE_TOO_BIG)


async def _handle_text(room: Room, me: Participant, session: Session, data: str) -> None:
    ref = None
    try:
        try:
            msg = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise ApiError("bad_request", "frames must be JSON objects") from None
        if not isinstance(msg, dict):
            raise ApiError("bad_request", "frames must be JSON objects")
        ref = msg.get("id") if isinstance(msg.get("id"), str) else None
        await dispatch(room, me, msg)
    except ApiError as exc:
        error = {"type": "error", "code": exc.code, "message": exc.message}
        if ref is not None:
            error["ref"] = ref
        session.send(error)
        return
    except Exception:
        log.exception("handler failed")
        error = {"type": "error", "code": "internal", "message": "the server failed"}
        if ref is not None:
            error["ref"] = ref
        session.send(error)
        return
    if ref is not None:
        session.send({"type": "ack", "ref": ref})


async def _leave(room: Room, registry: RoomRegistry, me: Participant, session: Session) -> None:
    if room.sessions.get(me.participant_id) is not session:
        await session.wait_closed()
        return  # replaced by a newer socket: that one owns the participant now
    del room.sessions[me.participant_id]
    me.connected = False
    with contextlib.suppress(Exception):
        await room.router.remove_peer(me.participant_id)  # stop their media first
    await session.wait_closed()
    if room.ended:
        return
    room.save(me)  # their resume minute starts now
    if me.role == "host":
        room.host_left_at = time.monotonic()
    else:
        room.participants.pop(me.participant_id, None)
    room.broadcast({"type": "participant_left", "participant_id": me.participant_id})
    await room.router.reconcile()
