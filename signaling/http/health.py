"""``GET /healthz``: 200 when the server can do its job, 503 with the reasons when it cannot.

Degraded means: the database cannot take a write, or the event loop has lagged
over 200 ms in the last few seconds (a stalled loop means late music and
frozen sockets for everyone).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..keys import LOOP_MONITOR, SETTINGS, STORE

LAG_LIMIT_MS = 200.0


async def healthz(request: web.Request) -> web.Response:
    reasons = []
    database = await asyncio.to_thread(request.app[STORE].check_writable)
    if database is not None:
        reasons.append(database)
    lag = request.app[LOOP_MONITOR].worst_lag_ms()
    if lag > LAG_LIMIT_MS:
        reasons.append(f"the event loop lagged {lag:.0f} ms (limit {LAG_LIMIT_MS:.0f})")
    worker = request.app[SETTINGS].worker_id
    who = {"worker": worker} if worker else {}  # with workers: which one answered
    if reasons:
        return web.json_response({"status": "degraded", "reasons": reasons, **who}, status=503)
    return web.json_response({"status": "ok", **who})
