"""With workers: an HTTP request about a room that lands on a worker which is not its origin.

Workers share the public port, so a page's ``GET /api/rooms/{id}``, a host's "step away" or a
player's ``listen.ogg`` lands on any of them, but the ``Room`` (and its program, mixed and
encoded once) lives on its origin only. Each worker also serves the room's routes on a private
address of its own (``node_address`` in its heartbeat); another worker relays the request there
and copies the answer back, as a reverse proxy would (``Via``). A room that nobody holds yet (a
restart: rooms open where they are first used) is claimed and opened here. The copy is paced by
the client: one that stops reading stops the relay's reads, and the origin drops it as too slow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import wraps

import aiohttp
from aiohttp import web

from ..cluster import BusUnavailable
from ..errors import ApiError, error_middleware
from ..keys import CLUSTER, REGISTRY
from ..model.placement import place
from .listen import bound_kernel_buffer

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RELAY_CLIENT = web.AppKey("origin_relay_client", aiohttp.ClientSession)
# What the origin needs of the request, and the client of the answer (the rest is hop-by-hop).
REQUEST_HEADERS = ("Authorization", "Content-Type", "Accept", "Accept-Language", "Icy-MetaData", "Range")
ANSWER_HEADERS = ("Content-Type", "Cache-Control", "Access-Control-Allow-Origin", "X-Content-Type-Options",
                  "Content-Range", "Accept-Ranges", "Content-Language",
                  "icy-name", "icy-description", "icy-br", "icy-pub", "icy-metaint")
CHUNK = 16 * 1024
STALLED_S = 10.0


def from_origin(handler: Handler) -> Handler:
    """Serve ``handler`` here when this worker holds the room, else relay it to the room's origin.
    The room is the path's ``{room_id}``, else the ``room_id`` query parameter (a host's upload or
    track edit: authorized by their room, and their room's library takes it first); without
    either, here."""

    @wraps(handler)
    async def serve(request: web.Request) -> web.StreamResponse:
        origin = await _origin_address(request)
        if origin is None:
            return await handler(request)
        return await relay(request, origin)

    return serve


async def _origin_address(request: web.Request) -> str | None:
    """The private HTTP address of the room's origin when that is another worker; None to serve
    here (this worker holds the room, has just claimed it, or nobody can: the handler says so)."""
    bus = request.app.get(CLUSTER)
    room_id = request.match_info.get("room_id") or request.query.get("room_id")
    if bus is None or not room_id:
        return None
    placed = await place(request.app[REGISTRY], bus, room_id)
    if not isinstance(placed, str):
        return None
    try:
        info = (await bus.workers()).get(placed)
    except BusUnavailable:
        raise ApiError("draining", "the workers cannot reach each other now: try again") from None
    if info is None:
        raise ApiError("draining", "the worker holding this show is gone: try again")
    return info.node_address


async def relay(request: web.Request, origin: str) -> web.StreamResponse:
    """The origin's answer to the same request, streamed through (status and headers included)."""
    headers = {k: v for k in REQUEST_HEADERS if (v := request.headers.get(k)) is not None}
    # Streamed through, not read first: an upload may be far over aiohttp's 1 MB body limit.
    body = request.content if request.body_exists else None
    try:
        upstream = await request.app[RELAY_CLIENT].request(
            request.method, f"{origin}{request.rel_url}", headers=headers, data=body,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=30))
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("relay to %s failed: %s", origin, exc)
        raise ApiError("draining", "the worker holding this show did not answer: try again") from None
    async with upstream:
        return await _answer(request, upstream)


async def _answer(request: web.Request, upstream: aiohttp.ClientResponse) -> web.StreamResponse:
    headers = {k: v for k in ANSWER_HEADERS if (v := upstream.headers.get(k)) is not None}
    headers["Via"] = f"1.1 onair-{request.app[CLUSTER].worker_id}"
    response = web.StreamResponse(status=upstream.status, headers=headers)
    if upstream.headers.get("Transfer-Encoding", "").lower() == "chunked":
        response.enable_chunked_encoding()
    elif upstream.content_length is not None:
        response.content_length = upstream.content_length
    await response.prepare(request)
    if request.transport is not None:
        bound_kernel_buffer(request.transport)
    if not await _copy(upstream, response):
        raise asyncio.CancelledError  # cut short: aiohttp drops the client's connection
    return response


async def _copy(upstream: aiohttp.ClientResponse, response: web.StreamResponse) -> bool:
    """The origin's body to the client; False if either side went away or the client stopped
    reading for ``STALLED_S`` (the relay then lets both go, holding nothing for them)."""
    try:
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await asyncio.wait_for(response.write(chunk), STALLED_S)
    except (aiohttp.ClientError, ConnectionError, TimeoutError):
        return False
    return True


async def private_site(app: web.Application, host: str,
                       add_routes: Callable[[web.Application], None]) -> AsyncGenerator[str, None]:
    """This worker's room routes on ``host``, a free port: its address (``http://host:port``) is
    what other workers relay to. Stays up while the generator is held."""
    inner = web.Application(middlewares=[error_middleware])
    for key, value in app.items():  # the same rooms, store, settings and programs
        inner[key] = value
    add_routes(inner)
    runner = web.AppRunner(inner, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    app[RELAY_CLIENT] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        yield f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
    finally:
        await app[RELAY_CLIENT].close()
        await runner.cleanup()

