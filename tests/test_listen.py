"""The program as HTTP audio: Ogg/Opus, MP3 with ICY titles, and HLS, decoded by PyAV (FFmpeg) as
a player would, while the host talks a 1 kHz tone over the music.

Every stream is encoded once per room: a listener joining later gets the very same bytes.
A listener that stops reading is dropped, not buffered for; the program stops when nobody uses it.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time

import aiohttp
import av
import numpy as np
from aiohttp.test_utils import TestServer

from sfu.tap import Tap
from signaling.keys import PROGRAMS
from tests.clients import RATE, RoomClient, band_level
from tests.helpers import call, close_all, create_room, on_air, url_of, wait_for

SECONDS = 6.0


def decode_for(url: str, seconds: float = SECONDS) -> tuple[np.ndarray, str]:
    """``seconds`` of the stream at ``url`` as PyAV decodes it (mono, 48 kHz), and the format's name."""
    chunks, total = [], 0
    with av.open(url, timeout=10.0) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                data = out.to_ndarray().reshape(-1)
                chunks.append(data)
                total += len(data)
            if total >= seconds * RATE:
                break
        name = container.format.name
    return np.concatenate(chunks)[: int(seconds * RATE)], name


def assert_tone_over_music(pcm: np.ndarray, what: str) -> None:
    """The host's 1 kHz is clearly there, and so is the music (energy away from 1 kHz)."""
    tone_share = band_level(pcm, 1000.0)
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / RATE)
    music = spectrum[(freqs > 50) & ((freqs < 900) | (freqs > 1100))].sum()
    music_rms = float(np.sqrt(2 * music / (len(pcm) ** 2 * 0.375)))  # Hann-windowed Parseval
    print(f"\n{what}: 1 kHz share {tone_share:.2f}, music rms {20 * np.log10(music_rms + 1e-12):.1f} dBFS")
    assert tone_share > 0.05, f"{what}: no 1 kHz tone ({tone_share:.3f} of the energy)"
    assert tone_share < 0.98, f"{what}: nothing but the tone"
    assert music_rms > 10 ** (-40 / 20), f"{what}: the music is silent"


async def test_each_format_plays_the_voice_over_the_music(server: TestServer,
                                                          http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url)
    host, _ = await on_air(base_url, room)
    await wait_for(lambda: host.pub is not None and host.pub.connectionState == "connected")
    await asyncio.sleep(1.0)
    base = f"{base_url}/r/{room['room_id']}"
    paths = ("listen.ogg", "listen.mp3", "hls/live.m3u8")
    results = await asyncio.gather(*(asyncio.to_thread(decode_for, f"{base}/{path}") for path in paths))
    for (pcm, name), expected in zip(results, ("ogg", "mp3", "hls"), strict=True):
        assert name.startswith(expected), name
        assert len(pcm) == int(SECONDS * RATE)
        assert_tone_over_music(pcm, expected)
    program = server.app[PROGRAMS].programs[room["room_id"]]
    assert program.started == 1, "the mix ran more than once for one room"
    await close_all(host)


async def read_icy_title(url: str) -> tuple[dict[str, str], str]:
    """The response headers and the first ``StreamTitle`` of an ICY MP3 stream."""
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Icy-MetaData": "1"}) as resp:
        assert resp.status == 200
        metaint = int(resp.headers["icy-metaint"])
        await resp.content.readexactly(metaint)
        length = (await resp.content.readexactly(1))[0] * 16
        block = await resp.content.readexactly(length)
        match = re.match(rb"StreamTitle='(.*)';", block.rstrip(b"\x00"))
        assert match, block
        return dict(resp.headers), match.group(1).decode()


