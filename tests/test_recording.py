"""Recordings: the host switches recording on and off, everyone is told (and newcomers by
``welcome``); the file is the program as Ogg/Opus, as long as it was on, seekable over HTTP,
listed, in the podcast feed, with its chat for the replay page, and deleted by its host only."""

from __future__ import annotations

import asyncio
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest
from aiohttp.test_utils import TestServer

from benchmarks.server import LocalServer
from mixer.program_codecs import OggOpusStream, ogg_opus_extent
from signaling.keys import SETTINGS
from tests.clients import RATE, RoomClient, band_level
from tests.helpers import OPERATOR, call, close_all, create_room, on_air, url_of, wait_for

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"


def decode_file(path: str) -> np.ndarray:
    with av.open(path) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        return np.concatenate([o.to_ndarray().reshape(-1) for f in container.decode(audio=0)
                               for o in resampler.resample(f)])


def as_host(room: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {room['host_token']}"}


async def signaling_host(base_url: str, room: dict, name: str) -> RoomClient:
    """The host on the socket only (no media)."""
    return await RoomClient(base_url, room["room_id"], name, token=room["host_token"], media=False).connect()


async def record_for(host: RoomClient, seconds: float) -> str:
    """Recording on, ``seconds``, off: the recording's id (everyone was told both times)."""
    assert (await host.request({"type": "record", "on": True}))["type"] == "ack"
    started = await host.next("recording", on=True)
    await asyncio.sleep(seconds)
    assert (await host.request({"type": "record", "on": False}))["type"] == "ack"
    stopped = await host.next("recording", on=False)
    assert stopped["recording_id"] == started["recording_id"]
    return str(started["recording_id"])


async def test_a_recording_of_five_seconds(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url, "Recorded show", "Hosty")
    host, _ = await on_air(base_url, room)
    await wait_for(lambda: host.pub is not None and host.pub.connectionState == "connected")
    listener = await RoomClient(base_url, room["room_id"], "Ann", media=False).connect()
    assert listener.welcome is not None and listener.welcome["recording"] == {"on": False}
    # A listener may not switch it on.
    refused = await listener.request({"type": "record", "on": True})
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    assert (await host.request({"type": "record", "on": True}))["type"] == "ack"
    told = await listener.next("recording", on=True)
    late = await RoomClient(base_url, room["room_id"], "Late", media=False).connect()
    assert late.welcome is not None
    assert late.welcome["recording"] == {"on": True, "recording_id": told["recording_id"]}
    await listener.request({"type": "chat", "text": "hello from the recording"})
    await asyncio.sleep(5.0)
    assert (await host.request({"type": "record", "on": False}))["type"] == "ack"
    assert (await listener.next("recording", on=False))["recording_id"] == told["recording_id"]
    recording_id = told["recording_id"]

    status, listed = await call(http, "get", f"{base_url}/api/recordings")
    mine = next(r for r in listed if r["recording_id"] == recording_id)  # type: ignore[union-attr]
    assert mine["title"] == "Recorded show" and mine["host_name"] == "Hosty"
    assert abs(mine["duration_ms"] - 5000) <= 500, mine
    path = server.app[SETTINGS].data_dir / "recordings" / f"{recording_id}.ogg"
    pcm = await asyncio.to_thread(decode_file, str(path))
    print(f"\nrecording: {mine['duration_ms']} ms listed, {len(pcm) / RATE:.2f} s decoded")
    assert abs(len(pcm) / RATE - 5.0) <= 0.5
    assert band_level(pcm[RATE:], 1000.0) > 0.05  # the host's tone is in it
    # Served whole and in ranges (seekable).
    async with http.get(f"{base_url}{mine['url']}") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "audio/ogg"
        whole = await resp.read()
    async with http.get(f"{base_url}{mine['url']}", headers={"Range": "bytes=1000-1999"}) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 1000-1999/{len(whole)}"
        assert await resp.read() == whole[1000:2000]
    # The replay page's data: the chat line at its time.
    status, replay = await call(http, "get", f"{base_url}/api/recordings/{recording_id}")
    line = next(m for m in replay["chat"] if m["text"] == "hello from the recording")  # type: ignore[index]
    assert 0 <= line["offset_ms"] < 2000
    async with http.get(f"{base_url}/replay/{recording_id}") as resp:
        assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
    await close_all(host, listener, late)


async def test_feed_and_delete(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url, "Feed show", "Fiona")
    other = await create_room(http, base_url, "Other show", "Olga")
    host = await signaling_host(base_url, room, "Fiona")
    recording_id = await record_for(host, 1.0)
    async with http.get(f"{base_url}/feeds/recordings.xml") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/rss+xml")
        rss = ET.fromstring(await resp.read())
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    item = next(i for i in rss.iter("item") if recording_id in (i.findtext("guid") or ""))
    assert item.findtext("title") == "Feed show"
    enclosure = item.find("enclosure")
    assert enclosure is not None and enclosure.get("type") == "audio/ogg"
    assert enclosure.get("url", "").endswith(f"/recordings/{recording_id}.ogg")
    assert int(enclosure.get("length", "0")) > 1000
    assert item.findtext(f"{ITUNES}author") == "Fiona" and item.findtext(f"{ITUNES}duration")
    # Refused: nobody, another show's host; not found: a bad id.
    url = f"{base_url}/api/recordings/{recording_id}"
    assert (await call(http, "delete", url))[0] == 401
    assert (await call(http, "delete", url, headers=as_host(other)))[0] == 401
    assert (await call(http, "delete", f"{base_url}/api/recordings/rec_nope", headers=OPERATOR))[0] == 404
    assert (await call(http, "get", f"{base_url}/recordings/..%2Fonair.db.ogg"))[0] == 404
    async with http.get(f"{base_url}/replay/rec_nope") as resp:  # the page, saying so in its language
        assert resp.status == 404 and resp.content_type == "text/html"
    # Its host deletes it: gone from the list, the feed and the disk.
    path = server.app[SETTINGS].data_dir / "recordings" / f"{recording_id}.ogg"
    assert path.is_file()
    assert (await call(http, "delete", url, headers=as_host(room)))[0] == 204
    assert not path.exists()
    _, listed = await call(http, "get", f"{base_url}/api/recordings")
    assert all(r["recording_id"] != recording_id for r in listed)  # type: ignore[union-attr]
    async with http.get(f"{base_url}/feeds/recordings.xml") as resp:
        assert recording_id not in await resp.text()
    assert (await call(http, "get", f"{base_url}/recordings/{recording_id}.ogg"))[0] == 404
    # The operator may delete any show's recording.
    second = await record_for(host, 0.5)
    second_url = f"{base_url}/api/recordings/{second}"
    assert (await call(http, "delete", second_url, headers=OPERATOR))[0] == 204
    await close_all(host)


async def test_the_show_ending_finishes_the_recording(server: TestServer,
                                                      http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url)
    host = await signaling_host(base_url, room, "Hosty")
    assert (await host.request({"type": "record", "on": True}))["type"] == "ack"
    recording_id = (await host.next("recording", on=True))["recording_id"]
    assert (await host.request({"type": "record", "on": True}))["type"] == "ack"  # already on: no change
    bad = await host.request({"type": "record", "on": "yes"})
    assert bad["type"] == "error" and bad["code"] == "bad_request"
    await asyncio.sleep(1.5)
    status, _ = await call(http, "delete", f"{base_url}/api/rooms/{room['room_id']}", headers=as_host(room))
    assert status == 204
    status, got = await call(http, "get", f"{base_url}/api/recordings/{recording_id}")
    assert status == 200 and not got["live"] and 1000 <= got["duration_ms"] <= 2500, got  # type: ignore[index]
    path = server.app[SETTINGS].data_dir / "recordings" / f"{recording_id}.ogg"
    decoded_s = len(await asyncio.to_thread(decode_file, str(path))) / RATE
    assert abs(decoded_s - got["duration_ms"] / 1000) < 0.1  # type: ignore[index]
    await close_all(host)


def test_a_file_cut_short_keeps_its_complete_pages(tmp_path: Path) -> None:
    stream = OggOpusStream(packets_per_page=10)
    frame = np.zeros((960, 2), np.float32)
    pages = [stream.header] + [page for _ in range(100) if (page := stream.feed(frame))]
    whole = b"".join(pages)  # 10 pages of 200 ms: 2000 ms less the pre-skip
    path = tmp_path / "cut.ogg"
    for data, expected in ((whole, (len(whole), 1993)),
                           (whole + pages[-1][:40], (len(whole), 1993)),  # a page half written
                           (whole[:-1], (len(whole) - len(pages[-1]), 1793)),  # the last one cut
                           (whole[:-1] + b"\0", (len(whole) - len(pages[-1]), 1793)),  # bad CRC
                           (b"not ogg", (0, 0))):
        path.write_bytes(data)
        with path.open("rb") as file:
            assert ogg_opus_extent(file) == expected


@pytest.mark.timeout(90)
async def test_a_recording_cut_by_a_crash_is_kept_up_to_its_last_page(tmp_path: Path) -> None:
    server = LocalServer(tmp_path / "data")
    try:
        await asyncio.to_thread(server.start)
        async with aiohttp.ClientSession() as http:
            room = await create_room(http, server.url, "Cut short")
            host = await RoomClient(server.url, room["room_id"], "Hosty", token=room["host_token"],
                                    media=False).connect()
            assert (await host.request({"type": "record", "on": True}))["type"] == "ack"
            recording_id = (await host.next("recording", on=True))["recording_id"]
            await asyncio.sleep(3.0)
            server.kill()  # SIGKILL: the recorder never writes its last page nor its duration
            await close_all(host)
            await asyncio.to_thread(server.start)  # the room comes back, and with it the recording
            _, listed = await call(http, "get", f"{server.url}/api/recordings")
            row = next(r for r in listed if r["recording_id"] == recording_id)  # type: ignore[union-attr]
            async with http.get(f"{server.url}/recordings/{recording_id}.ogg") as resp:
                assert resp.status == 200
                body = await resp.read()
        with av.open(io.BytesIO(body)) as container:
            samples = sum(frame.samples for frame in container.decode(audio=0))
        print(f"\ncut by SIGKILL after 3 s: {row['duration_ms']} ms listed, {samples / 48:.0f} ms decoded")
        assert 2000 <= row["duration_ms"] <= 3600
        assert abs(samples / 48 - row["duration_ms"]) < 50  # what is listed is what plays
    finally:
        server.stop()
