"""This worker among the others: where a room lives, what the bus brings, who died.

Every message from another worker is handled in order per room (one queue and
task per room), like the messages of one socket. Once a second the origin
restates each of its rooms to the workers that hold some of its participants
(``room`` snapshots), and every worker checks who is still alive: the
participants a dead worker held have left; the rooms a dead origin held close
their sockets here with 1012 so that pages rejoin, and the next join takes
the room over from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from aiohttp import web

from sfu import MediaWorker

from ..cluster import BusUnavailable, ClusterBus
from ..errors import CLOSE_GOING_AWAY
from ..model.mesh import MUSIC, Mesh, voice_key
from ..model.placement import place
from ..model.registry import RoomRegistry
from ..model.remote import Links, RemoteOutbox
from ..model.room import Room
from .edge import EdgeRoom
from .relay import Relay

log = logging.getLogger(__name__)

SNAPSHOT_EVERY_S = 1.0
SLOW_MESSAGE_S = 0.5
CLOSE_ORIGIN_GONE = 1012  # "service restart": the page rejoins
ORIGIN_TYPES = frozenset({"join", "msg", "leave", "publishing", "rtt"})


class WorkerHub:
    """Routes rooms and bus messages between this worker and the others."""

    def __init__(self, registry: RoomRegistry, bus: ClusterBus, media: MediaWorker, mesh: Mesh,
                 links: Links) -> None:
        self.registry = registry
        self.bus = bus
        self.media = media
        self.mesh = mesh
        self.links = links
        self.relay = Relay(registry, links, bus)
        self.edges: dict[str, EdgeRoom] = {}
        self.addresses: dict[str, tuple[str, int]] = {}
        self._instances: dict[str, str] = {}  # a worker restarted under its id is another instance
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._room_tasks: dict[str, asyncio.Task[None]] = {}
        bus.on("message", self._enqueue)
        bus.on("origin_lost", self._origin_lost)

    @property
    def me(self) -> str:
        return self.bus.worker_id

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._watch_loop())]

    async def close(self) -> None:
        for task in [*self._tasks, *self._room_tasks.values()]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for edge in list(self.edges.values()):
            await edge.close(CLOSE_ORIGIN_GONE)
        self.edges.clear()
        await self.links.close()

    async def drain(self) -> None:
        """SIGTERM, the listener already closed: no new joins here; each room held here is let go
        (its sockets closed with 1001, so pages rejoin on a worker still serving, which takes the
        room over from the store), and our share of other rooms closes the same way."""
        with contextlib.suppress(BusUnavailable):
            await self.bus.set_draining(True)
        for room in list(self.registry.rooms.values()):
            room.save_music()
            # Released before its sockets close: a page that rejoins at once finds the room free to
            # take over, rather than this worker still named as its origin and about to go.
            with contextlib.suppress(BusUnavailable):
                await self.bus.release_origin(room.room_id)
            await self.registry.drop(room)
        for edge in list(self.edges.values()):
            await edge.close(CLOSE_GOING_AWAY)
        self.edges.clear()

    # --- where a room lives ---------------------------------------------------------------------
    async def locate(self, room_id: str) -> Room | EdgeRoom | None:
        """The room here (we are its origin), our share of it (another worker is), or None."""
        edge = self.edges.get(room_id)
        held_elsewhere = room_id not in self.registry.rooms and not self.bus.draining
        if edge is not None and not edge.closed and held_elsewhere:
            return edge
        placed = await place(self.registry, self.bus, room_id)
        return self._edge(room_id, placed) if isinstance(placed, str) else placed

    def _edge(self, room_id: str, origin: str) -> EdgeRoom:
        edge = self.edges.get(room_id)
        if edge is None or edge.closed:
            router = self.media.create_router(None)
            edge = self.edges[room_id] = EdgeRoom(room_id, origin, self.links.to(origin), router, self.mesh)
            edge.link.on_undelivered = self._undelivered
        return edge

    def _undelivered(self, message: dict[str, Any]) -> None:
        edge = self.edges.get(str(message.get("room")))
        if edge is not None:
            edge.undelivered(message)

    def forget_edge(self, edge: EdgeRoom) -> None:
        """``edge``'s origin is gone or moved: its pages rejoin (1012), and the next join asks the
        directory where the room lives now."""
        if self.edges.get(edge.room_id) is edge:
            del self.edges[edge.room_id]
            asyncio.get_running_loop().create_task(edge.close(CLOSE_ORIGIN_GONE))

    def forget_edge_if_empty(self, edge: EdgeRoom) -> None:
        if edge.idle and self.edges.get(edge.room_id) is edge:
            del self.edges[edge.room_id]
            asyncio.get_running_loop().create_task(edge.close(1000))

    # --- the bus ----------------------------------------------------------------------------------
    def _enqueue(self, message: dict[str, Any]) -> None:
        if "room" not in message:
            return  # not about a room (``library``: signaling/http/library_bus.py)
        room_id = str(message.get("room"))
        queue = self._queues.get(room_id)
        if queue is None:
            queue = self._queues[room_id] = asyncio.Queue()
            self._room_tasks[room_id] = asyncio.get_running_loop().create_task(self._drain(room_id, queue))
        queue.put_nowait(message)

    async def _drain(self, room_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            message = await queue.get()
            started = time.monotonic()
            try:
                await self._handle(room_id, message)
            except Exception:
                log.exception("message %r for room %s failed", message.get("t"), room_id)
            took = time.monotonic() - started
            if took > SLOW_MESSAGE_S:
                log.warning("message %r for room %s took %.1f s", message.get("t"), room_id, took)

    async def _handle(self, room_id: str, message: dict[str, Any]) -> None:
        kind = message.get("t")
        log.debug("from the bus: %s for room %s", kind, room_id)
        room = self.registry.get(room_id)
        if room is not None and kind in ORIGIN_TYPES:
            await self.relay.handle(message)
        elif room is not None and kind == "pipe_want":
            self.mesh.feed(room_id, room.router, message)
        elif room_id in self.edges:
            await self.edges[room_id].deliver(message)
        elif kind == "join":  # the room is not (or no longer) here: refuse so the page retries
            self.links.to(str(message.get("from"))).send({
                "t": "refused", "room": room_id, "conn": message.get("conn"),
                "code": "draining", "message": "this show moved; try again"})

    def _origin_lost(self, room_id: str, holder: str | None) -> None:
        room = self.registry.get(room_id)
        if room is not None:
            log.warning("room %s was taken over by %s: closing it here", room_id, holder)
            asyncio.get_running_loop().create_task(self.registry.drop(room))

    # --- every second -----------------------------------------------------------------------------
    async def _watch_loop(self) -> None:
        while True:
            await asyncio.sleep(SNAPSHOT_EVERY_S)
            try:
                await self._watch()
            except Exception:
                log.exception("worker watch failed")

    async def _watch(self) -> None:
        workers = await self.bus.workers()
        gone = {w for w, instance in self._instances.items()
                if w not in workers or workers[w].instance != instance}
        self._instances = {w: info.instance for w, info in workers.items()}
        self.addresses = {w: info.pipe_address for w, info in workers.items()}
        for worker_id in gone:
            await self._worker_gone(worker_id)
        for room in list(self.registry.rooms.values()):
            self.restate(room)
            await self.bus.set_listeners(room.room_id, room.summary()["listeners"])
        for edge in list(self.edges.values()):
            edge.report_rtts()

    async def _worker_gone(self, worker_id: str) -> None:
        log.warning("worker %s is gone", worker_id)
        await self.relay.worker_gone(worker_id)
        for room_id, edge in list(self.edges.items()):
            if edge.origin == worker_id:
                del self.edges[room_id]
                await edge.close(CLOSE_ORIGIN_GONE)

    def restate(self, room: Room) -> None:
        """Tell every worker of ``room`` (and this one) which producers cross which pipes."""
        workers = {o.worker_id for o in room.sessions.values() if isinstance(o, RemoteOutbox)}
        snapshot = self.snapshot(room, workers)
        for worker_id in workers:
            self.links.to(worker_id).send(snapshot)
        if self.mesh.apply(room.room_id, room.router, snapshot):
            asyncio.get_running_loop().create_task(room.router.reconcile())

    def snapshot(self, room: Room, workers: set[str]) -> dict[str, Any]:
        router = room.router
        producers: list[dict[str, Any]] = [{"key": MUSIC, "home": self.me}]
        producers += [{"key": voice_key(o), "owner": o, "home": self.me}
                      for o, p in router.publishers.items() if not p.producer.closed]
        producers += [{"key": voice_key(o), "owner": o, "home": w}
                      for o, w in room.media.remote_voices.items()]
        return {
            "t": "room", "room": room.room_id,
            "workers": {w: list(self.addresses[w]) for w in workers | {self.me} if w in self.addresses},
            "producers": producers,
            "delay": {"d": router.lag_ms, "voices": router.voice_delays()},
            "restricted": {owner: sorted(hearers) for owner, hearers in router.restricted.items()},
        }


HUB = web.AppKey("worker_hub", WorkerHub)
