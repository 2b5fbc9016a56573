"""The origin's side of a room spread over workers: joins, messages and leaves relayed by other workers.

A participant whose socket sits on worker B is, for the origin, a participant
like any other whose outbox is a ``RemoteOutbox``: the same admission, the
same permission checks and handlers (``dispatch``), the same leave. Only their
peer connections live on B (``RoomMedia`` sends B what to do with them).
"""

from __future__ import annotations

import logging
from typing import Any

from ..cluster import ClusterBus
from ..errors import ApiError
from ..model.participant import Participant
from ..model.registry import RoomRegistry
from ..model.remote import Links, RemoteOutbox
from ..model.room import Room
from .join import admit_to, enter, leave, sockets_elsewhere
from .messages import run_message

log = logging.getLogger(__name__)


class Relay:
    """Handles what edge workers send the origin about the participants they hold."""

    def __init__(self, registry: RoomRegistry, links: Links, bus: ClusterBus) -> None:
        self.registry = registry
        self.links = links
        self.bus = bus

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        handler = {
            "join": self._join, "msg": self._msg, "leave": self._leave,
            "publishing": self._publishing, "rtt": self._rtt,
        }.get(str(kind))
        if handler is not None:
            await handler(message)

    def _room(self, message: dict[str, Any]) -> Room | None:
        room = self.registry.get(str(message.get("room")))
        return None if room is None or room.ended else room

    def _remote(self, message: dict[str, Any]) -> tuple[Room, Participant, RemoteOutbox] | None:
        """The room and the participant a message speaks for, if it comes from the worker that holds them."""
        room = self._room(message)
        if room is None:
            return None
        pid = str(message.get("pid"))
        outbox = room.sessions.get(pid)
        me = room.participants.get(pid)
        if not isinstance(outbox, RemoteOutbox) or me is None or outbox.worker_id != message.get("from"):
            return None
        return room, me, outbox

    async def _join(self, message: dict[str, Any]) -> None:
        worker, conn = str(message.get("from")), message.get("conn")
        link = self.links.to(worker)
        room = self._room(message)
        try:
            if room is None:
                raise ApiError("not_found", "no live room with this id")
            address = str(message.get("address", ""))
            elsewhere = await sockets_elsewhere(self.registry, self.bus, address)
            me = admit_to(self.registry, room, str(message.get("name", "")), message.get("token") or None,
                          address, elsewhere)
        except ApiError as exc:
            link.send({"t": "refused", "room": message.get("room"), "conn": conn, "code": exc.code,
                       "message": exc.message, "reason": exc.reason, "params": exc.params})
            return
        outbox = RemoteOutbox(link, room.room_id, me.participant_id, str(conn))
        link.send({"t": "joined", "room": room.room_id, "conn": conn, "pid": me.participant_id,
                   "participant": me.to_json()})
        await enter(room, me, outbox)

    async def _msg(self, message: dict[str, Any]) -> None:
        found = self._remote(message)
        msg = message.get("msg")
        if found is not None and isinstance(msg, dict):
            room, me, outbox = found
            await run_message(room, me, outbox, msg)

    async def _leave(self, message: dict[str, Any]) -> None:
        found = self._remote(message)
        if found is not None:
            room, me, outbox = found
            await leave(room, self.registry, me, outbox)

    async def _publishing(self, message: dict[str, Any]) -> None:
        found = self._remote(message)
        if found is not None:
            room, me, _ = found
            await room.media.remote_publishing(me.participant_id, bool(message.get("on")))

    async def _rtt(self, message: dict[str, Any]) -> None:
        found = self._remote(message)
        rtt = message.get("rtt_ms")
        if found is not None and isinstance(rtt, int | float) and 0 <= rtt < 60_000:
            room, me, _ = found
            room.router.set_member_rtt(me.participant_id, float(rtt))

    async def worker_gone(self, worker_id: str) -> None:
        """A worker died: everyone it held has left (their pages come back through another worker)."""
        for room in list(self.registry.rooms.values()):
            for pid, outbox in list(room.sessions.items()):
                me = room.participants.get(pid)
                if isinstance(outbox, RemoteOutbox) and outbox.worker_id == worker_id and me is not None:
                    await leave(room, self.registry, me, outbox)
        await self.links.drop(worker_id)
