"""The room WebSocket: upgrade, admit, read messages until the client goes, then leave."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSMessage, WSMsgType, web

from ..errors import CLOSE_TOO_BIG, JOIN_CLOSE, ApiError
from ..keys import REGISTRY, SETTINGS
from ..model.participant import Participant
from ..model.room import Room
from .dispatch import dispatch
from .flood import MessageBudget, Verdict
from .join import admit, enter, leave, origin_allowed
from .session import Session

log = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024
RATE_LIMITED_CLOSE = JOIN_CLOSE["rate_limited"]  # 4429, as for a join refused for its rate


async def room_socket(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    registry = request.app[REGISTRY]
    if not origin_allowed(request, settings.allowed_origins):
        raise ApiError("forbidden", "this origin may not open a room socket")
    # autoping off: a flood of WebSocket pings counts against the budget like any frame.
    # timeout: how long a closing socket waits for the client's close frame.
    ws = web.WebSocketResponse(
        heartbeat=settings.ws_heartbeat_s,
        max_msg_size=MAX_FRAME,
        autoping=False,
        timeout=min(10.0, settings.handshake_timeout_s),
    )
    await ws.prepare(request)
    try:
        room, me = admit(request, registry)
    except ApiError as exc:
        await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await ws.close(code=JOIN_CLOSE.get(exc.code, 4400))
        return ws
    session = Session(ws, request.transport)
    await enter(room, me, session)
    budget = MessageBudget(settings.message_rate, settings.message_burst)
    try:
        await _read_loop(room, me, session, ws, budget)
    finally:
        # aiohttp may cancel this handler when the client vanishes: leaving must
        # still run to the end, or peers and tasks would be left behind.
        leaving = asyncio.ensure_future(leave(room, registry, me, session))
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(leaving)
    return ws


async def _read_loop(
    room: Room, me: Participant, session: Session, ws: web.WebSocketResponse, budget: MessageBudget
) -> None:
    async for frame in ws:
        if frame.type == WSMsgType.ERROR:
            if isinstance(ws.exception(), Exception) and "size" in str(ws.exception()):
                await ws.close(code=CLOSE_TOO_BIG)
            break
        verdict = budget.take()  # before any parsing: every frame costs the same
        if verdict is Verdict.CLOSE:
            log.warning("closing a socket that kept flooding: %s", me.address)
            session.send({"type": "error", "code": "rate_limited", "message": "too many messages"})
            session.close(RATE_LIMITED_CLOSE)
            return
        if verdict is Verdict.REFUSE:
            _refuse(session, frame)
        elif frame.type == WSMsgType.TEXT:
            await _handle_text(room, me, session, frame.data)
        elif frame.type == WSMsgType.BINARY:
            session.send(
                {"type": "error", "code": "bad_request", "message": "frames must be JSON text"}
            )
        elif frame.type == WSMsgType.PING:
            await ws.pong(frame.data)
    if ws.close_code is None and ws.exception() is not None:
        await ws.close(code=CLOSE_TOO_BIG)


def _refuse(session: Session, frame: WSMessage) -> None:
    """``error`` ``rate_limited`` for a frame over the budget (with its ``ref``: one reply per ``id``)."""
    if frame.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        return
    error = {"type": "error", "code": "rate_limited", "message": "slow down: too many messages"}
    with contextlib.suppress(ValueError, RecursionError, TypeError):
        msg = json.loads(frame.data) if frame.type == WSMsgType.TEXT else None
        if isinstance(msg, dict) and isinstance(msg.get("id"), str):
            error["ref"] = msg["id"]
    session.send(error)


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
