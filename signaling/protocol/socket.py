"""The room WebSocket: upgrade, admit, read messages until the client goes, then leave."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSMsgType, web

from ..errors import CLOSE_TOO_BIG, JOIN_CLOSE, ApiError
from ..keys import REGISTRY, SETTINGS
from ..model.participant import Participant
from ..model.room import Room
from .dispatch import dispatch
from .join import admit, enter, leave, origin_allowed
from .session import Session

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024


async def room_socket(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    registry = request.app[REGISTRY]
    if not origin_allowed(request, settings.allowed_origins):
        raise ApiError("forbidden", "this origin may not open a room socket")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    try:
        room, me = admit(request, registry)
    except ApiError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=JOIN_CLOSE.get(exc.code, 4400))
        return ws
    session = Session(ws, request.transport)
    await enter(room, me, session)
    try:
        await _read_loop(room, me, session, ws)
    finally:
        # aiohttp may cancel this handler when the client vanishes: leaving must
        # still run to the end, or peers and tasks would be left behind.
        leaving = asyncio.ensure_future(leave(room, registry, me, session))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(leaving)
    return ws


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
