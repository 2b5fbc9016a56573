"""Operating workers: one scrape and one room list answer for every worker, the limits count across
workers, and SIGTERM drains a worker (its pages rejoin elsewhere at once, the room goes on)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import time
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest
import redis

from benchmarks.server import LocalServer
from sfu.ice import gather_on
from tests.clients import session_from
from tests.cluster_helpers import on_worker, origin_of, rejoin, start_cluster, worker_pids
from tests.daemons import Redis
from tests.helpers import call, close_all, wait_for

CREATE_RATE = 12  # rooms a minute from one address, across the cluster
SOCKET_CAP = 20  # room sockets one address may hold, across the cluster (the default)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_server: Redis) -> Iterator[LocalServer]:
    server = start_cluster(tmp_path_factory.mktemp("onair-ops"), redis_server.url, node="o",
                           extra_args=["--room-create-rate", str(CREATE_RATE),
                                       "--max-sockets-per-address", str(SOCKET_CAP)])
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def loopback_peers() -> None:
    gather_on(["127.0.0.1"])


def fetch(url: str, token: str | None = None) -> str:
    """GET on a new connection (so the kernel may hand it to either worker)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
        return str(resp.read().decode())


async def create_from(url: str, address: str, title: str) -> tuple[int, dict]:
    """POST /api/rooms from ``address`` (each test its own, so their limits do not meet)."""
    async with session_from(address) as http:
        return await call(http, "post", f"{url}/api/rooms", json={"title": title, "host_name": "Hosty"})


async def rooms_on_both(server: LocalServer, redis_url: str) -> dict[str, str]:
    """Rooms made until each worker is the origin of one: room id -> origin."""
    made: dict[str, str] = {}
    while set(made.values()) != {"o1", "o2"}:
        status, room = await create_from(server.url, "127.0.0.1", "Where am I")
        assert status == 201, f"every room so far landed on one worker: {made}"
        made[room["room_id"]] = origin_of(redis_url, room["room_id"])
    return made


async def test_one_scrape_and_one_room_list_answer_for_every_worker(
    cluster: LocalServer, redis_server: Redis
) -> None:
    made = await rooms_on_both(cluster, redis_server.url)
    room_id = next(r for r, origin in made.items() if origin == "o1")
    listener = await on_worker(cluster.url, {"room_id": room_id}, "Far", "o2")
    await asyncio.sleep(1.5)  # one heartbeat: each worker's report is in Redis
    for _ in range(8):  # new connections: both workers answer some of these
        answer = await asyncio.to_thread(fetch, f"{cluster.url}/api/rooms")
        listed = {r["room_id"]: r for r in json.loads(answer)}
        assert set(made) <= set(listed), f"a worker listed only its own rooms: {sorted(listed)}"
        assert listed[room_id]["listeners"] == 1
        scrape = await asyncio.to_thread(fetch, f"{cluster.url}/metrics", cluster.admin_token)
        assert re.search(r'^onair_workers 2\.0$', scrape, re.M), scrape[:300]
        for worker in ("o1", "o2"):
            assert f'onair_listeners{{worker="{worker}"}}' in scrape
            assert f'onair_process_cpu_seconds_total{{worker="{worker}"}}' in scrape
        served = re.search(r'^onair_listeners_served\{worker="o2"\} (\S+)$', scrape, re.M)
        assert served is not None and float(served.group(1)) >= 1.0, "o2 serves the far listener's media"
    await close_all(listener)


async def test_room_creation_is_limited_across_workers(cluster: LocalServer) -> None:
    answers = []
    for _ in range(2 * CREATE_RATE):  # each on a new connection: both workers take some
        status, _ = await create_from(cluster.url, "127.0.0.2", "One too many")
        answers.append(status)
    assert answers.count(201) == CREATE_RATE, answers
    assert set(answers) == {201, 429}, answers


def tallied(redis_url: str, worker: str, address: str) -> int:
    """The sockets ``worker`` last told Redis ``address`` holds in the rooms it is the origin of."""
    value = redis.Redis.from_url(redis_url).hget(f"onair:worker:{worker}:tally:sockets", address)
    return int(value or 0)


