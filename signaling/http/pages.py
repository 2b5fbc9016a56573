"""The bundled pages: ``/``, ``/r/{room_id}``, ``/admin`` (``/static/`` is served from the same folder)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"

# The console handles the admin token: nothing but its own files may run or load there, no other
# site may frame it, and its address goes nowhere.
ADMIN_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "index.html")


async def admin(request: web.Request) -> web.FileResponse:
    """``GET /admin``: the operator's console (it asks for the admin token itself)."""
    return web.FileResponse(WEB_DIR / "admin.html", headers=ADMIN_HEADERS)
