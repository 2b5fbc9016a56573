"""Other workers, as a room sees them: an ordered link to each, and the outbox of a participant there.

A room lives on one worker (its origin); participants may sit on any worker.
The origin reaches a participant on worker B through a ``RemoteOutbox``: what
it would have written to a local socket goes to B over the cluster bus, in
order, and B writes it to the socket. Broadcasts go to each worker once
(``Room.broadcast`` groups them), serialized once per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Protocol

from ..cluster import ClusterBus

log = logging.getLogger(__name__)

LINK_QUEUE = 10_000


class Outbox(Protocol):
    """What a room needs of a participant's socket (``protocol.session.Session`` is one)."""

    def send(self, message: dict) -> None: ...

    def send_text(self, text: str) -> None:
        """A message already serialized (a broadcast is serialized once for all)."""

    def close(self, code: int) -> None: ...


class WorkerLink:
    """Messages to one other worker, in the order they were sent: a bounded queue, one writer task."""

    def __init__(self, bus: ClusterBus, worker_id: str) -> None:
        self.bus = bus
        self.worker_id = worker_id
        self._queue: asyncio.Queue[dict] = asyncio.Queue(LINK_QUEUE)
        self._task = asyncio.get_running_loop().create_task(self._write_loop())
        self.dropped = 0
        self.on_undelivered: Callable[[dict], None] | None = None  # a message nobody received

    def send(self, message: dict) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:  # that worker is gone or stuck: its pages will resync on reconnect
            self.dropped += 1

    async def _write_loop(self) -> None:
        while True:
            message = await self._queue.get()
            try:
                if not await self.bus.send(self.worker_id, message):
                    log.warning("to %s: %s for room %s reached nobody", self.worker_id, message.get("t"),
                                message.get("room"))
                    if self.on_undelivered is not None:
                        self.on_undelivered(message)
            except Exception as exc:  # Redis down: the bus reconnects; state is resent by snapshots
                log.warning("to %s: message lost (%s)", self.worker_id, exc)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Links:
    """The ``WorkerLink`` to each other worker, made when first needed."""

    def __init__(self, bus: ClusterBus) -> None:
        self.bus = bus
        self._links: dict[str, WorkerLink] = {}

    @property
    def worker_id(self) -> str:
        return self.bus.worker_id

    def to(self, worker_id: str) -> WorkerLink:
        link = self._links.get(worker_id)
        if link is None:
            link = self._links[worker_id] = WorkerLink(self.bus, worker_id)
        return link

    async def drop(self, worker_id: str) -> None:
        link = self._links.pop(worker_id, None)
        if link is not None:
            await link.close()

    async def close(self) -> None:
        for worker_id in list(self._links):
            await self.drop(worker_id)


class RemoteOutbox:
    """The socket of a participant who sits on another worker, as the origin writes to it."""

    def __init__(self, link: WorkerLink, room_id: str, participant_id: str, conn: str = "") -> None:
        self.link = link
        self.room_id = room_id
        self.participant_id = participant_id
        self.conn = conn  # which socket of theirs there (a rejoin through the same worker is another)

    @property
    def worker_id(self) -> str:
        return self.link.worker_id

    def send(self, message: dict) -> None:
        self.link.send({"t": "to", "room": self.room_id, "pid": self.participant_id, "msg": message})

    def send_text(self, text: str) -> None:
        self.send(json.loads(text))  # rare: broadcasts reach another worker once, as a dict

    def close(self, code: int) -> None:
        self.link.send({"t": "close", "room": self.room_id, "pid": self.participant_id, "conn": self.conn,
                        "code": code})

    async def wait_closed(self) -> None:
        """Nothing to wait for here: the participant's worker closes their socket."""

    def media(self, op: str, **fields: object) -> None:
        """Ask the participant's worker to act on their peer connections (``live``, ``pause``, ...)."""
        self.link.send({"t": "media", "room": self.room_id, "pid": self.participant_id, "conn": self.conn,
                        "op": op, **fields})
