"""The room directory: which worker is a room's origin, and how many listeners each worker has in it.

A mixin of ``ClusterBus`` (as the store is made of one mixin per concern).
Every write that the heartbeat also makes runs under the bus's write lock, so
a heartbeat in flight can never write back a claim or a count that was just
withdrawn.
"""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from .naming import Names, worker_of
from .redis_io import CLAIM, RELEASE, TAKE_OVER, text, unavailable_on_error

log = logging.getLogger(__name__)

ENSURE_ATTEMPTS = 5


class DirectoryMixin:
    """Origins (claim, take over, release) and listener counts per room, over live workers only."""

    worker_id: str
    instance: str
    names: Names
    _redis: Redis
    _write_lock: asyncio.Lock
    _origins: set[str]
    _listeners: dict[str, int]
    _room_ttl_s: int

    def _init_directory(self) -> None:
        self._claim_script: AsyncScript = self._redis.register_script(CLAIM)
        self._take_over_script: AsyncScript = self._redis.register_script(TAKE_OVER)
        self._release_script: AsyncScript = self._redis.register_script(RELEASE)

    # --- origins -----------------------------------------------------------
    async def claim_origin(self, room_id: str) -> bool:
        """Become the room's origin if it has none (SET NX); True also if it is ours already."""
        with unavailable_on_error("claim_origin"):
            async with self._write_lock:
                won = await self._claim_script(
                    keys=[self.names.origin(room_id), self.names.worker_rooms(self.worker_id)],
                    args=[self.instance, room_id])
                if won:
                    self._origins.add(room_id)
                return bool(won)

    async def origin_of(self, room_id: str, *, alive_only: bool = True) -> str | None:
        """The worker id of the room's origin; None if unset or (``alive_only``) if that instance is dead."""
        with unavailable_on_error("origin_of"):
            holder = await self._redis.get(self.names.origin(room_id))
            if holder is None:
                return None
            worker_id = worker_of(text(holder))
            if alive_only and (await self._live_instances([worker_id])).get(worker_id) != text(holder):
                return None
            return worker_id

    async def take_over(self, room_id: str, dead_worker_id: str) -> bool:
        """Become the origin of a room held by a dead instance of ``dead_worker_id``.

        Atomic: of several survivors trying at once exactly one gets True. False
        if that worker's instance on record is still alive, or the record names
        another worker (someone took over first), or the room has no origin.
        """
        with unavailable_on_error("take_over"):
            async with self._write_lock:
                won = await self._take_over_script(
                    keys=[self.names.origin(room_id), self.names.worker(dead_worker_id),
                          self.names.worker_rooms(dead_worker_id), self.names.worker_rooms(self.worker_id)],
                    args=[dead_worker_id, self.instance, room_id])
                if won:
                    self._origins.add(room_id)
                return bool(won)

    async def release_origin(self, room_id: str) -> bool:
        """Stop being the room's origin (only if it is ours): True if a record was removed."""
        with unavailable_on_error("release_origin"):
            async with self._write_lock:
                self._origins.discard(room_id)
                released = await self._release_script(
                    keys=[self.names.origin(room_id), self.names.worker_rooms(self.worker_id)],
                    args=[self.instance, room_id])
                return bool(released)

    async def ensure_origin(self, room_id: str) -> str:
        """The live origin of the room after trying to become it: claim if unset, take over if dead.

        Returns the winner's worker id (ours when this worker got it).
        """
        for _ in range(ENSURE_ATTEMPTS):
            if await self.claim_origin(room_id):
                return self.worker_id
            holder = await self.origin_of(room_id, alive_only=False)
            if holder is None:
                continue  # released between the two reads
            if await self.origin_of(room_id) == holder:
                return holder
            if await self.take_over(room_id, holder):
                return self.worker_id
        holder = await self.origin_of(room_id)
        if holder is None:
            raise RuntimeError(f"room {room_id}: no live origin after {ENSURE_ATTEMPTS} attempts")
        return holder

    async def rooms_of(self, worker_id: str) -> list[str]:
        """The rooms whose origin record names ``worker_id`` (any of its instances, alive or not)."""
        with unavailable_on_error("rooms_of"):
            members = await self._redis.smembers(self.names.worker_rooms(worker_id))
            rooms = sorted(text(room) for room in members)
            if not rooms:
                return []
            holders = [text(h) if h is not None else None
                       for h in await self._redis.mget([self.names.origin(room) for room in rooms])]
            return [room for room, holder in zip(rooms, holders, strict=True)
                    if holder is not None and worker_of(holder) == worker_id]

    async def orphans(self) -> dict[str, str]:
        """Rooms whose origin instance is dead, with the worker id on record (for ``take_over``)."""
        with unavailable_on_error("orphans"):
            worker_ids = sorted(text(w) for w in await self._redis.smembers(self.names.workers))
            pipe = self._redis.pipeline(transaction=False)
            for worker_id in worker_ids:
                pipe.smembers(self.names.worker_rooms(worker_id))
            room_sets = await pipe.execute()
            rooms = sorted({text(room) for room_set in room_sets for room in room_set})
            if not rooms:
                return {}
            holders = [text(h) if h is not None else None
                       for h in await self._redis.mget([self.names.origin(room) for room in rooms])]
            live = await self._live_instances(sorted({worker_of(h) for h in holders if h is not None}))
            return {room: worker_of(holder) for room, holder in zip(rooms, holders, strict=True)
                    if holder is not None and live.get(worker_of(holder)) != holder}

    # --- listener counts ---------------------------------------------------
    async def set_listeners(self, room_id: str, count: int) -> None:
        """This worker's listener count in the room (0 removes it); rewritten with every heartbeat."""
        if count < 0:
            raise ValueError(f"listener count {count} < 0")
        key = self.names.listeners(room_id)
        with unavailable_on_error("set_listeners"):
            async with self._write_lock:
                if count == 0:
                    self._listeners.pop(room_id, None)
                    await self._redis.hdel(key, self.instance)
                    return
                self._listeners[room_id] = count
                pipe = self._redis.pipeline(transaction=True)
                pipe.hset(key, self.instance, count)
                pipe.expire(key, self._room_ttl_s)
                await pipe.execute()

    async def listeners_by_worker(self, room_id: str) -> dict[str, int]:
        """Listener counts in the room per live worker (counts of dead instances are dropped)."""
        key = self.names.listeners(room_id)
        with unavailable_on_error("listeners_by_worker"):
            fields = {text(k): text(v) for k, v in (await self._redis.hgetall(key)).items()}
            live = await self._live_instances(sorted({worker_of(instance) for instance in fields}))
            counts: dict[str, int] = {}
            stale: list[str] = []
            for instance, value in fields.items():
                if live.get(worker_of(instance)) != instance:
                    stale.append(instance)
                elif value.isdigit():
                    counts[worker_of(instance)] = int(value)
                else:
                    log.warning("room %s: listener count %r of %s is not a number", room_id, value, instance)
            if stale:
                await self._redis.hdel(key, *stale)
            return counts

    async def listener_total(self, room_id: str) -> int:
        """Listeners of the room over every live worker."""
        return sum((await self.listeners_by_worker(room_id)).values())

    async def _live_instances(self, worker_ids: list[str]) -> dict[str, str | None]:
        """The live instance of each worker id (None for a worker without a heartbeat)."""
        if not worker_ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for worker_id in worker_ids:
            pipe.hget(self.names.worker(worker_id), "instance")
        return dict(zip(worker_ids, await pipe.execute(), strict=True))