async def test_one_address_meets_the_socket_cap_across_rooms_on_both_workers(
    cluster: LocalServer, redis_server: Redis
) -> None:
    """Ten sockets in a room held by o1 and ten in one held by o2 fill the cap of 20: the next one
    is refused 4429 whichever room it joins, and a socket closed frees a place. (Counted per origin
    alone, each room would have taken ten more.)"""
    rooms: dict[str, str] = {}  # origin -> room id
    while len(rooms) < 2:
        status, room = await create_from(cluster.url, "127.0.0.8", "Capped")
        assert status == 201, f"every room so far landed on one worker: {rooms}"
        rooms.setdefault(origin_of(redis_server.url, room["room_id"]), room["room_id"])
    names = itertools.count()
    async with session_from("127.0.0.9") as http:

        async def join(room_id: str) -> tuple[aiohttp.ClientWebSocketResponse, dict]:
            """A socket and its answer (``welcome`` or ``error``; a worker that is not the room's
            origin may send the listening offer first)."""
            ws = await http.ws_connect(f"{cluster.url}/api/rooms/{room_id}/ws",
                                       params={"name": f"Cap{next(names)}"})
            while (first := await ws.receive_json(timeout=10))["type"] not in ("welcome", "error"):
                pass
            return ws, first

        held = []
        for origin in ("o1", "o2"):
            for _ in range(SOCKET_CAP // 2):
                ws, first = await join(rooms[origin])
                assert first["type"] == "welcome", (origin, len(held), first)
                held.append(ws)
            await wait_for(lambda o=origin: tallied(redis_server.url, o, "127.0.0.9") == SOCKET_CAP // 2)
        for origin in ("o1", "o2"):
            over, first = await join(rooms[origin])
            assert first.get("code") == "rate_limited", (origin, first)
            await over.receive()
            assert over.close_code == 4429
        await held[0].close()  # in o1's room
        await wait_for(lambda: tallied(redis_server.url, "o1", "127.0.0.9") == SOCKET_CAP // 2 - 1)
        again, first = await join(rooms["o2"])
        assert first["type"] == "welcome", first
        for ws in [again, *held[1:]]:
            await ws.close()


async def test_sigterm_drains_a_worker_and_its_pages_rejoin_on_another(
    cluster: LocalServer, redis_server: Redis
) -> None:
    status, room = await create_from(cluster.url, "127.0.0.3", "Drain me")
    assert status == 201, room
    origin = origin_of(redis_server.url, room["room_id"])
    other = "o2" if origin == "o1" else "o1"
    host = await on_worker(cluster.url, room, "Hosty", origin, token=room["host_token"])
    near = await on_worker(cluster.url, room, "Near", origin)
    assert (await near.request({"type": "chat", "text": "before the drain"}))["type"] == "ack"
    pids = worker_pids(cluster)

    os.kill(pids[origin], signal.SIGTERM)
    drained = time.monotonic()
    await wait_for(lambda: near.close_code is not None and host.close_code is not None, 10)
    told_s = time.monotonic() - drained
    assert near.close_code == 1001 and host.close_code == 1001, (near.close_code, host.close_code)
    assert told_s < 3.0, f"pages were told after {told_s:.1f} s"

    host2, host_s = await rejoin(cluster.url, room, host, room["host_token"], drained)
    near2, near_s = await rejoin(cluster.url, room, near, near.welcome["resume_token"], drained)  # type: ignore[index]
    assert near2.welcome["participant_id"] == near.participant_id  # type: ignore[index]
    assert host2.welcome["role"] == "host"  # type: ignore[index]
    assert [m["text"] for m in host2.welcome["chat"]] == ["before the drain"]  # type: ignore[index]
    assert max(host_s, near_s) < 5.0, (host_s, near_s)
    print(f"\nSIGTERM of the origin: pages told in {told_s:.2f} s, music again in "
          f"{host_s:.1f} s (host), {near_s:.1f} s (listener); the room's origin is now "
          f"{origin_of(redis_server.url, room['room_id'])} (was {origin}; {other} was serving)")
    await close_all(host, near, host2, near2)
    await asyncio.to_thread(wait_restarted, cluster, origin, pids[origin])


def wait_restarted(server: LocalServer, worker: str, old_pid: int) -> None:
    """The supervisor brings the drained worker back (a new process under the same id)."""
    deadline = time.monotonic() + 20
    while worker_pids(server).get(worker) in (None, old_pid):
        assert time.monotonic() < deadline, f"{worker} was not restarted"
        time.sleep(0.2)
