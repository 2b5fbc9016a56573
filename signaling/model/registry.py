"""The live rooms of this server: create, find, list, end, expire, and restore after a restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sfu import MediaWorker, server_ms

from ..config import Settings
from ..store import Store
from ..store.base import now_iso
from ..tokens import new_id, new_token
from .participant import Participant
from .playlog import PlayLog
from .ratelimit import RateLimit
from .recording import salvage_recordings
from .requests import RequestDesk
from .room import Room
from .stations import MODERATOR_NAME, Stations
from .sync import SYNC_EVERY_S
from .wordfilter import WordFilter

log = logging.getLogger(__name__)

RESUME_WINDOW_S = 60.0
LEVELS_INTERVAL_S = 0.2
DEFAULT_RULES = [
    "Be kind: no harassment, hate or threats.",
    "No spam or advertising in chat.",
    "The host and moderators have the last word.",
]


class RoomRegistry:
    """Every live room, by id. Rooms without a host for the grace period end.

    Rooms, their participants and chat are kept in the store: after a restart
    the live rooms come back and their participants resume with their tokens.
    """

    def __init__(
        self, settings: Settings, worker: MediaWorker, store: Store,
        music_factory: Callable[[str], Any], word_filter: WordFilter, rules: list[str],
        stations: Stations | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.store = store
        self.music_factory = music_factory
        self.word_filter = word_filter
        self.rules = rules
        self.rooms: dict[str, Room] = {}
        self.play_logs: dict[str, PlayLog] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.started_at = time.time()
        self.join_limit = RateLimit(settings.join_rate, 10.0)
        self.stations = stations or Stations([], None)

    def create(self, title: str, host_name: str, description: str = "", *,
               permanent: bool = False, rules: list[str] | None = None,
               room_id: str | None = None, host_token: str | None = None) -> tuple[Room, str]:
        """A new live room and its host token (the only time the token is seen). A scheduled show
        gives its own id and host token; without them both are new."""
        room_id = room_id or new_id("r")[2:]
        host_token = host_token or new_token()
        self.store.save_room(room_id, title=title, description=description, host_name=host_name,
                             host_token=host_token, started_at=now_iso(), permanent=permanent,
                             rules_extra=rules or [])
        saved = self.store.room(room_id)
        assert saved is not None  # just written
        room = self._open(saved)
        log.info("room %s created: %r", room.room_id, title)
        return room, host_token

    def _open(self, saved: dict) -> Room:
        music = self.music_factory(saved["room_id"])
        room = Room(
            room_id=saved["room_id"], title=saved["title"], description=saved["description"],
            host_name=saved["host_name"], router=self.worker.create_router(music), music=music,
            rules=self.rules + list(saved["rules_extra"]), store=self.store,
            word_filter=self.word_filter,
        )
        room.started_at = saved["started_at"]
        room.worker_id = self.settings.worker_id
        room.permanent = saved["permanent"]
        room.set_broadcast_delay(float(saved.get("settings", {}).get("broadcast_delay_s", 0.0)))
        self.rooms[room.room_id] = room
        room.once("ended", lambda: self._ended(room))
        self.play_logs[room.room_id] = PlayLog(room, self.store)
        RequestDesk.of(room)  # a host who joins gets the pending requests
        salvage_recordings(room)  # what a crash of the room's last origin cut short
        return room

    def _ended(self, room: Room) -> None:
        self.rooms.pop(room.room_id, None)
        self.play_logs.pop(room.room_id, None)
        self.store.end_room(room.room_id)

    def restore(self) -> int:
        """Reopen the rooms that were live when the server stopped."""
        restored = 0
        self.store.close_open_plays(now_iso())  # the plays a stopped process left open
        for saved in self.store.live_rooms():
            if saved["permanent"] and saved["room_id"] not in self.stations.ids():  # no longer configured
                self.store.end_room(saved["room_id"])
                continue
            self._open(saved)
            restored += 1
        return restored

    def reopen(self, room_id: str) -> Room | None:
        """A live room of the store, opened here (its origin died, or this worker was told to take it)."""
        if room_id in self.rooms:
            return self.rooms[room_id]
        saved = self.store.room(room_id)
        if saved is None or saved.get("ended_at"):
            return None
        log.info("room %s reopened here", room_id)
        return self._open(saved)

    async def drop(self, room: Room) -> None:
        """Let go of a room another worker now holds: close its sockets here, keep it live in the store."""
        if self.rooms.get(room.room_id) is room:
            del self.rooms[room.room_id]
            self._let_go_play_log(room.room_id)
            await room.shutdown()

    def open_stations(self) -> None:
        """Every station's room live: opened here unless it is live already (restored here, or held
        by another worker), with its name and tokens as configured now."""
        for station in self.stations.by_id.values():
            saved = self.store.room(station.room_id)
            if saved is not None and saved["ended_at"] is None:
                self.store.save_room(station.room_id, title=station.name, description=station.description,
                                     host_name=saved["host_name"], host_token=station.host_token,
                                     started_at=saved["started_at"], permanent=True,
                                     rules_extra=saved["rules_extra"], settings=saved["settings"])
                room = self.rooms.get(station.room_id)
                if room is not None:
                    room.title, room.description = station.name, station.description
                continue
            self.store.reopen_room(station.room_id)  # a station keeps its id (and its play log)
            self.create(station.name, "OnAir", station.description, permanent=True,
                        room_id=station.room_id, host_token=station.host_token)

    def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    def live(self) -> list[Room]:
        rooms = [r for r in self.rooms.values() if not r.ended]
        return sorted(rooms, key=lambda r: -r.summary()["listeners"])

    def resume(self, room: Room, token: str) -> Participant | None:
        """A participant who left (or lost the server) less than a minute ago, by token; or a
        station's moderator, by the token the operator gave them."""
        if self.stations.is_moderator_token(room.room_id, token):
            return Participant(new_id("p"), MODERATOR_NAME, "moderator", token)
        saved = self.store.participant_by_token(room.room_id, token)
        if saved is None or saved["role"] == "host":
            return None
        # Someone still connected when the server stopped could not come back while it
        # was down: their minute starts when the server started again.
        since = max(_epoch(saved["last_seen"]), self.started_at)
        if time.time() - since > RESUME_WINDOW_S:
            return None
        participant = Participant(
            saved["participant_id"], saved["name"], saved["role"], token, saved["address"],
            chat_muted=saved["chat_muted"], muted=saved["muted"], muted_by=saved.get("muted_by"),
        )
        if saved["hand_raised"]:
            participant.set_hand(True, server_ms())
        return participant

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._reap_loop()), loop.create_task(self._levels_loop()),
                       loop.create_task(self._sync_loop())]

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_EVERY_S)
            for room in list(self.rooms.values()):
                room.send_sync()

    async def _levels_loop(self) -> None:
        while True:
            await asyncio.sleep(LEVELS_INTERVAL_S)
            now = server_ms()
            for room in list(self.rooms.values()):
                room.send_levels(now)

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            now = time.monotonic()
            for room in list(self.rooms.values()):
                room.save_music()
                if room.room_id in self.play_logs:
                    self.play_logs[room.room_id].checkpoint()
                if room.permanent or room.host_left_at is None:
                    continue
                if now - room.host_left_at > self.settings.host_grace_s:
                    log.info("room %s: no host for %.0f s, ending", room.room_id,
                             self.settings.host_grace_s)
                    await room.end()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for room in list(self.rooms.values()):
            self._let_go_play_log(room.room_id)
            await room.shutdown()

    def _let_go_play_log(self, room_id: str) -> None:
        play_log = self.play_logs.pop(room_id, None)
        if play_log is not None:
            play_log.close()


def _epoch(iso: str | None) -> float:
    if not iso:
        return 0.0
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


__all__ = ["RoomRegistry", "new_token"]