async def test_icy_title_is_what_listeners_hear(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url, "Late Night Radio", "Hosty")
    url = f"{base_url}/r/{room['room_id']}/listen.mp3"
    headers, title = await asyncio.wait_for(read_icy_title(url), 20)
    status, summary = await call(http, "get", f"{base_url}/api/rooms/{room['room_id']}")
    track = summary["now_playing"]["track"]  # type: ignore[index]
    assert title == f"{track['artist']} - {track['title']}"
    assert headers["icy-name"] == "Late Night Radio"
    assert headers["icy-description"]
    assert headers["Content-Type"] == "audio/mpeg"
    # Without Icy-MetaData the stream is plain MP3: no metaint, no titles in the bytes.
    async with http.get(url) as resp:
        assert "icy-metaint" not in resp.headers
        data = await resp.content.readexactly(40_000)
    assert b"StreamTitle" not in data
    assert data[:2] in (b"\xff\xfb", b"\xff\xfa", b"\xff\xf3"), data[:4]  # an MPEG audio frame starts it


async def read_stream(url: str, seconds: float) -> bytes:
    data = bytearray()
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with_timeout = await asyncio.wait_for(resp.content.readany(), 5)
            data += with_timeout
    return bytes(data)


def ogg_pages(data: bytes) -> list[bytes]:
    pages, at = [], 0
    while at + 27 <= len(data):
        assert data[at : at + 4] == b"OggS", f"no page at {at}"
        count = data[at + 26]
        size = 27 + count + sum(data[at + 27 : at + 27 + count])
        pages.append(data[at : at + size])
        at += size
    return pages


async def test_a_later_listener_gets_the_same_bytes(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url)
    url = f"{base_url}/r/{room['room_id']}/listen.ogg"
    first_task = asyncio.create_task(read_stream(url, 4.0))
    await asyncio.sleep(1.5)
    second = await read_stream(url, 2.0)
    first = await first_task
    first_pages, second_pages = ogg_pages(first), ogg_pages(second)
    assert second_pages[0][:8] == b"OggS\x00\x02" + second_pages[0][6:8]  # the stream's first page (BOS)
    assert b"OpusHead" in second_pages[0] and b"OpusTags" in second_pages[1]
    audio = second_pages[2:]
    assert len(audio) >= 5
    assert all(page in first_pages for page in audio), "the later listener got other bytes: two encodes"
    program = server.app[PROGRAMS].programs[room["room_id"]]
    assert program.started == 1


async def test_a_listener_who_stops_reading_is_dropped(server: TestServer,
                                                       http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url)
    path = f"/r/{room['room_id']}/listen.mp3"
    host, port = server.host, server.port
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect((host, port))
    stuck.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    reader = asyncio.create_task(read_stream(f"{base_url}{path}", 30.0))
    program = await wait_program(server, room["room_id"])
    await wait_for(lambda: "mp3" in program.streams and len(program.streams["mp3"].listeners) == 2)
    feed = program.streams["mp3"]
    took = await wait_for(lambda: feed.dropped == 1, timeout=40, step=0.2, what="the stuck listener dropped")
    print(f"\nstuck listener dropped after {took:.1f} s")
    assert len(feed.listeners) == 1, "the reading listener went too"
    stuck.close()
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


async def wait_program(server: TestServer, room_id: str) -> object:
    await wait_for(lambda: room_id in server.app[PROGRAMS].programs)
    return server.app[PROGRAMS].programs[room_id]


async def test_the_program_stops_when_nobody_listens(server: TestServer, http: aiohttp.ClientSession) -> None:
    server.app[PROGRAMS].idle_s = 1.0
    base_url = url_of(server)
    room = await create_room(http, base_url)
    host, _ = await on_air(base_url, room)
    await wait_for(lambda: host.pub is not None and host.pub.connectionState == "connected")
    data = await read_stream(f"{base_url}/r/{room['room_id']}/listen.ogg", 1.5)
    assert data.startswith(b"OggS")
    program = server.app[PROGRAMS].programs[room["room_id"]]
    router = program.router
    assert program.running and router.tick_hooks
    assert any(isinstance(c, Tap) for p in router.voice_producers for c in p.consumers)
    took = await wait_for(lambda: not program.running, timeout=30, what="the program stopped")
    print(f"\nprogram stopped {took:.1f} s after the last listener left")
    assert not router.tick_hooks
    assert not any(isinstance(c, Tap) for p in [router.music, *router.voice_producers] for c in p.consumers)
    # A new listener starts it again.
    again = await read_stream(f"{base_url}/r/{room['room_id']}/listen.ogg", 1.0)
    assert again.startswith(b"OggS") and program.started == 2
    await close_all(host)


