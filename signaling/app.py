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
from sfu.pipe import PipeEndpoint

from .cluster import ClusterBus
from .config import Settings
from .errors import error_middleware
from .http.cluster_view import families_json, rooms_json
from .http.library_bus import NEWS, LibraryNews
from .http.metrics import metrics_registry
from .http.origin_relay import private_site
from .http.proxy import TrustedProxies, forwarded_middleware
from .keys import (
    CLUSTER,
    CREATE_LIMIT,
    LIBRARY,
    LOOP_MONITOR,
    METRICS,
    PROGRAMS,
    REGISTRY,
    SCANS,
    SETTINGS,
    STORE,
    WORKER,
)
from .model.library_sync import LibraryScans, open_library, uploads_dir
from .model.loop_monitor import LoopMonitor
from .model.mesh import Mesh, pipe_key
from .model.music import open_music
from .model.program import ProgramHub
from .model.ratelimit import RateLimit
from .model.registry import DEFAULT_RULES, RoomRegistry
from .model.remote import Links
from .model.stations import Stations, demo_in_library, library_settings
from .model.turn import server_side_turn
from .model.wordfilter import WordFilter
from .protocol.flood import SOCKETS_TALLY, sockets_by_address
from .protocol.workers import HUB, WorkerHub
from .routes import add_room_routes, add_routes
from .store import Store

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    proxies = forwarded_middleware(TrustedProxies(settings.trusted_proxies))
    app = web.Application(middlewares=[proxies, error_middleware], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[CREATE_LIMIT] = RateLimit(settings.room_create_rate, 60.0)
    add_routes(app)
    app.cleanup_ctx.extend([_loop_monitor, _store, _library, _media_worker, _registry, _programs])
    if settings.redis_url and settings.worker_id:
        app.cleanup_ctx.append(_cluster)
    app.on_shutdown.append(_drain)
    return app


async def _drain(app: web.Application) -> None:
    """Stopping (the listener is closed already): every page is told 1001 now and rejoins (on
    another worker, with workers) instead of waiting out aiohttp's shutdown timeout."""
    try:
        hub = app.get(HUB)
        if hub is not None:
            await hub.drain()
        registry = app.get(REGISTRY)
        if registry is not None:
            await registry.close()
    except Exception:  # the cleanup that follows must still close every resource
        log.exception("draining failed")


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
    # The stations' folders are music folders too; the demo tracks join the library only while the
    # operator gave no --music-dir (library_folders takes each folder once: the uploads folder given
    # in the demo's place adds nothing).
    folders_from = demo_dir if demo_in_library(settings) else uploads_dir(settings)
    app[LIBRARY] = await open_library(library_settings(settings), app[STORE], folders_from)
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
    stations = await Stations.open(settings, library, ensure_demo_library(settings.data_dir))
    registry = RoomRegistry(
        settings, app[WORKER], store,
        lambda room_id: open_music(store, library, room_id, stations.rotation(room_id)),
        WordFilter.load(settings.word_filter), _rules(settings), stations,
    )
    app[REGISTRY] = registry
    app[METRICS] = metrics_registry(registry, app[WORKER])
    clustered = bool(settings.redis_url and settings.worker_id)
    if not clustered:  # with workers, a room opens where it is first joined (WorkerHub.locate)
        restored = registry.restore()
        if restored:
            log.info("restored %d live rooms", restored)
    registry.start()
    if _first_worker(settings):  # the stations (the demo among them) are live from the start
        registry.open_stations()
    _tune_gc()
    yield
    await registry.close()


async def _programs(app: web.Application) -> AsyncIterator[None]:
    """The rooms' program feeds (made on first use by an HTTP listener or a recording)."""
    app[PROGRAMS] = ProgramHub()
    yield
    app[PROGRAMS].close()


def _first_worker(settings: Settings) -> bool:
    """The one process that makes the demo room: the only one, or the first worker of the first node."""
    return settings.worker_id is None or settings.worker_id.endswith("w1")


async def _cluster(app: web.Application) -> AsyncIterator[None]:
    """With workers: the pipe, the bus and the hub; on the way out, this worker's rooms are let go."""
    settings = app[SETTINGS]
    assert settings.redis_url and settings.worker_id and settings.cluster_secret
    endpoint = PipeEndpoint(pipe_key(settings.cluster_secret))
    host, port = settings.pipe_address.rsplit(":", 1)
    bound = await endpoint.start(host.strip("[]"), int(port))
    advertised = (settings.pipe_advertise or bound[0], bound[1])
    app[NEWS] = LibraryNews(app)  # before the private site copies the app's keys
    # a room's HTTP routes landing on another worker are relayed to its origin at this address
    private = private_site(app, host.strip("[]"), add_room_routes)
    try:
        node_address = await anext(private)
        bus = await ClusterBus.connect(settings.redis_url, settings.worker_id, pipe_address=advertised,
                                       node_address=_advertise(node_address, settings.pipe_advertise))
    except BaseException:
        await private.aclose()
        await endpoint.close()
        raise
    links = Links(bus)
    hub = WorkerHub(app[REGISTRY], bus, app[WORKER], Mesh(endpoint, links, advertised), links)
    app[HUB] = hub
    app[CLUSTER] = bus
    app[NEWS].connect(bus)
    bus.reports["metrics"] = lambda: families_json(app[METRICS])
    bus.reports["rooms"] = lambda: rooms_json(app[REGISTRY])
    bus.tallies[SOCKETS_TALLY] = lambda: sockets_by_address(app[REGISTRY].rooms.values())
    for room in app[REGISTRY].rooms.values():
        await bus.claim_origin(room.room_id)
    hub.start()
    yield
    await bus.set_draining(True)
    await hub.close()
    for room_id in list(app[REGISTRY].rooms):
        await bus.release_origin(room_id)
    await bus.close()
    await private.aclose()
    await endpoint.close()


def _advertise(address: str, advertised_host: str | None) -> str:
    """``http://bound:port`` as other nodes reach it: on the pipe's advertised host, if one is set."""
    if not advertised_host:
        return address
    host = f"[{advertised_host}]" if ":" in advertised_host else advertised_host
    return f"http://{host}:{address.rsplit(':', 1)[1]}"


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
