"""ClusterBus against a real redis-server: heartbeats, messages, the room directory, Redis restarts.

Workers that die are real processes (a bus in a child Python, SIGKILLed or
SIGSTOPped); the Redis outage is the real server killed and started again on
the same port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from signaling.cluster import BusUnavailable, ClusterBus, Names
from signaling.cluster import bus as bus_module
from tests.daemons import LOOPBACK, free_port
from tests.daemons import Redis as RedisServer
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
NAMES = Names()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (killed and started again by some tests)."""
    with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain client to look at (and tamper with) what the buses wrote."""
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


async def connect(url: str, worker_id: str, port: int = 40000, **options: float) -> ClusterBus:
    return await ClusterBus.connect(url, worker_id, pipe_address=(LOOPBACK, port),
                                    node_address=f"http://{LOOPBACK}:8080/{worker_id}", **options)


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[tuple[ClusterBus, ClusterBus]]:
    w1 = await connect(redis_server.url, "w1", 40001)
    w2 = await connect(redis_server.url, "w2", 40002)
    yield w1, w2
    await w1.close()
    await w2.close()


def inbox(bus: ClusterBus) -> list[dict]:
    received: list[dict] = []
    bus.on("message", received.append)
    return received


# ---- a worker in a child process -----------------------------------------------------------------

CHILD = """
import asyncio, sys
from signaling.cluster import ClusterBus

async def main():
    url, worker_id, ttl, rooms = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
    bus = await ClusterBus.connect(url, worker_id, pipe_address=("127.0.0.1", 40009),
                                   node_address="http://127.0.0.1:8089", heartbeat_s=ttl / 3, ttl_s=ttl)
    bus.on("origin_lost", lambda room, holder: print("lost", room, holder, flush=True))
    for room in rooms:
        assert await bus.claim_origin(room)
        await bus.set_listeners(room, 7)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


class Child:
    """A worker process with a bus, claiming ``rooms`` with 7 listeners each."""

    def __init__(self, url: str, worker_id: str, ttl: float, rooms: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, url, worker_id, str(ttl), *rooms],
                                     cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.line(15) == "ready"

    def line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"the child said nothing in {timeout} s"
        return self.proc.stdout.readline().decode().strip()

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture
def spawn(redis_server: RedisServer) -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(worker_id: str, rooms: list[str], ttl: float = 1.0) -> Child:
        children.append(Child(redis_server.url, worker_id, ttl, rooms))
        return children[-1]

    yield start
    for child in children:
        child.kill()


# ---- heartbeats ----------------------------------------------------------------------------------


async def test_each_bus_sees_both_heartbeats(pair: tuple[ClusterBus, ClusterBus]) -> None:
    w1, w2 = pair
    for bus in pair:
        seen = await bus.workers()
        assert sorted(seen) == ["w1", "w2"]
        assert seen["w2"].pipe_address == (LOOPBACK, 40002)
        assert seen["w2"].node_address == f"http://{LOOPBACK}:8080/w2"
        assert seen["w2"].instance == w2.instance != w1.instance
        assert not seen["w2"].draining
    await w2.set_draining(True)
    assert (await w1.workers())["w2"].draining  # at once, not at the next beat
    await w2.set_listeners("r1", 4)
    await w2.set_listeners("r2", 5)
    started = time.monotonic()
    while (await w1.workers())["w2"].listeners != 9:  # the total goes out with the next beat
        assert time.monotonic() - started < 2.5
        await asyncio.sleep(0.1)


async def tallied(bus: ClusterBus, address: str, count: int) -> None:
    """Until ``bus`` sums ``count`` sockets of ``address`` on the others (their next beats)."""
    started = time.monotonic()
    while (seen := await bus.tally_elsewhere("sockets", address)) != count:
        assert time.monotonic() - started < 2.5, f"{bus.worker_id} sees {seen}, not {count}"
        await asyncio.sleep(0.1)


async def test_a_tally_is_summed_over_the_other_workers_and_goes_with_them(
    pair: tuple[ClusterBus, ClusterBus], redis_server: RedisServer
) -> None:
    """Open sockets by address: each worker publishes its own with its heartbeat; a worker adds up
    the others' for one address (its own it counts itself), and a closed worker's count goes."""
    w1, w2 = pair
    w3 = await connect(redis_server.url, "w3", 40003)
    counts = {"w1": {"198.51.100.7": 5}, "w2": {"198.51.100.7": 2, "203.0.113.9": 1},
              "w3": {"198.51.100.7": 3}}
    for bus in (w1, w2, w3):
        bus.tallies["sockets"] = lambda w=bus.worker_id: dict(counts[w])
    await tallied(w1, "198.51.100.7", 5)
    await tallied(w2, "198.51.100.7", 8)
    await tallied(w1, "203.0.113.9", 1)
    assert await w1.tally_elsewhere("sockets", "192.0.2.1") == 0, "an address nobody counts"
    counts["w2"] = {"198.51.100.7": 0}  # all of them closed: the address leaves the tally
    await tallied(w1, "198.51.100.7", 3)
    await tallied(w1, "203.0.113.9", 0)
    await w3.close()
    assert await w1.tally_elsewhere("sockets", "198.51.100.7") == 0, "a closed worker's count goes at once"