async def test_refused_and_ended(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    for path in ("listen.ogg", "listen.mp3", "hls/live.m3u8", "hls/0.aac"):
        status, body = await call(http, "get", f"{base_url}/r/nope/{path}")
        assert status == 404 and body["error"]["code"] == "not_found", (path, body)  # type: ignore[index]
    room = await create_room(http, base_url)
    base = f"{base_url}/r/{room['room_id']}"
    status, body = await call(http, "get", f"{base}/hls/999.aac")
    assert status == 404, body
    async with http.get(f"{base}/hls/x.aac") as resp:
        assert resp.status == 404
    started = time.monotonic()
    async with http.get(f"{base}/hls/live.m3u8") as resp:
        assert resp.status == 200
        playlist = await resp.text()
    cold = time.monotonic() - started
    started = time.monotonic()
    async with http.get(f"{base}/hls/live.m3u8") as resp:
        assert resp.status == 200 and resp.content_type == "application/vnd.apple.mpegurl"
    warm = time.monotonic() - started
    print(f"\nHLS playlist: {cold:.2f} s with the program stopped, {warm * 1000:.0f} ms mid-show")
    assert cold < 1.5 and warm < 0.5  # a short first segment; mid-show, within one segment
    assert playlist.startswith("#EXTM3U") and "#EXT-X-TARGETDURATION:2" in playlist
    first = re.search(r"^(\d+)\.aac$", playlist, re.M)
    assert first, playlist
    async with http.get(f"{base}/hls/{first.group(1)}.aac") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "audio/aac"
        assert (await resp.read()).startswith(b"ID3")
    # The show ends: an open stream ends with it.
    async with http.get(f"{base}/listen.ogg") as resp:
        await resp.content.readexactly(100)
        status, _ = await call(http, "delete", f"{base_url}/api/rooms/{room['room_id']}",
                               headers={"Authorization": f"Bearer {room['host_token']}"})
        assert status == 204
        rest = await asyncio.wait_for(resp.content.read(), 5)
        assert isinstance(rest, bytes)
    status, _ = await call(http, "get", f"{base}/listen.ogg")
    assert status == 404


async def test_head_and_http10(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url)
    path = f"/r/{room['room_id']}/listen.ogg"
    async with http.head(f"{base_url}{path}") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "audio/ogg"
        assert await resp.read() == b""
    # An HTTP/1.0 player gets the stream unchunked, closed when it ends.
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.0 200") and b"chunked" not in head.lower()
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"OggS"
    writer.close()


async def test_the_icy_title_follows_a_skip(server: TestServer, http: aiohttp.ClientSession) -> None:
    base_url = url_of(server)
    room = await create_room(http, base_url)
    host = RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"], media=False)
    await host.connect()
    titles: list[str] = []
    url = f"{base_url}/r/{room['room_id']}/listen.mp3"
    async with aiohttp.ClientSession() as listen, listen.get(url, headers={"Icy-MetaData": "1"}) as resp:
        metaint = int(resp.headers["icy-metaint"])

        async def blocks() -> None:
            while True:
                await resp.content.readexactly(metaint)
                length = (await resp.content.readexactly(1))[0] * 16
                block = (await resp.content.readexactly(length)).rstrip(b"\x00")
                if block:
                    titles.append(re.match(rb"StreamTitle='(.*)';", block).group(1).decode())  # type: ignore[union-attr]

        task = asyncio.create_task(blocks())
        await wait_for(lambda: len(titles) == 1, timeout=10)
        assert (await host.request({"type": "skip"}))["type"] == "ack"
        now = (await host.next("now_playing"))["track"]
        await wait_for(lambda: len(titles) == 2, timeout=10, what="a new StreamTitle")
        task.cancel()
    assert titles[1] == f"{now['artist']} - {now['title']}" != titles[0]
    await close_all(host)
