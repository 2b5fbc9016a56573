"""The track library across workers: a track added, edited or deleted on one worker reaches the
libraries and rooms of the others.

Each worker holds the library in memory (its rooms queue and play from it); the store and the
files are shared. The worker that took the change tells the others on the bus (``library``:
the ids changed and removed, one message per worker, serialized once); each takes the rows
from the store as an upload does (``note_upload`` and a rescan, which reuses every unchanged
file) and updates the queues of its rooms as the change's own worker did. A message lost
(Redis away) leaves that worker as before: its next rescan brings it up to date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from mixer import Track

from ..cluster import BusUnavailable, ClusterBus
from ..keys import LIBRARY, REGISTRY, SCANS, STORE

log = logging.getLogger(__name__)

LIBRARY_WAIT_S = 5.0  # how long a change waits for the library to include it
MAX_IDS = 100  # per message: a change is one track; more is not a message this code sends


def _retitle_queue(music: Any, library: Any, track: Track) -> None:
    """The room's queue with ``track``'s entries showing its new title (``queue`` to everyone)."""
    entries = [(e["entry_id"], e["track"]["track_id"]) for e in music.queue()]
    pairs = [(eid, track if tid == track.track_id else library.get(tid)) for eid, tid in entries]
    # Untouched, or a track of it left the library meanwhile: leave the queue alone.
    if any(tid == track.track_id for _, tid in entries) and all(t is not None for _, t in pairs):
        music.restore_queue(pairs)


async def settle(app: web.Application, tracks: Iterable[Track] = ()) -> None:
    """After a change to the library: a rescan that takes it in (waited for up to
    ``LIBRARY_WAIT_S``, unless a long scan runs), then every live room's queue shows ``tracks``
    (changed) as they are now."""
    await asyncio.wait([app[SCANS].request(app[LIBRARY], app[STORE])], timeout=LIBRARY_WAIT_S)
    for room in app[REGISTRY].live():
        for track in tracks:
            _retitle_queue(room.music, app[LIBRARY], track)


def drop_from_rooms(app: web.Application, track_ids: Iterable[str]) -> None:
    """Tracks gone from the library: out of every live room's queue and rotation (a room playing
    one goes on to its next track at once)."""
    for room in app[REGISTRY].live():
        for track_id in track_ids:
            room.music.remove_track(track_id)


class LibraryNews:
    """This worker's line to the others about its library. Put in the app before the private site
    copies the app's keys (a relayed upload runs there, on the room's origin), connected to the
    bus once there is one."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.bus: ClusterBus | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def connect(self, bus: ClusterBus) -> None:
        self.bus = bus
        bus.on("message", self._on_message)

    async def tell(self, changed: list[str], removed: list[str]) -> None:
        """Every other worker takes these changes into its library."""
        if self.bus is None:
            return
        message = {"t": "library", "changed": changed, "removed": removed}
        try:
            others = [w for w in await self.bus.workers() if w != self.bus.worker_id]
            missed = await self.bus.send_many(others, message)
        except BusUnavailable:
            missed = ["every other worker"]
        if missed:
            log.warning("library change not delivered to %s: they see it at their next rescan", missed)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("t") != "library":
            return
        task = asyncio.get_running_loop().create_task(take_changes(self.app, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


NEWS = web.AppKey("library_news", LibraryNews)


async def tell_workers(app: web.Application, *, changed: Iterable[str] = (),
                       removed: Iterable[str] = ()) -> None:
    """With workers: every other worker takes these changes into its library."""
    news = app.get(NEWS)
    if news is not None:
        await news.tell(list(changed), list(removed))


def _ids(value: Any) -> list[str]:
    return [str(v) for v in value[:MAX_IDS]] if isinstance(value, list) else []


async def take_changes(app: web.Application, message: dict[str, Any]) -> None:
    """What another worker changed: removed tracks out now, changed ones in (from the store)."""
    store, library, scans = app[STORE], app[LIBRARY], app[SCANS]
    changed, removed = _ids(message.get("changed")), _ids(message.get("removed"))
    async with scans.commit:  # not while a scan saves what it read
        for track_id in removed:
            gone = library.remove(track_id)
            if gone is not None:
                scans.fresh.pop(gone.path, None)
        rows = [row for track_id in changed if (row := store.track(track_id)) is not None]
        tracks = [Track.from_record(row) for row in rows]
        for track in tracks:
            scans.note_upload(library, track)
    drop_from_rooms(app, removed)
    if not tracks:
        return
    await settle(app, tracks)
    log.info("library: took %d changed and %d removed tracks from another worker", len(tracks), len(removed))
