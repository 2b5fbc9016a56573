"""The app factory: the one place that wires signaling, the SFU and the mixer together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from mixer import Library, RoomMusic, ensure_demo_library
from sfu import MediaWorker

from . import http_api, pages
from .config import Settings
from .errors import error_middleware
from .ratelimit import RateLimit
from .registry import RoomRegistry

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
WORKER = web.AppKey("worker", MediaWorker)
REGISTRY = web.AppKey("registry", RoomRegistry)
LIBRARY = web.AppKey("library", Library)
CREATE_LIMIT = web.AppKey("create_limit", RateLimit)

DEMO_TITLE = "OnAir demo"


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[CREATE_LIMIT] = RateLimit(settings.room_create_rate, 60.0)
    http_api.add_routes(app)
    pages.add_routes(app)
    app.cleanup_ctx.append(_media_plane)
    return app


async def _media_plane(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    demo_dir = ensure_demo_library(settings.data_dir)
    library = Library([demo_dir, *settings.music_dirs])
    await library.scan_async()
    log.info("library: %d tracks", len(library.tracks()))
    worker = MediaWorker(settings.media_addresses, settings.ice_servers)
    worker.start()
    registry = RoomRegistry(settings, worker, lambda: RoomMusic(library))
    registry.start()
    app[LIBRARY] = library
    app[WORKER] = worker
    app[REGISTRY] = registry
    if settings.demo:
        demo = registry.create(DEMO_TITLE, "OnAir", "Music around the clock.")
        demo.permanent = True
    yield
    await registry.close()
    await worker.close()
