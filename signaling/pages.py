"""The bundled page: ``/``, ``/r/{room_id}`` and ``/static/``."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def add_routes(app: web.Application) -> None:
    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    async def room(request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "room.html")

    app.router.add_get("/", index)
    app.router.add_get("/r/{room_id}", room)
    app.router.add_static("/static/", WEB_DIR, follow_symlinks=False)
