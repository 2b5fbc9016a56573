"""A room's HTTP with workers: a request (the API, the page, HTTP audio) lands on any worker (one
shared port); the one that is not the room's origin relays it there (``Via``), so it is answered
wherever it lands."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest

from benchmarks.server import LocalServer
from sfu.ice import gather_on
from tests.audio_helpers import write_audio
from tests.clients import RATE, EncodedToneTrack, RoomClient, band_level
from tests.cluster_helpers import origin_of, start_cluster
from tests.daemons import Redis
from tests.helpers import close_all, create_room_sync, wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_server: Redis) -> Iterator[LocalServer]:
    server = start_cluster(tmp_path_factory.mktemp("onair-listen-workers"), redis_server.url, node="h")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def loopback_peers() -> None:
    gather_on(["127.0.0.1"])


async def fetch_from_each_worker(url: str, seconds: float, headers: dict[str, str] | None = None,
                                 tries: int = 40) -> dict[str, tuple[aiohttp.typedefs.LooseHeaders, bytes]]:
    """``url`` read for ``seconds`` once as the origin answers it and once as relayed: a new
    connection each try lands on either worker. {"direct"|"relayed": (headers, body)}."""
    got: dict[str, tuple[aiohttp.typedefs.LooseHeaders, bytes]] = {}
    for _ in range(tries):
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
            kind = "relayed" if "Via" in resp.headers else "direct"
            if kind in got:
                continue
            assert resp.status == 200, (kind, resp.status, await resp.text())
            data = bytearray()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not resp.content.at_eof():
                data += await asyncio.wait_for(resp.content.readany(), 5)
            got[kind] = (resp.headers, bytes(data))
        if len(got) == 2:
            return got
    raise AssertionError(f"{tries} connections all landed as {list(got)}")


def decoded(data: bytes) -> np.ndarray:
    chunks = []
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(audio=0):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
    return np.concatenate(chunks)


async def test_every_format_plays_on_whichever_worker_the_player_lands(cluster: LocalServer,
                                                                       redis_server: Redis) -> None:
    room = create_room_sync(cluster.url, "Streams across workers")
    host = await RoomClient(cluster.url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    await host.publish(EncodedToneTrack(1000.0))
    await wait_for(lambda: host.pub is not None and host.pub.connectionState == "connected")
    await asyncio.sleep(1.0)
    base = f"{cluster.url}/r/{room['room_id']}"
    origin = origin_of(redis_server.url, room["room_id"])

    for path in ("listen.ogg", "listen.mp3"):
        got = await fetch_from_each_worker(f"{base}/{path}", 4.0)
        assert got["relayed"][0]["Via"] != f"1.1 onair-{origin}"  # relayed by the other worker
        for kind, (headers, body) in got.items():
            pcm = decoded(body)
            print(f"\n{path} {kind}: {len(pcm) / RATE:.1f} s, 1 kHz share {band_level(pcm, 1000.0):.2f}")
            assert len(pcm) > 3 * RATE, (path, kind)
            assert band_level(pcm, 1000.0) > 0.05, f"{path} {kind}: no host tone"
            assert headers["Content-Type"] == ("audio/ogg" if path.endswith("ogg") else "audio/mpeg")

    icy = await fetch_from_each_worker(f"{base}/listen.mp3", 3.0, {"Icy-MetaData": "1"})
    for headers, body in icy.values():
        assert headers["icy-metaint"] and headers["icy-name"] == "Streams across workers"
        assert b"StreamTitle='" in body

    playlists = await fetch_from_each_worker(f"{base}/hls/live.m3u8", 1.0)
    for _, body in playlists.values():
        assert body.startswith(b"#EXTM3U")
        lines = body.decode().splitlines()
        at = max(i for i, line in enumerate(lines) if line.endswith(".aac"))  # the newest segment
        seconds = float(lines[at - 1].removeprefix("#EXTINF:").split(",")[0])
        async with aiohttp.ClientSession() as http, http.get(f"{base}/hls/{lines[at]}") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "audio/aac"
            pcm = decoded(await resp.read())
        assert abs(len(pcm) / RATE - seconds) < 0.1, (len(pcm) / RATE, seconds)  # all of it plays
    await close_all(host)


async def test_a_room_nobody_holds_is_not_found_on_every_worker(cluster: LocalServer) -> None:
    seen = set()
    async with aiohttp.ClientSession() as http:
        for _ in range(10):
            async with http.get(f"{cluster.url}/r/nosuchroom/listen.ogg",
                                headers={"Connection": "close"}) as resp:
                assert resp.status == 404
                assert (await resp.json())["error"]["code"] == "not_found"
                seen.add(resp.headers.get("Via"))
    assert seen == {None}  # nothing to relay to: answered where it landed



def stuck_relayed_reader(url: str, path: str, tries: int = 40) -> socket.socket:
    """A raw connection to ``path`` that landed on the worker relaying it, with a tiny receive
    buffer, that reads the response's head and then nothing."""
    host, port = url.removeprefix("http://").split(":")
    for _ in range(tries):
        sock = socket.create_connection((host, int(port)), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        if b"\r\nVia: " in head:
            return sock
        sock.close()
    raise AssertionError(f"{tries} connections, none relayed")


async def test_a_relayed_player_who_stops_reading_is_let_go(cluster: LocalServer) -> None:
    room = create_room_sync(cluster.url, "Nobody reads")
    sock = await asyncio.to_thread(stuck_relayed_reader, cluster.url, f"/r/{room['room_id']}/listen.mp3")
    await asyncio.sleep(25.0)  # the relay stops writing to it (10 s), or the origin drops it as slow
    sock.settimeout(10.0)
    received = 0
    started = time.monotonic()
    while chunk := await asyncio.to_thread(sock.recv, 65536):  # what was in flight, then the end
        received += len(chunk)
        assert time.monotonic() - started < 10.0, "the relay still streams to a player who stalled"
    print(f"\nstalled relayed player: {received} bytes were in flight, then the connection closed")
    assert received < 300_000  # buffers in flight (~200 KB), not the 25 s of MP3 (400 KB) and growing
    sock.close()


async def session_on_the_relaying_worker(url: str, tries: int = 40) -> aiohttp.ClientSession:
    """A client whose one keep-alive connection landed on the worker that is not ``url``'s
    room's origin (its answers carry ``Via``): its next requests go the same way."""
    for _ in range(tries):
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        async with http.get(url) as resp:
            await resp.read()
            if "Via" in resp.headers:
                return http
        await http.close()
    raise AssertionError(f"{tries} connections, none relayed")


async def test_the_rooms_page_and_api_answer_on_either_worker(cluster: LocalServer) -> None:
    room = create_room_sync(cluster.url, "Asked anywhere", "Hostess")
    api = f"{cluster.url}/api/rooms/{room['room_id']}"
    for kind, (headers, body) in (await fetch_from_each_worker(api, 1.0)).items():
        summary = json.loads(body)
        assert summary["room_id"] == room["room_id"] and summary["title"] == "Asked anywhere", kind
        assert summary["rules"] and headers["Content-Type"].startswith("application/json")
    for kind, (_, body) in (await fetch_from_each_worker(f"{cluster.url}/r/{room['room_id']}", 1.0)).items():
        assert b'<meta property="og:title" content="Asked anywhere">' in body, kind  # the share tags

    http = await session_on_the_relaying_worker(api)
    try:
        host = {"Authorization": f"Bearer {room['host_token']}"}
        async with http.post(f"{api}/away", headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401 and "Via" in resp.headers  # refused by the origin, relayed
            assert (await resp.json())["error"]["code"] == "unauthorized"
        async with http.post(f"{api}/away", headers=host) as resp:
            assert resp.status == 200 and (await resp.json())["wait_s"] > 0
        async with http.delete(api, headers=host) as resp:
            assert resp.status == 204 and "Via" in resp.headers  # the host ends the show from here
    finally:
        await http.close()
    got = await fetch_status_from_each_worker(api)
    assert got == {404}, got


async def fetch_status_from_each_worker(url: str, tries: int = 10) -> set[int]:
    statuses = set()
    for _ in range(tries):
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            statuses.add(resp.status)
    return statuses


# --- the track library across workers -----------------------------------------------------------


def rooms_on_both_workers(cluster: LocalServer, redis_url: str) -> tuple[dict, dict]:
    """Two rooms whose origins are different workers (each room lives where it was created)."""
    first = create_room_sync(cluster.url, "Uploads here", "Ana")
    for _ in range(30):
        other = create_room_sync(cluster.url, "Plays it there", "Bea")
        if origin_of(redis_url, other["room_id"]) != origin_of(redis_url, first["room_id"]):
            return first, other
    raise AssertionError("30 rooms, all on one worker")


async def test_a_hosts_upload_reaches_every_workers_library_and_edits_and_deletes_follow(
    cluster: LocalServer, redis_server: Redis, tmp_path: Path
) -> None:
    """A host's upload lands on either worker: the one that is not their room's origin relays it
    there (it is authorized by their room); then a room on the other worker can queue it, and a
    retitle and the operator's delete reach that room's queue."""
    here, there = rooms_on_both_workers(cluster, redis_server.url)
    api = f"{cluster.url}/api/rooms/{here['room_id']}"
    song = write_audio(tmp_path / "night-drive.flac", 2.0, freq=330.0)
    http = await session_on_the_relaying_worker(api)
    other_host = await RoomClient(cluster.url, there["room_id"], "Bea", token=there["host_token"]).connect()
    try:
        url = f"{cluster.url}/api/tracks?room_id={here['room_id']}"
        for token, status in (("not-a-token", 401), (here["host_token"], 201)):
            form = aiohttp.FormData()
            form.add_field("file", song.read_bytes(), filename=song.name, content_type="audio/flac")
            async with http.post(url, data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == status and "Via" in resp.headers, (resp.status, await resp.text())
                track = await resp.json()
        assert track["title"] == "night-drive"

        deadline, add = time.monotonic() + 10, {"type": "queue_add", "track_id": track["track_id"]}
        while (answer := await other_host.request(add))["type"] != "ack":
            assert time.monotonic() < deadline, f"the other worker's room never had the upload: {answer}"
            await asyncio.sleep(0.3)

        edit = f"{cluster.url}/api/tracks/{track['track_id']}?room_id={here['room_id']}"
        headers = {"Authorization": f"Bearer {here['host_token']}"}
        async with http.patch(edit, json={"title": "Night Drive", "artist": "Ana"}, headers=headers) as resp:
            assert resp.status == 200 and "Via" in resp.headers, await resp.text()
        await wait_for(lambda: "Night Drive" in queue_titles_now(other_host), 10, what="the retitle there")

        operator = {"Authorization": f"Bearer {cluster.admin_token}"}
        gone = f"{cluster.url}/api/tracks/{track['track_id']}"
        async with aiohttp.ClientSession() as anyone, anyone.delete(gone, headers=operator) as resp:
            assert resp.status == 204
        await wait_for(lambda: "Night Drive" not in queue_titles_now(other_host), 10, what="the delete there")
        answer = await other_host.request({"type": "queue_add", "track_id": track["track_id"]})
        assert answer["type"] == "error", "a deleted track queued again"
    finally:
        await http.close()
        await close_all(other_host)


def queue_titles_now(host: RoomClient) -> list[str]:
    """The titles in the last ``queue`` the host was sent."""
    queues = host.messages["queue"]
    return [entry["track"]["title"] for entry in queues[-1]["queue"]] if queues else []
