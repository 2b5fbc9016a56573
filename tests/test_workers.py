"""One show served by two workers (and by two nodes) sharing a real Redis.

Each test runs real ``onair serve --workers 2`` processes; aiortc clients land
on either worker (the kernel spreads connections over SO_REUSEPORT), and
``welcome.worker`` says which one they got.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.server import LocalServer
from sfu.ice import gather_on
from tests.clients import EncodedToneTrack, RoomClient
from tests.cluster_helpers import SECRET, on_worker, origin_of, rejoin, share, start_cluster, worker_pids
from tests.daemons import Redis
from tests.echo_client import PacketLog
from tests.helpers import close_all, create_room_sync, wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_server: Redis) -> Iterator[LocalServer]:
    server = start_cluster(tmp_path_factory.mktemp("onair-workers"), redis_server.url)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def loopback_peers() -> None:
    gather_on(["127.0.0.1"])  # the test's own aiortc peers, as the servers'


async def test_listeners_on_both_workers_get_the_hosts_voice_and_the_same_music(cluster: LocalServer) -> None:
    room = create_room_sync(cluster.url, "Two workers")
    host = await RoomClient(cluster.url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    track = EncodedToneTrack(1000.0)
    await host.publish(track)
    listeners = [await on_worker(cluster.url, room, f"L{w}{i}", w) for w in ("w1", "w2") for i in range(2)]
    assert {c.welcome["worker"] for c in listeners} == {"w1", "w2"}  # type: ignore[index]
    for c in listeners:
        await wait_for(lambda c=c: any(t["kind"] == "voice" for t in c.tracks), timeout=10)
    await asyncio.sleep(4.0)
    sent = track.sent[-150:-10]  # the last 3 s, all of it after every pipe and renegotiation settled
    for c in listeners:
        assert share(sent, c, c.mid_of("voice", host.participant_id)) >= 0.95, c.name
    one, other = listeners[0], listeners[-1]  # on w1 and on w2
    frames = one.payloads[one.mid_of("music")][-100:-5]
    assert share(frames, other, other.mid_of("music")) >= 0.95  # the same frames, encoded once
    await close_all(host, *listeners)


async def test_chat_hands_and_the_stage_work_across_workers(cluster: LocalServer) -> None:
    room = create_room_sync(cluster.url, "Call-in across workers")
    host = await RoomClient(cluster.url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    elsewhere = "w2" if host.welcome["worker"] == "w1" else "w1"  # type: ignore[index]
    near = await on_worker(cluster.url, room, "Near", host.welcome["worker"])  # type: ignore[index]
    caller = await on_worker(cluster.url, room, "Caller", elsewhere)

    assert (await caller.request({"type": "chat", "text": "hello from the other worker"}))["type"] == "ack"
    for c in (host, near):
        assert (await c.next("chat"))["message"]["text"] == "hello from the other worker"
    assert (await caller.request({"type": "raise_hand"}))["type"] == "ack"
    await host.next("participant_updated", timeout=5)
    promote = {"type": "promote", "participant_id": caller.participant_id}
    assert (await near.request(promote))["code"] == "forbidden"  # a listener may not, wherever they are
    assert (await host.request(promote))["type"] == "ack"
    assert (await caller.next("role_changed"))["role"] == "speaker"

    voice = EncodedToneTrack(2000.0)
    await caller.publish(voice)
    await wait_for(lambda: any(t.get("participant_id") == caller.participant_id for t in near.tracks), 10)
    await asyncio.sleep(3.0)
    sent = voice.sent[-100:-10]
    assert share(sent, near, near.mid_of("voice", caller.participant_id)) >= 0.95
    assert share(sent, host, host.mid_of("voice", caller.participant_id)) >= 0.95

    mid = near.mid_of("voice", caller.participant_id)
    assert (await host.request({"type": "demote", "participant_id": caller.participant_id}))["type"] == "ack"
    assert (await caller.next("role_changed"))["role"] == "listener"
    await asyncio.sleep(0.5)
    before = len(near.payloads[mid])
    await asyncio.sleep(1.0)
    assert len(near.payloads[mid]) == before  # no voice forwarded after the demotion
    offer = await caller.request({"type": "offer", "pc": "pub", "sdp": "v=0"})
    assert offer["code"] == "forbidden"  # refused on the caller's own worker too
    await close_all(host, near, caller)


async def test_a_killed_worker_and_then_a_killed_origin(
    tmp_path: Path, redis_server: Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_cluster(tmp_path / "data", redis_server.url, node="k")
    try:
        room = create_room_sync(server.url, "Crash course")
        origin = origin_of(redis_server.url, room["room_id"])
        other = "k2" if origin == "k1" else "k1"
        host = await on_worker(server.url, room, "Hosty", origin, token=room["host_token"])
        near = await on_worker(server.url, room, "Near", origin)
        far = await on_worker(server.url, room, "Far", other)
        assert (await far.request({"type": "chat", "text": "before the crash"}))["type"] == "ack"
        tracks = (await asyncio.to_thread(lambda: json.loads(
            urllib.request.urlopen(f"{server.url}/api/tracks").read())))
        assert (await host.request({"type": "queue_add", "track_id": tracks[0]["track_id"]}))["type"] == "ack"

        os.kill(worker_pids(server)[other], signal.SIGKILL)  # a worker that is not the origin
        crash = time.monotonic()
        await wait_for(lambda: far.close_code is not None, 10)
        far2, far_s = await rejoin(server.url, room, far, far.welcome["resume_token"], crash)  # type: ignore[index]
        assert far2.welcome["participant_id"] == far.participant_id  # type: ignore[index]
        assert far_s < 5.0

        os.kill(worker_pids(server)[origin], signal.SIGKILL)  # now the origin
        crash = time.monotonic()
        await wait_for(lambda: host.close_code is not None and near.close_code is not None, 15)
        host2, host_s = await rejoin(server.url, room, host, room["host_token"], crash)
        near2, near_s = await rejoin(server.url, room, near, near.welcome["resume_token"], crash)  # type: ignore[index]
        assert host2.welcome["role"] == "host"  # type: ignore[index]
        assert near2.welcome["participant_id"] == near.participant_id  # type: ignore[index]
        assert [m["text"] for m in host2.welcome["chat"]] == ["before the crash"]  # type: ignore[index]
        queued = [e["track"]["track_id"] for e in host2.welcome["queue"]]  # type: ignore[index]
        assert queued == [tracks[0]["track_id"]]
        assert host2.welcome["now_playing"] is not None  # type: ignore[index]
        with capsys.disabled():
            print(f"\nmusic again after SIGKILL: of a worker {far_s:.1f} s; of the origin: "
                  f"host {host_s:.1f} s, listener {near_s:.1f} s")
        await close_all(host, near, far, far2, host2, near2)
    finally:
        server.stop()


async def test_two_nodes_on_two_addresses_serve_one_show(tmp_path: Path, redis_server: Redis) -> None:
    def node(host: str, worker: str) -> LocalServer:
        return LocalServer(tmp_path / "data", host=host, extra_args=[
            "--workers", "1", "--worker-id", worker, "--redis", redis_server.url,
            f"--cluster-secret={SECRET}", "--pipe-address", f"{host}:0"])

    with node("127.0.0.1", "a1") as a:
        with node("127.0.0.2", "b1") as b:
            room = create_room_sync(a.url, "Two nodes")
            host = await RoomClient(a.url, room["room_id"], "Hosty", token=room["host_token"]).connect()
            track = EncodedToneTrack(1000.0)
            await host.publish(track)
            gather_on(["127.0.0.2"])  # this listener lives on node B's address
            listener = await RoomClient(b.url, room["room_id"], "Far away").connect()
            assert listener.welcome["worker"] == "b1"  # type: ignore[index]
            await wait_for(lambda: any(t["kind"] == "voice" for t in listener.tracks), 10)
            await asyncio.sleep(3.0)
            sent = track.sent[-100:-10]
            assert share(sent, listener, listener.mid_of("voice", host.participant_id)) >= 0.95
            await close_all(host, listener)


async def test_a_page_that_rejoins_through_the_same_edge_before_its_old_socket_closed(
    tmp_path: Path, redis_server: Redis
) -> None:
    """A page reloads (or changes network) while the server still holds its old socket, and both
    land on the same non-origin worker: the old socket is closed as replaced, the new one is
    welcomed and hears the music, and keeps hearing it after the origin's word about the old
    socket's media arrives. (Seen in CI: the old socket's connections were still there, so the
    new one's could not be made, and it was closed without a welcome.)"""

    def node(host: str, worker: str) -> LocalServer:
        return LocalServer(tmp_path / "data", host=host, extra_args=[
            "--workers", "1", "--worker-id", worker, "--redis", redis_server.url,
            f"--cluster-secret={SECRET}", "--pipe-address", f"{host}:0"])

    with node("127.0.0.1", "r1") as origin, node("127.0.0.2", "e1") as edge:
        room = create_room_sync(origin.url, "Reloaded")
        gather_on(["127.0.0.2"])
        old = await RoomClient(edge.url, room["room_id"], "Twice").connect()
        assert old.welcome is not None and old.welcome["worker"] == "e1"
        await wait_for(lambda: old.sub is not None and old.sub.connectionState == "connected")
        token = old.welcome["resume_token"]
        new = await RoomClient(edge.url, room["room_id"], "Twice", token=token).connect()
        assert new.welcome is not None and new.welcome["worker"] == "e1"
        assert new.participant_id == old.participant_id
        await wait_for(lambda: old.close_code is not None)
        assert old.close_code == 4009, "the old socket is closed as replaced"
        await wait_for(lambda: new.sub is not None and new.sub.connectionState == "connected")
        await asyncio.sleep(1.0)  # the origin's messages about the old socket have arrived
        assert new.sub is not None and new.sub.connectionState == "connected"
        music = next(t for t in new.sub.getTransceivers() if t.mid == new.mid_of("music"))
        log = PacketLog(music.receiver)
        await asyncio.sleep(1.0)
        assert len(log.packets) > 30, f"{len(log.packets)} music packets in 1 s"
        await close_all(old, new)
