"""One worker's link to the others through Redis: heartbeat, messages, the room directory.

Keys and channels are listed in ``naming.Names``. The heartbeat is a hash
refreshed every ``heartbeat_s`` with a ``ttl_s`` expiry: a worker that stops
beating (killed, frozen, cut off) is dead to the others ``ttl_s`` later.
Messages are JSON objects published on the addressee's channel; pub/sub
delivers at most once and only while the addressee is subscribed, so a
message sent while a worker reconnects is lost (the caller resends state, as
a page resyncs after a reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter
from redis.asyncio.client import PubSub
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from .directory import DirectoryMixin
from .naming import Names, check_worker_id, new_instance, worker_of
from .redis_io import ASSERT_ORIGINS, BusUnavailable, backoff_delays, make_client, text, unavailable_on_error
from .shared import SharedMixin

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class WorkerInfo:
    """A live worker as its heartbeat describes it."""

    worker_id: str
    instance: str
    pipe_address: tuple[str, int]
    node_address: str
    started_at: float
    draining: bool
    listeners: int

    @classmethod
    def from_fields(cls, worker_id: str, fields: dict[str, str]) -> WorkerInfo | None:
        """Parse a heartbeat hash; None if a field is missing or malformed."""
        try:
            return cls(worker_id=worker_id, instance=fields["instance"],
                       pipe_address=(fields["pipe_host"], int(fields["pipe_port"])),
                       node_address=fields["node_address"], started_at=float(fields["started_at"]),
                       draining=fields["draining"] == "1", listeners=int(fields["listeners"]))
        except (KeyError, ValueError):
            return None


class ClusterBus(DirectoryMixin, SharedMixin, AsyncIOEventEmitter):
    """One worker process's membership of the cluster.

    Events: ``message`` (dict) for every well-formed message addressed to this
    worker, in order of arrival (a sync handler runs at once; a coroutine
    handler is scheduled as a task); ``disconnected`` and ``reconnected``
    around a lost Redis connection (after ``reconnected`` the subscription,
    heartbeat, origins and listener counts are back); ``origin_lost``
    (room_id, holder worker id or None) when a room this worker held is found
    held by another instance (it was thought dead and taken over).
    """

    def __init__(self, redis_url: str, worker_id: str, *, pipe_address: tuple[str, int], node_address: str,
                 heartbeat_s: float = 1.0, ttl_s: float = 3.0, prefix: str = "onair") -> None:
        super().__init__()
        if not 0 < heartbeat_s < ttl_s:
            raise ValueError(f"need 0 < heartbeat_s ({heartbeat_s}) < ttl_s ({ttl_s})")
        self.worker_id = check_worker_id(worker_id)
        self.instance = new_instance(worker_id)
        self.names = Names(prefix)
        self.pipe_address = (pipe_address[0], int(pipe_address[1]))
        self.node_address = node_address
        self.heartbeat_s = heartbeat_s
        self.ttl_s = ttl_s
        self.started_at = time.time()
        self.draining = False
        self.connected = False
        self.dropped = 0  # malformed messages dropped
        self._room_ttl_s = max(1, int(ttl_s * 10))
        self._redis = make_client(redis_url, decode=True)
        self._sub_redis = make_client(redis_url, decode=False)  # message bodies stay bytes
        self._write_lock = asyncio.Lock()
        self._origins: set[str] = set()
        self._listeners: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._assert_script: AsyncScript = self._redis.register_script(ASSERT_ORIGINS)
        self._init_directory()
        self._init_shared()

    @classmethod
    async def connect(cls, redis_url: str, worker_id: str, *, pipe_address: tuple[str, int],
                      node_address: str, **options: Any) -> ClusterBus:
        """A bus that is beating and subscribed; BusUnavailable if Redis cannot be reached."""
        bus = cls(redis_url, worker_id, pipe_address=pipe_address, node_address=node_address, **options)
        try:
            await bus._start()
        except BaseException:
            await bus.close()
            raise
        return bus

    async def _start(self) -> None:
        with unavailable_on_error("connect"):
            await self._beat()
            pubsub = await self._subscribe()
        self.connected = True
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._beat_loop(), name=f"bus-beat-{self.worker_id}"),
                       loop.create_task(self._listen_loop(pubsub), name=f"bus-listen-{self.worker_id}")]

    async def close(self) -> None:
        """Stop beating and listening, and remove the heartbeat (and tallies) so others see this
        worker gone now.

        Rooms still held become orphans for the survivors; a draining worker
        releases or hands over its rooms before. Bounded in time even if
        Redis does not answer.
        """
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=CLOSE_TIMEOUT_S)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._redis.delete(self.names.worker(self.worker_id),
                                         *(self.names.tally(self.worker_id, name) for name in self.tallies))
        for client in (self._redis, self._sub_redis):
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await client.aclose()

    # --- membership --------------------------------------------------------
    async def workers(self) -> dict[str, WorkerInfo]:
        """Every live worker (this one included), by worker id."""
        with unavailable_on_error("workers"):
            worker_ids = sorted(text(w) for w in await self._redis.smembers(self.names.workers))
            pipe = self._redis.pipeline(transaction=False)
            for worker_id in worker_ids:
                pipe.hgetall(self.names.worker(worker_id))
                pipe.scard(self.names.worker_rooms(worker_id))
            answers = await pipe.execute()
            alive: dict[str, WorkerInfo] = {}
            forget: list[str] = []
            for index, worker_id in enumerate(worker_ids):
                fields, rooms = answers[2 * index], answers[2 * index + 1]
                fields = {text(k): text(v) for k, v in fields.items()}
                info = WorkerInfo.from_fields(worker_id, fields) if fields else None
                if info is not None:
                    alive[worker_id] = info
                elif fields:
                    log.warning("worker %s: malformed heartbeat %r", worker_id, fields)
                elif rooms == 0:
                    forget.append(worker_id)  # dead and holding nothing: no need to remember it
            if forget:
                await self._redis.srem(self.names.workers, *forget)
            return alive

    async def set_draining(self, draining: bool = True) -> None:
        """Tell every worker (at once, not at the next beat) that this one takes no new joins."""
        self.draining = draining
        with unavailable_on_error("set_draining"):
            await self._beat()

    def _heartbeat_fields(self) -> dict[str, str]:
        return {"instance": self.instance, "pipe_host": self.pipe_address[0],
                "pipe_port": str(self.pipe_address[1]), "node_address": self.node_address,
                "started_at": repr(self.started_at), "draining": "1" if self.draining else "0",
                "listeners": str(sum(self._listeners.values()))}

    async def _beat(self) -> None:
        """Write the heartbeat, this worker's listener counts and its origin claims, in one transaction."""
        lost: list[tuple[str, str | None]] = []
        async with self._write_lock:
            key = self.names.worker(self.worker_id)
            rooms = sorted(self._origins)
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(key, mapping=self._heartbeat_fields())  # type: ignore[arg-type]
            pipe.pexpire(key, int(self.ttl_s * 1000))
            pipe.sadd(self.names.workers, self.worker_id)
            for room_id, count in self._listeners.items():
                pipe.hset(self.names.listeners(room_id), self.instance, count)
                pipe.expire(self.names.listeners(room_id), self._room_ttl_s)
            for report_key, value in self._report_values().items():
                pipe.set(report_key, value, px=int(self.ttl_s * 1000))
            self._write_tallies(pipe, int(self.ttl_s * 1000))
            if rooms:
                await self._assert_script(
                    keys=[*(self.names.origin(r) for r in rooms), self.names.worker_rooms(self.worker_id)],
                    args=[self.instance, *rooms], client=pipe)
            answers = await pipe.execute()
            if rooms:
                for room_id, holder in zip(rooms, answers[-1], strict=True):
                    if holder != self.instance:
                        self._origins.discard(room_id)
                        lost.append((room_id, worker_of(holder) if holder else None))
        for room_id, holder in lost:
            log.warning("room %s: origin lost to %s", room_id, holder)
            self._emit_safely("origin_lost", room_id, holder)

    async def _beat_loop(self) -> None:
        failing = False
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.heartbeat_s)
                self._wake.clear()
                try:
                    await self._beat()
                    failing = False
                except (RedisError, OSError) as exc:
                    if not failing:
                        log.warning("worker %s: heartbeat failed: %s", self.worker_id, exc)
                    failing = True
                except Exception:  # keep beating: a worker that stops is declared dead
                    log.exception("worker %s: heartbeat failed", self.worker_id)
        finally:
            log.debug("worker %s: heartbeat loop exited", self.worker_id)

    # --- messages ----------------------------------------------------------
    async def send(self, worker_id: str, message: dict) -> bool:
        """Publish one message to a worker; False if no one is subscribed there (dead, reconnecting)."""
        data = encode(message)
        with unavailable_on_error("send"):
            return bool(await self._redis.publish(self.names.channel(worker_id), data))

    async def send_many(self, worker_ids: Iterable[str], message: dict) -> list[str]:
        """Publish one message to each worker, serialized once; the ids no one received it at."""
        targets = list(dict.fromkeys(worker_ids))
        if not targets:
            return []
        data = encode(message)
        with unavailable_on_error("send_many"):
            pipe = self._redis.pipeline(transaction=False)
            for worker_id in targets:
                pipe.publish(self.names.channel(worker_id), data)
            receivers = await pipe.execute()
        return [worker_id for worker_id, count in zip(targets, receivers, strict=True) if not count]

    async def _subscribe(self) -> PubSub:
        """A pub/sub connection subscribed to this worker's channel, confirmed by the server."""
        pubsub = self._sub_redis.pubsub()
        try:
            await pubsub.subscribe(self.names.channel(self.worker_id))
            async with asyncio.timeout(self.ttl_s):
                while (reply := await pubsub.get_message(timeout=self.heartbeat_s)) is None \
                        or reply["type"] != "subscribe":
                    pass
        except BaseException:
            await pubsub.aclose()
            raise
        return pubsub

    async def _listen_loop(self, pubsub: PubSub) -> None:
        try:
            while True:
                try:
                    await self._read(pubsub)
                except (RedisError, OSError, TimeoutError) as exc:
                    log.warning("worker %s: Redis connection lost: %s", self.worker_id, exc)
                except Exception:  # a bug must not leave the worker deaf: start over on a new connection
                    log.exception("worker %s: the listener failed", self.worker_id)
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
                self._set_connected(False)
                pubsub = await self._resubscribe()
                self._set_connected(True)
                self._wake.set()  # restore heartbeat, counts and origins now
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
            log.debug("worker %s: listener loop exited", self.worker_id)

    async def _read(self, pubsub: PubSub) -> None:
        """Deliver messages until the connection fails or stays silent for ``ttl_s`` (pinged meanwhile)."""
        last_heard = last_ping = time.monotonic()
        while True:
            reply = await pubsub.get_message(timeout=self.heartbeat_s / 2)
            now = time.monotonic()
            if reply is not None:
                last_heard = now
                if reply["type"] == "message":
                    self._deliver(reply["data"])
            if now - last_ping >= self.heartbeat_s:
                await pubsub.ping()
                last_ping = now
            if now - last_heard > self.ttl_s:
                raise RedisConnectionError(f"no answer from Redis in {self.ttl_s} s")

    async def _resubscribe(self) -> PubSub:
        for delay in backoff_delays():
            await asyncio.sleep(delay)
            try:
                return await self._subscribe()
            except (RedisError, OSError, TimeoutError) as exc:
                log.debug("worker %s: reconnecting to Redis: %s", self.worker_id, exc)
        raise AssertionError("backoff_delays never ends")

    def _deliver(self, data: bytes) -> None:
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep
            message = None
        if not isinstance(message, dict):
            self.dropped += 1
            log.warning("worker %s: dropped a malformed message: %r", self.worker_id, data[:100])
            return
        self._emit_safely("message", message)

    def _emit_safely(self, event: str, *args: Any) -> None:
        """Emit; a failing handler is logged and never reaches the loop that emitted."""
        try:
            self.emit(event, *args)
        except Exception:
            log.exception("worker %s: a %s handler failed", self.worker_id, event)

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._emit_safely("reconnected" if connected else "disconnected")


def encode(message: dict) -> bytes:
    """A message as it goes on the wire: compact JSON, UTF-8."""
    if not isinstance(message, dict):
        raise TypeError(f"a message is a dict, not {type(message).__name__}")
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


__all__ = ["BusUnavailable", "ClusterBus", "WorkerInfo", "encode"]
