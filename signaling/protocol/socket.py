"""The room WebSocket: upgrade, admit, read messages until the client goes, then leave."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import WSMessage, WSMsgType, web

from ..errors import CLOSE_TOO_BIG, JOIN_CLOSE, ApiError
from ..keys import REGISTRY, SETTINGS
from ..model.ratelimit import allowed
from .edge import EdgeRoom
from .flood import MessageBudget, Verdict
from .join import admit, enter, leave, origin_allowed, sockets_elsewhere
from .messages import parse_frame, run_message
from .session import Session
from .workers import HUB, WorkerHub

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
    budget = MessageBudget(settings.message_rate, settings.message_burst)
    hub = request.app.get(HUB)
    bus = hub.bus if hub is not None else None
    try:
        if bus is not None and not await allowed(registry.join_limit, bus, "join", request.remote or ""):
            raise ApiError("rate_limited", "too many joins from this address; try again shortly")
        place = await hub.locate(request.match_info["room_id"]) if hub is not None else None
        if isinstance(place, EdgeRoom):
            assert hub is not None
            return await _edge_socket(request, ws, hub, place, budget)
        room, me = admit(request, registry, await sockets_elsewhere(registry, bus, request.remote or ""))
    except ApiError as exc:
        await ws.send_json(exc.frame())
        await ws.close(code=JOIN_CLOSE.get(exc.code, 4400))
        return ws
    session = Session(ws, request.transport)
    await enter(room, me, session)

    async def on_text(data: str) -> None:
        msg = parse_frame(session, data)
        if msg is not None:
            await run_message(room, me, session, msg)

    try:
        await _read_loop(session, ws, budget, me.address, on_text)
    finally:
        # aiohttp may cancel this handler when the client vanishes: leaving must
        # still run to the end, or peers and tasks would be left behind.
        await _run_to_end(leave(room, registry, me, session))
    return ws


async def _run_to_end(leaving: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(leaving)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(task)


async def _edge_socket(request: web.Request, ws: web.WebSocketResponse, hub: WorkerHub, edge: EdgeRoom,
                       budget: MessageBudget) -> web.WebSocketResponse:
    """A join to a room held by another worker: admitted there, media here, messages relayed."""
    session = Session(ws, request.transport)
    address = request.remote or ""
    try:
        pid = await edge.join(session, request.query.get("name", ""), request.query.get("token"), address)
    except ApiError as exc:
        session.send(exc.frame())
        session.close(JOIN_CLOSE.get(exc.code, 4400))
        await session.wait_closed()
        if exc.code == "draining":  # the origin went or moved: the next join asks the directory again
            hub.forget_edge(edge)
        hub.forget_edge_if_empty(edge)
        return ws

    async def on_text(data: str) -> None:
        msg = parse_frame(session, data)
        if msg is not None:
            await edge.client_message(pid, session, msg)

    try:
        await edge.attach_media(pid)
        await _read_loop(session, ws, budget, address, on_text)
    finally:
        await _run_to_end(edge.leave(pid, session))
        hub.forget_edge_if_empty(edge)
    return ws


async def _read_loop(session: Session, ws: web.WebSocketResponse, budget: MessageBudget, address: str,
                     on_text: Callable[[str], Awaitable[None]]) -> None:
    async for frame in ws:
        if frame.type == WSMsgType.ERROR:
            if isinstance(ws.exception(), Exception) and "size" in str(ws.exception()):
                await ws.close(code=CLOSE_TOO_BIG)
            break
        verdict = budget.take()  # before any parsing: every frame costs the same
        if verdict is Verdict.CLOSE:
            log.warning("closing a socket that kept flooding: %s", address)
            session.send({"type": "error", "code": "rate_limited", "message": "too many messages"})
            session.close(RATE_LIMITED_CLOSE)
            return
        if verdict is Verdict.REFUSE:
            _refuse(session, frame)
        elif frame.type == WSMsgType.TEXT:
            await on_text(frame.data)
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
