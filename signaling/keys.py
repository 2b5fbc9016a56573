"""The typed keys of the app's state (``app[KEY]``), importable by every layer above the model."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry

from mixer import Library
from sfu import MediaWorker

from .cluster import ClusterBus
from .config import Settings
from .model.library_sync import LibraryScans
from .model.loop_monitor import LoopMonitor
from .model.program import ProgramHub
from .model.ratelimit import RateLimit
from .model.registry import RoomRegistry
from .store import Store

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
LIBRARY = web.AppKey("library", Library)
SCANS = web.AppKey("library_scans", LibraryScans)
WORKER = web.AppKey("worker", MediaWorker)
REGISTRY = web.AppKey("registry", RoomRegistry)
CREATE_LIMIT = web.AppKey("create_limit", RateLimit)
METRICS = web.AppKey("metrics", CollectorRegistry)
LOOP_MONITOR = web.AppKey("loop_monitor", LoopMonitor)
CLUSTER = web.AppKey("cluster", ClusterBus)  # only with workers
PROGRAMS = web.AppKey("programs", ProgramHub)  # the rooms' program feeds (HTTP audio, recordings)
