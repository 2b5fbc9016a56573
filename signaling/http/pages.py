"""The bundled page: ``/``, ``/r/{room_id}`` (``/static/`` is served from the same folder)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "index.html")


async def room(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "room.html")