async def test_a_killed_worker_disappears_after_the_ttl(pair: tuple[ClusterBus, ClusterBus],
                                                        spawn: Callable[..., Child], raw: Redis) -> None:
    w1, _ = pair
    child = spawn("w3", [], ttl=3.0)  # the default 1 s beat, 3 s TTL
    assert "w3" in await w1.workers()
    child.signal(signal.SIGKILL)
    killed = time.monotonic()
    while "w3" in await w1.workers():
        assert time.monotonic() - killed < 4.0, "w3 still alive 4 s after SIGKILL"
        await asyncio.sleep(0.1)
    gone_after = time.monotonic() - killed
    assert 1.5 < gone_after < 3.6, gone_after  # the last beat had 2-3 s of TTL left
    # dead and holding no room: forgotten, so the set of workers does not grow forever
    assert not await raw.sismember(NAMES.workers, "w3")
    assert await raw.sismember(NAMES.workers, "w1")


async def test_closing_removes_the_heartbeat_at_once(pair: tuple[ClusterBus, ClusterBus]) -> None:
    w1, w2 = pair
    await w2.close()
    assert sorted(await w1.workers()) == ["w1"]
    await w2.close()  # twice is harmless


# ---- messages ------------------------------------------------------------------------------------


async def test_a_message_reaches_its_addressee_only(pair: tuple[ClusterBus, ClusterBus]) -> None:
    w1, w2 = pair
    at_w1, at_w2 = inbox(w1), inbox(w2)
    message = {"type": "chat", "text": "hola, ¿qué tal? 🎉", "n": [1, 2.5, None]}
    assert await w1.send("w2", message)
    await wait_for(lambda: at_w2, 2, what="w2 receives")
    await asyncio.sleep(0.2)
    assert at_w2 == [message]
    assert at_w1 == []
    assert not await w1.send("w9", {"type": "x"})  # nobody subscribed there


