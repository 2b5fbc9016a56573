"""HTTP audio with workers: a request that lands on a worker which is not the room's origin.

Workers share the public port, so a player's ``listen.ogg`` lands on any of them, but the
program is mixed and encoded on the room's origin only (once per room). Each worker also
serves the listen routes on a private address of its own (``node_address`` in its
heartbeat); another worker relays the request there and copies the answer back, as a
reverse proxy would (``Via``). The copy is paced by the player: a player that stops
reading stops the relay's reads, and the origin drops that stream as too slow.
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
from ..keys import CLUSTER, PROGRAMS, REGISTRY
from .listen import bound_kernel_buffer

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RELAY_CLIENT = web.AppKey("listen_relay_client", aiohttp.ClientSession)
# What a player needs of the origin's answer (the rest is hop-by-hop or the proxy's own).
PASSED_HEADERS = ("Content-Type", "Cache-Control", "Access-Control-Allow-Origin", "X-Content-Type-Options",
                  "icy-name", "icy-description", "icy-br", "icy-pub", "icy-metaint")
CHUNK = 16 * 1024
STALLED_S = 10.0


def from_origin(handler: Handler) -> Handler:
    """Serve ``handler`` here when this worker holds the room, else relay it to the room's origin."""

    @wraps(handler)
    async def serve(request: web.Request) -> web.StreamResponse:
        origin = await _origin_address(request)
        if origin is None:
            return await handler(request)
        return await relay(request, origin)

    return serve


async def _origin_address(request: web.Request) -> str | None:
    """The private HTTP address of the room's origin, when that is another worker."""
    bus = request.app.get(CLUSTER)
    if bus is None or request.app[REGISTRY].get(request.match_info["room_id"]) is not None:
        return None
    try:
        origin = await bus.origin_of(request.match_info["room_id"])
        workers = await bus.workers() if origin and origin != bus.worker_id else {}
    except BusUnavailable:
        raise ApiError("draining", "the workers cannot reach each other now: try again") from None
    info = workers.get(origin) if origin else None
    return info.node_address if info is not None else None


async def relay(request: web.Request, origin: str) -> web.StreamResponse:
    """The origin's answer to the same request, streamed through (status and headers included)."""
    upstream_headers = {k: v for k, v in request.headers.items() if k.lower() in ("icy-metadata", "range")}
    try:
        upstream = await request.app[RELAY_CLIENT].request(
            request.method, f"{origin}{request.rel_url}", headers=upstream_headers,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=30))
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("relay to %s failed: %s", origin, exc)
        raise ApiError("draining", "the worker holding this show did not answer: try again") from None
    async with upstream:
        headers = {k: v for k in PASSED_HEADERS if (v := upstream.headers.get(k)) is not None}
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
            raise asyncio.CancelledError  # cut short: aiohttp drops the player's connection
        return response


async def _copy(upstream: aiohttp.ClientResponse, response: web.StreamResponse) -> bool:
    """The origin's body to the player; False if either side went away or the player stopped
    reading for ``STALLED_S`` (the relay then lets both go, holding nothing for them)."""
    try:
        async for chunk in upstream.content.iter_chunked(CHUNK):
            await asyncio.wait_for(response.write(chunk), STALLED_S)
    except (aiohttp.ClientError, ConnectionError, TimeoutError):
        return False
    return True


async def private_site(app: web.Application, host: str,
                       add_routes: Callable[[web.Application], None]) -> AsyncGenerator[str, None]:
    """This worker's listen routes on ``host``, a free port: its address (``http://host:port``) is
    what other workers relay to. Stays up while the context is held."""
    inner = web.Application(middlewares=[error_middleware])
    inner[REGISTRY] = app[REGISTRY]  # what the listen routes read: the rooms and their programs
    inner[PROGRAMS] = app[PROGRAMS]
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

