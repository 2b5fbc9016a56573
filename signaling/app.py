"""The app factory: the one place that wires signaling, the SFU and the mixer together."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from mixer import Library, ensure_demo_library
from sfu import MediaWorker

from . import http_api, pages
from .config import Settings
from .desk import open_music
from .errors import error_middleware
from .library_sync import open_library
from .ratelimit import RateLimit
from .registry import DEFAULT_RULES, RoomRegistry
from .store import Store
from .wordfilter import WordFilter

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
WORKER = web.AppKey("worker", MediaWorker)
REGISTRY = web.AppKey("registry", RoomRegistry)
LIBRARY = web.AppKey("library", Library)
CREATE_LIMIT = web.AppKey("create_limit", RateLimit)
STORE = web.AppKey("store", Store)

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
    store = Store.in_data_dir(settings.data_dir)
    library = await open_library(settings, store, demo_dir)
    log.info("library: %d tracks", len(library.tracks()))
    worker = MediaWorker(settings.media_addresses, settings.ice_servers)
    rules = _rules(settings)
    registry = RoomRegistry(
        settings, worker, store, lambda room_id: open_music(store, library, room_id),
        WordFilter.load(settings.word_filter), rules,
    )
    restored = registry.restore()
    if restored:
        log.info("restored %d live rooms", restored)
    registry.start()
    app[STORE] = store
    app[LIBRARY] = library
    app[WORKER] = worker
    app[REGISTRY] = registry
    if settings.demo and not any(r.permanent for r in registry.rooms.values()):
        registry.create(DEMO_TITLE, "OnAir", "Music around the clock.", permanent=True)
    _tune_gc()
    yield
    await registry.close()
    await worker.close()
    store.close()


def _tune_gc() -> None:
    """Keep the cyclic GC's pauses off the room clock.

    Everything built at start (library, store, app) is frozen out of collection,
    and young generations are collected less often: each peer connection makes
    many objects, and a full collection over hundreds of them stalls the loop
    for several milliseconds, which shows as late music ticks.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def _rules(settings: Settings) -> list[str]:
    if settings.rules_file is None:
        return list(DEFAULT_RULES)
    lines = settings.rules_file.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