async def test_send_many_serializes_once_and_publishes_to_each(
        pair: tuple[ClusterBus, ClusterBus], redis_server: RedisServer, raw: Redis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    w1, w2 = pair
    w3 = await connect(redis_server.url, "w3", 40003)
    try:
        at_w2, at_w3 = inbox(w2), inbox(w3)
        tap = raw.pubsub()
        await tap.psubscribe(f"{NAMES.prefix}:w:*")
        assert (await tap.get_message(timeout=2))["type"] == "psubscribe"
        message = {"type": "participant_joined", "participant": {"id": "p1", "name": "Ana"}}
        dumps, calls = json.dumps, []

        def counting(obj: object, *args: object, **kwargs: object) -> str:
            if obj is message:
                calls.append(obj)
            return dumps(obj, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(bus_module.json, "dumps", counting)
        unreached = await w1.send_many(["w2", "w3", "w2", "nobody"], message)
        monkeypatch.undo()
        assert len(calls) == 1
        assert unreached == []  # the tap hears "nobody"'s channel too
        published = []
        while len(published) < 3:
            reply = await tap.get_message(timeout=2)
            assert reply is not None, published
            published.append((reply["channel"], reply["data"]))
        assert sorted(channel for channel, _ in published) == ["onair:w:nobody", "onair:w:w2", "onair:w:w3"]
        assert len({data for _, data in published}) == 1  # the same bytes to each
        await wait_for(lambda: at_w2 and at_w3, 2, what="both receive")
        await asyncio.sleep(0.2)
        assert at_w2 == at_w3 == [message]  # once each, the repeated id included
        await tap.aclose()
        assert await w1.send_many(["w2", "nobody"], {"type": "again"}) == ["nobody"]
        assert await w1.send_many([], message) == []
    finally:
        await w3.close()


async def test_malformed_messages_are_dropped_and_the_bus_keeps_working(
        pair: tuple[ClusterBus, ClusterBus], raw: Redis, caplog: pytest.LogCaptureFixture) -> None:
    w1, w2 = pair
    received = inbox(w2)
    malformed = [b"\xff\xfe\x00", b"not json", b"[1, 2]", b'"text"', b"{", b"null", b"", b"{" * 10_000,
                 b"[" * 100_000]  # nested deeper than the parser's recursion limit
    with caplog.at_level(logging.WARNING, logger="signaling.cluster.bus"):
        for data in malformed:
            await raw.publish(NAMES.channel("w2"), data)
        await w1.send("w2", {"type": "after"})
        await wait_for(lambda: received, 2, what="the good message")
    assert received == [{"type": "after"}]
    assert w2.dropped == len(malformed)
    assert sum("malformed" in r.getMessage() for r in caplog.records) == len(malformed)

    def failing(message: dict) -> None:
        raise RuntimeError(f"handler bug on {message}")

    w2.on("message", failing)  # a handler that raises is logged, the listener goes on
    await w1.send("w2", {"type": "one"})
    await w1.send("w2", {"type": "two"})
    await wait_for(lambda: len(received) == 3, 2, what="both after a failing handler")
    assert [m["type"] for m in received] == ["after", "one", "two"]
    assert w2.connected


async def test_refusals(pair: tuple[ClusterBus, ClusterBus], redis_server: RedisServer) -> None:
    w1, _ = pair
    for bad in ("", "a#b", "w 1", "-w", "x" * 65, "w/1"):
        with pytest.raises(ValueError):
            await connect(redis_server.url, bad)
    with pytest.raises(ValueError):
        await connect(redis_server.url, "w5", heartbeat_s=3.0, ttl_s=3.0)
    with pytest.raises(TypeError):
        await w1.send("w2", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await w1.send("w2", {"not serializable": object()})
    with pytest.raises(ValueError):
        await w1.set_listeners("r1", -1)
    started = time.monotonic()
    with pytest.raises(BusUnavailable):
        await ClusterBus.connect(f"redis://{LOOPBACK}:{free_port()}/0", "w6",
                                 pipe_address=(LOOPBACK, 1), node_address="x")
    assert time.monotonic() - started < 3


# ---- the room directory --------------------------------------------------------------------------


async def test_claim_origin_is_exclusive(pair: tuple[ClusterBus, ClusterBus]) -> None:
    w1, w2 = pair
    assert await w1.claim_origin("r1")
    assert not await w2.claim_origin("r1")
    assert await w1.claim_origin("r1")  # ours already
    assert await w1.origin_of("r1") == await w2.origin_of("r1") == "w1"
    assert await w2.origin_of("nowhere") is None
    first, second = await asyncio.gather(w1.claim_origin("r2"), w2.claim_origin("r2"))
    assert first != second  # exactly one
    assert not await w2.release_origin("r1")  # not w2's
    assert await w2.origin_of("r1") == "w1"
    assert await w1.rooms_of("w1") == (["r1", "r2"] if first else ["r1"])
    assert await w1.release_origin("r1")
    assert await w2.origin_of("r1") is None
    assert await w2.claim_origin("r1")
    assert "r1" in await w1.rooms_of("w2")
    assert "r1" not in await w1.rooms_of("w1")
    assert not await w1.take_over("r1", "w2")  # w2 is alive


async def test_a_dead_origin_is_taken_over_by_exactly_one_survivor(
        pair: tuple[ClusterBus, ClusterBus], spawn: Callable[..., Child], raw: Redis) -> None:
    w1, w2 = pair
    child = spawn("w3", ["rA", "rB"])
    await w1.set_listeners("rA", 5)
    await w2.set_listeners("rA", 3)
    assert await w1.origin_of("rA") == "w3"
    assert await w1.listener_total("rA") == 15
    assert not await w1.take_over("rA", "w3")  # alive: refused
    assert await w1.orphans() == {}
    child.signal(signal.SIGKILL)
    while "w3" in await w1.workers():
        await asyncio.sleep(0.1)
    assert await w1.origin_of("rA") is None  # the record names a dead worker
    assert await w1.origin_of("rA", alive_only=False) == "w3"
    assert await w1.listeners_by_worker("rA") == {"w1": 5, "w2": 3}
    assert await w2.listener_total("rA") == 8
    assert sorted(await raw.hkeys(NAMES.listeners("rA"))) == sorted([w1.instance, w2.instance])
    assert await w1.orphans() == {"rA": "w3", "rB": "w3"}
    assert not await w1.take_over("rA", "w7")  # not the worker on record
    wins = await asyncio.gather(w1.take_over("rA", "w3"), w2.take_over("rA", "w3"))
    assert sorted(wins) == [False, True]
    winner = "w1" if wins[0] else "w2"
    assert await w1.origin_of("rA") == winner
    assert not await w1.take_over("rA", "w3")
    holders = await asyncio.gather(w1.ensure_origin("rB"), w2.ensure_origin("rB"))
    assert holders[0] == holders[1] in ("w1", "w2")
    assert await w1.orphans() == {}
    assert await w1.rooms_of("w3") == []
    await w1.workers()
    assert not await raw.sismember(NAMES.workers, "w3")  # nothing left to hand over: forgotten


async def test_a_restarted_worker_id_does_not_hold_what_its_dead_instance_held(
        pair: tuple[ClusterBus, ClusterBus], spawn: Callable[..., Child], redis_server: RedisServer) -> None:
    w1, _ = pair
    child = spawn("w3", ["rX"], ttl=3.0)
    child.kill()
    again = await connect(redis_server.url, "w3", 40003)  # the supervisor's restart, within the TTL
    try:
        assert "w3" in await w1.workers()
        assert await w1.origin_of("rX") is None  # w3 is alive, but not the instance that held rX
        assert await w1.listener_total("rX") == 0
        assert await w1.orphans() == {"rX": "w3"}
        assert await again.ensure_origin("rX") == "w3"
        assert await w1.origin_of("rX") == "w3"
        assert await w1.orphans() == {}
    finally:
        await again.close()


async def test_a_frozen_origin_that_comes_back_learns_it_lost_the_room(
        pair: tuple[ClusterBus, ClusterBus], spawn: Callable[..., Child]) -> None:
    w1, _ = pair
    child = spawn("w3", ["rF"])
    child.signal(signal.SIGSTOP)  # frozen: no heartbeat, but not dead
    while "w3" in await w1.workers():
        await asyncio.sleep(0.1)
    assert await w1.take_over("rF", "w3")
    child.signal(signal.SIGCONT)
    assert child.line(5) == "lost rF w1"
    assert await w1.origin_of("rF") == "w1"  # the thawed worker did not write its claim back


# ---- Redis going away ----------------------------------------------------------------------------


async def test_the_bus_reconnects_after_redis_restarts(pair: tuple[ClusterBus, ClusterBus],
                                                       redis_server: RedisServer) -> None:
    w1, w2 = pair
    events: list[tuple[str, str]] = []
    for bus in pair:
        for event in ("disconnected", "reconnected"):
            bus.on(event, lambda bus=bus, event=event: events.append((bus.worker_id, event)))
    at_w2 = inbox(w2)
    assert await w1.claim_origin("rR")
    await w1.set_listeners("rR", 2)
    redis_server.daemon.kill()
    await wait_for(lambda: not w1.connected and not w2.connected, 5, what="both see the outage")
    started = time.monotonic()
    with pytest.raises(BusUnavailable):
        await w1.send("w2", {"type": "lost"})
    assert time.monotonic() - started < 2.5
    redis_server.daemon.start()  # empty: no persistence
    took = await wait_for(lambda: w1.connected and w2.connected, 10, what="both reconnect")
    assert took < 5
    assert sorted(events) == [("w1", "disconnected"), ("w1", "reconnected"),
                              ("w2", "disconnected"), ("w2", "reconnected")]
    assert await w1.send("w2", {"type": "back"})
    await wait_for(lambda: at_w2, 2, what="delivered after the restart")
    assert at_w2 == [{"type": "back"}]
    assert sorted(await w2.workers()) == ["w1", "w2"]  # heartbeats written back
    assert await w2.origin_of("rR") == "w1"  # the claim written back
    assert await w2.listener_total("rR") == 2
    assert not await w2.claim_origin("rR")


async def test_close_is_bounded_while_redis_is_down(redis_server: RedisServer) -> None:
    buses = [await connect(redis_server.url, f"w{i}") for i in (1, 2)]
    redis_server.daemon.kill()
    await wait_for(lambda: not any(b.connected for b in buses), 5, what="outage seen")
    started = time.monotonic()
    await asyncio.gather(*(bus.close() for bus in buses))
    assert time.monotonic() - started < 5
    assert all(task.done() for bus in buses for task in bus._tasks)


async def test_a_silent_redis_is_noticed_and_the_bus_comes_back(redis_server: RedisServer) -> None:
    """A frozen server keeps the socket open and answers nothing: only the bus's own pings tell."""
    w1 = await connect(redis_server.url, "w1", heartbeat_s=0.3, ttl_s=1.0)
    w2 = await connect(redis_server.url, "w2", heartbeat_s=0.3, ttl_s=1.0)
    try:
        at_w2 = inbox(w2)
        assert redis_server.daemon.proc is not None
        os.kill(redis_server.daemon.proc.pid, signal.SIGSTOP)
        try:
            took = await wait_for(lambda: not (w1.connected or w2.connected), 5, what="the silence noticed")
            assert took < 2.5
        finally:
            os.kill(redis_server.daemon.proc.pid, signal.SIGCONT)
        await wait_for(lambda: w1.connected and w2.connected, 10, what="both back")
        assert await w1.send("w2", {"type": "back"})
        await wait_for(lambda: at_w2, 2, what="delivered")
        assert sorted(await w1.workers()) == ["w1", "w2"]
    finally:
        await asyncio.gather(w1.close(), w2.close())
