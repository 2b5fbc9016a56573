"""The live rooms of this server: create, find, list, end, and expire."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from sfu import MediaWorker

from .config import Settings
from .participant import Participant
from .room import Room
from .tokens import new_id, new_token

log = logging.getLogger(__name__)

RESUME_WINDOW_S = 60.0
DEFAULT_RULES = [
    "Be kind: no harassment, hate or threats.",
    "No spam or advertising in chat.",
    "The host and moderators have the last word.",
]


class RoomRegistry:
    """Every live room, by id. Rooms without a host for the grace period end."""

    def __init__(
        self, settings: Settings, worker: MediaWorker, music_factory: Callable[[], Any]
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.music_factory = music_factory
        self.rooms: dict[str, Room] = {}
        self._departed: dict[str, tuple[str, Participant, float]] = {}
        self._reaper: asyncio.Task[None] | None = None

    def create(self, title: str, host_name: str, description: str = "") -> Room:
        music = self.music_factory()
        router = self.worker.create_router(music)
        room = Room(
            room_id=new_id("r")[2:],
            title=title,
            description=description,
            host_name=host_name,
            host_token=new_token(),
            router=router,
            music=music,
            rules=list(DEFAULT_RULES),
        )
        self.rooms[room.room_id] = room
        room.once("ended", lambda: self.rooms.pop(room.room_id, None))
        log.info("room %s created: %r", room.room_id, title)
        return room

    def get(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    def live(self) -> list[Room]:
        rooms = [r for r in self.rooms.values() if not r.ended]
        return sorted(rooms, key=lambda r: -r.summary()["listeners"])

    def remember_departed(self, room: Room, participant: Participant) -> None:
        """Keep a participant who left resumable (name, role) for a while."""
        self._departed[participant.resume_token] = (room.room_id, participant, time.monotonic())

    def resume(self, room: Room, token: str) -> Participant | None:
        entry = self._departed.pop(token, None)
        if entry is None:
            return None
        room_id, participant, left_at = entry
        if room_id != room.room_id or time.monotonic() - left_at > RESUME_WINDOW_S:
            return None
        return participant

    def start(self) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._reap_loop())

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            now = time.monotonic()
            for token, (_, _, left_at) in list(self._departed.items()):
                if now - left_at > RESUME_WINDOW_S:
                    self._departed.pop(token, None)
            for room in list(self.rooms.values()):
                if room.permanent or room.host_left_at is None:
                    continue
                if now - room.host_left_at > self.settings.host_grace_s:
                    log.info(
                        "room %s: no host for %.0f s, ending",
                        room.room_id,
                        self.settings.host_grace_s,
                    )
                    await room.end()

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for room in list(self.rooms.values()):
            await room.shutdown()
