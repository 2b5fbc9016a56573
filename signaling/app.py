"""The app factory: the one place that wires signaling, the SFU and the mixer together.

Each resource opens in a ``cleanup_ctx`` of its own, in order (store, library,
media worker, room registry), so a failure while starting closes what was
already open, and a failure while closing one still closes the others.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from mixer import ensure_demo_library
from sfu import MediaWorker

from .config import Settings
from .errors import error_middleware
from .http.metrics import metrics_registry
from .http.proxy import TrustedProxies, forwarded_middleware
from .keys import CREATE_LIMIT, LIBRARY, LOOP_MONITOR, METRICS, REGISTRY, SCANS, SETTINGS, STORE, WORKER
from .model.library_sync import LibraryScans, open_library
from .model.loop_monitor import LoopMonitor
from .model.music import open_music
from .model.ratelimit import RateLimit
from .model.registry import DEFAULT_RULES, RoomRegistry
from .model.turn import server_side_turn
from .model.wordfilter import WordFilter
from .routes import add_routes
from .store import Store

log = logging.getLogger(__name__)

DEMO_TITLE = "OnAir demo"


def create_app(settings: Settings) -> web.Application:
    proxies = forwarded_middleware(TrustedProxies(settings.trusted_proxies))
    app = web.Application(middlewares=[proxies, error_middleware], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[CREATE_LIMIT] = RateLimit(settings.room_create_rate, 60.0)
    add_routes(app)
    app.cleanup_ctx.extend([_loop_monitor, _store, _library, _media_worker, _registry])
    return app


async def _loop_monitor(app: web.Application) -> AsyncIterator[None]:
    app[LOOP_MONITOR] = LoopMonitor()
    app[LOOP_MONITOR].start()
    yield
    await app[LOOP_MONITOR].close()


async def _store(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app[STORE] = Store.in_data_dir(settings.data_dir)
    yield
    app[STORE].close()


async def _library(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    demo_dir = ensure_demo_library(settings.data_dir)
    app[LIBRARY] = await open_library(settings, app[STORE], demo_dir)
    log.info("library: %d tracks", len(app[LIBRARY].tracks()))
    app[SCANS] = LibraryScans()
    yield
    await app[SCANS].close()


async def _media_worker(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[WORKER] = MediaWorker(settings.media_addresses, settings.ice_servers, server_side_turn(settings))
    yield
    await app[WORKER].close()


async def _registry(app: web.Application) -> AsyncIterator[None]:
    settings, store, library = app[SETTINGS], app[STORE], app[LIBRARY]
    registry = RoomRegistry(
        settings, app[WORKER], store, lambda room_id: open_music(store, library, room_id),
        WordFilter.load(settings.word_filter), _rules(settings),
    )
    app[REGISTRY] = registry
    app[METRICS] = metrics_registry(registry, app[WORKER])
    restored = registry.restore()
    if restored:
        log.info("restored %d live rooms", restored)
    registry.start()
    if settings.demo and not any(r.permanent for r in registry.rooms.values()):
        registry.create(DEMO_TITLE, "OnAir", "Music around the clock.", permanent=True)
    _tune_gc()
    yield
    await registry.close()


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
