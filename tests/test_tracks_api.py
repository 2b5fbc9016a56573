"""``/api/tracks`` and ``/api/library/rescan`` over real HTTP, with real audio files made by PyAV.

Uploads go to their own data dir (``desk_data_dir``), not the session's shared one,
so no other test's library (its rotation) ever sees them.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from mixer import ensure_demo_library
from mixer.synth import DEMO_DIR
from signaling.errors import ApiError
from signaling.http.tracks import safe_filename
from signaling.keys import LIBRARY, SCANS, SETTINGS, STORE
from signaling.model.audio_check import check_audio
from tests.audio_helpers import write_audio
from tests.clients import RoomClient
from tests.helpers import OPERATOR, create_room, make_settings, start_server, upload, url_of

TRACK_KEYS = {"track_id", "title", "artist", "album", "duration_ms"}
SMALL_LIMIT = 200_000


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture(scope="session")
def desk_data_dir(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Path:
    """A data dir for upload tests, with the demo music copied in (not synthesized again)."""
    data = tmp_path_factory.mktemp("onair-desk")
    shutil.copytree(ensure_demo_library(shared_data_dir), data / DEMO_DIR)
    return data


@pytest.fixture
async def desk(desk_data_dir: Path) -> AsyncIterator[TestServer]:
    srv = await start_server(make_settings(desk_data_dir))
    yield srv
    await srv.close()


@pytest.fixture
async def small_desk(desk_data_dir: Path) -> AsyncIterator[TestServer]:
    """Uploads limited to 200 kB."""
    srv = await start_server(make_settings(desk_data_dir, max_upload_bytes=SMALL_LIMIT))
    yield srv
    await srv.close()


async def search(http: aiohttp.ClientSession, srv: TestServer, **params: object) -> list[dict]:
    async with http.get(f"{url_of(srv)}/api/tracks", params={k: str(v) for k, v in params.items()}) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def uploads_of(srv: TestServer) -> Path:
    return Path(srv.app[SETTINGS].data_dir) / "uploads"


def files_under(folder: Path) -> set[str]:
    """Every file under ``folder`` (``.incoming`` included), relative."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


class Before:
    """What the uploads folder and the store held, to show a refused upload left nothing."""

    def __init__(self, srv: TestServer) -> None:
        self.srv = srv
        self.folder = uploads_of(srv)
        self.files = files_under(self.folder)
        self.count = srv.app[STORE].track_count()

    def assert_unchanged(self) -> None:
        assert files_under(self.folder) == self.files
        assert self.srv.app[STORE].track_count() == self.count


@pytest.fixture
def audio(tmp_path: Path) -> dict[str, bytes]:
    """Real files: whole ones and broken ones."""
    made = tmp_path / "made"
    whole = {
        "flac": write_audio(
            made / "a.flac", 3.0, title="Café Noír Überall", artist="Zoë Ångström", album="Uploads"
        ),
        "mp3": write_audio(made / "a.mp3", 4.0, codec="libmp3lame", title="Mp3 Song", artist="Lame"),
        "ogg": write_audio(made / "a.ogg", 4.0, codec="libopus", container="ogg", title="Ogg Song"),
        "wav": write_audio(made / "a.wav", 2.0, codec="pcm_s16le", rate=22_050, layout="mono"),
        "m4a": write_audio(made / "a.m4a", 3.0, codec="aac", container="ipod", title="M4a Song"),
    }
    return {name: path.read_bytes() for name, path in whole.items()}


# --- GET /api/tracks ------------------------------------------------------------------------


async def test_listing_defaults_paging_and_bad_parameters(
    base_url: str, http: aiohttp.ClientSession, server: TestServer
) -> None:
    async with http.get(f"{base_url}/api/tracks") as resp:
        assert resp.status == 200
        everything = await resp.json()
    assert everything and all(set(t) == TRACK_KEYS for t in everything)
    assert len(everything) <= 50
    keys = [(t["artist"].casefold(), t["title"].casefold()) for t in everything]
    assert keys == sorted(keys)  # artist, then title
    async with http.get(f"{base_url}/api/tracks", params={"limit": "2"}) as resp:
        first = await resp.json()
    async with http.get(f"{base_url}/api/tracks", params={"limit": "2", "offset": "2"}) as resp:
        second = await resp.json()
    assert first + second == everything[:4]
    async with http.get(f"{base_url}/api/tracks", params={"limit": "1000"}) as resp:
        assert resp.status == 200 and len(await resp.json()) <= 200
    for params in (
        {"limit": "abc"},
        {"limit": "-1"},
        {"limit": "0"},
        {"limit": "1.5"},
        {"limit": "99999999999999999999"},
        {"offset": "x"},
        {"offset": "-3"},
    ):
        async with http.get(f"{base_url}/api/tracks", params=params) as resp:
            assert resp.status == 400, params
            assert (await resp.json())["error"]["code"] == "bad_request"
    for q in ('AND (" *', "NEAR(", "-", "ünïcödé", "x" * 1000):
        async with http.get(f"{base_url}/api/tracks", params={"q": q}) as resp:
            assert resp.status == 200, q


# --- POST /api/tracks: accepted -------------------------------------------------------------


async def test_a_host_uploads_a_flac_and_anyone_finds_it(
    desk: TestServer, http: aiohttp.ClientSession, audio: dict[str, bytes]
) -> None:
    room = await create_room(http, url_of(desk), "Desk")
    count = desk.app[STORE].track_count()
    status, track = await upload(http, url_of(desk), audio["flac"], "Café Noír.flac", room["host_token"])
    assert status == 201, track
    assert set(track) == TRACK_KEYS
    assert track["title"] == "Café Noír Überall" and track["artist"] == "Zoë Ångström"
    assert track["album"] == "Uploads" and abs(track["duration_ms"] - 3000) <= 30
    assert desk.app[STORE].track_count() == count + 1

    for q in ("cafe", "CAFÉ noir", "uberall", "zoe ANGSTROM", "caf"):
        found = await search(http, desk, q=q)
        assert track["track_id"] in [t["track_id"] for t in found], q
        assert found[0] == track, q  # the only match, or the best one
    row = desk.app[STORE].track(track["track_id"])
    assert row is not None and row["loudness_lufs"] is not None
    stored = Path(row["path"])
    assert stored.parent == uploads_of(desk).resolve() and stored.name.endswith(".flac")
    assert stored.read_bytes() == audio["flac"]
    assert files_under(uploads_of(desk) / ".incoming") == set()
    # The mixer's library has it too: a host can queue it at once.
    assert desk.app[LIBRARY].get(track["track_id"]) is not None


async def test_every_allowed_format_is_accepted_and_names_are_sanitized_and_unique(
    desk: TestServer, http: aiohttp.ClientSession, audio: dict[str, bytes]
) -> None:
    room = await create_room(http, url_of(desk), "Desk")
    for ext in ("mp3", "ogg", "wav", "m4a"):
        status, track = await upload(http, url_of(desk), audio[ext], f"song.{ext}", room["host_token"])
        assert status == 201, (ext, track)
    status, track = await upload(http, url_of(desk), audio["ogg"], "Song.OPUS", room["host_token"])
    assert status == 201, track
    names = []
    for _ in range(2):
        status, track = await upload(
            http, url_of(desk), audio["wav"], "../../etc/.hidden na<me>?.wav", room["host_token"]
        )
        assert status == 201, track
        names.append(Path(desk.app[STORE].track(track["track_id"])["path"]).name)
    assert names[0] == "hidden na_me.wav"
    assert names[1] == "hidden na_me (2).wav"
    assert not (uploads_of(desk).parent / "etc").exists()


async def test_a_moderator_and_the_hosts_resume_token_may_upload(
    desk: TestServer, http: aiohttp.ClientSession, audio: dict[str, bytes]
) -> None:
    base = url_of(desk)
    room = await create_room(http, base, "Desk")
    host = await RoomClient(base, room["room_id"], "Hosty", token=room["host_token"]).connect()
    mod = await RoomClient(base, room["room_id"], "Mo").connect()
    try:
        reply = await host.request({"type": "make_moderator", "participant_id": mod.participant_id})
        assert reply["type"] == "ack", reply
        assert (await mod.next("role_changed"))["role"] == "moderator"
        status, track = await upload(http, base, audio["wav"], "by-mod.wav", mod.welcome["resume_token"])
        assert status == 201, track
        status, track = await upload(http, base, audio["wav"], "by-host.wav", host.welcome["resume_token"])
        assert status == 201, track
    finally:
        await asyncio.gather(host.close(), mod.close())


# --- POST /api/tracks: refused, and nothing left behind -------------------------------------


def cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


REFUSED = {
    "text renamed .mp3": (lambda a: b"just some text, certainly not audio\n" * 40, "song.mp3", 415),
    "audio with a .txt name": (lambda a: a["flac"], "song.txt", 415),
    "no extension": (lambda a: a["flac"], "song", 415),
    "a PNG renamed .flac": (lambda a: b"\x89PNG\r\n\x1a\n" + b"\0" * 2000, "cover.flac", 415),
    "first half of an mp3": (lambda a: cut(a["mp3"]), "half.mp3", 400),
    "first half of an ogg": (lambda a: cut(a["ogg"]), "half.ogg", 400),
    "first half of a flac": (lambda a: cut(a["flac"]), "half.flac", 400),
    "first half of a wav": (lambda a: cut(a["wav"]), "half.wav", 400),
    "first half of an m4a": (lambda a: cut(a["m4a"]), "half.m4a", 400),
    "an empty file": (lambda a: b"", "empty.flac", 400),
    "an mp3 header and nothing else": (lambda a: a["mp3"][:300], "tiny.mp3", 400),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_bad_file_is_refused_and_leaves_nothing(
    case: str, desk: TestServer, http: aiohttp.ClientSession, audio: dict[str, bytes]
) -> None:
    make, filename, status = REFUSED[case]
    room = await create_room(http, url_of(desk), "Desk")
    before = Before(desk)
    got, body = await upload(http, url_of(desk), make(audio), filename, room["host_token"])
    assert got == status, body
    assert body["error"]["code"] == {400: "bad_request", 415: "unsupported"}[status]
    assert body["error"]["message"] and "/" not in body["error"]["message"]  # no paths leak
    before.assert_unchanged()


async def test_who_may_upload(desk: TestServer, http: aiohttp.ClientSession, audio: dict[str, bytes]) -> None:
    room = await create_room(http, url_of(desk), "Desk")
    other = await create_room(http, url_of(desk), "Desk")
    host = await RoomClient(url_of(desk), room["room_id"], "Hosty", token=room["host_token"]).connect()
    listener = await RoomClient(url_of(desk), room["room_id"], "Lis").connect()
    speaker = await RoomClient(url_of(desk), room["room_id"], "Spe").connect()
    try:
        reply = await host.request({"type": "promote", "participant_id": speaker.participant_id})
        assert reply["type"] == "ack", reply
        assert (await speaker.next("role_changed"))["role"] == "speaker"
        before = Before(desk)
        for token, status in (
            (None, 401),
            ("not-a-token", 401),
            (room["room_id"], 401),
            (listener.welcome["resume_token"], 403),
            (speaker.welcome["resume_token"], 403),
        ):
            got, body = await upload(http, url_of(desk), audio["wav"], "x.wav", token)
            assert got == status, (token, body)
            assert body["error"]["code"] == {401: "unauthorized", 403: "forbidden"}[status]
        # Naming a room (as the page does, for workers) gives no rights, whatever it names.
        for token, room_id, status in (
            (None, room["room_id"], 401),
            (listener.welcome["resume_token"], room["room_id"], 403),
            ("not-a-token", "no-such-room", 401),
            (None, "../" * 300 + "\x00'; --", 401),
        ):
            got, body = await upload(http, url_of(desk), audio["wav"], "x.wav", token, room_id)
            assert got == status, (token, room_id, body)
        async with http.post(
            f"{url_of(desk)}/api/tracks", data=b"x", headers={"Authorization": f"Basic {room['host_token']}"}
        ) as resp:
            assert resp.status == 401
        before.assert_unchanged()
        # Another live room's host token is a host token too.
        got, _ = await upload(http, url_of(desk), audio["wav"], "y.wav", other["host_token"])
        assert got == 201
        # Once that show has ended, its host token opens nothing.
        headers = {"Authorization": f"Bearer {other['host_token']}"}
        async with http.delete(f"{url_of(desk)}/api/rooms/{other['room_id']}", headers=headers) as resp:
            assert resp.status == 204
        before = Before(desk)
        got, _ = await upload(http, url_of(desk), audio["wav"], "z.wav", other["host_token"])
        assert got == 401
        before.assert_unchanged()
    finally:
        await asyncio.gather(host.close(), listener.close(), speaker.close())


async def test_not_multipart_or_no_file_field_is_bad_request(
    desk: TestServer, http: aiohttp.ClientSession
) -> None:
    room = await create_room(http, url_of(desk), "Desk")
    headers = {"Authorization": f"Bearer {room['host_token']}"}
    before = Before(desk)
    async with http.post(f"{url_of(desk)}/api/tracks", json={"file": "x"}, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "bad_request"
    form = aiohttp.FormData()
    form.add_field("other", "value")
    async with http.post(f"{url_of(desk)}/api/tracks", data=form, headers=headers) as resp:
        assert resp.status == 400
    before.assert_unchanged()


async def test_over_the_size_limit_is_413_and_leaves_nothing(
    small_desk: TestServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    room = await create_room(http, url_of(small_desk), "Desk")
    token = room["host_token"]
    big = write_audio(tmp_path / "big.wav", 3.0, codec="pcm_s16le", rate=48_000, layout="mono").read_bytes()
    assert len(big) > SMALL_LIMIT + 64 * 1024  # refused from its Content-Length, before any read
    slightly = write_audio(tmp_path / "slightly.wav", 2.2, codec="pcm_s16le", rate=48_000, layout="mono")
    slightly_big = slightly.read_bytes()
    assert SMALL_LIMIT < len(slightly_big) < SMALL_LIMIT + 64 * 1024  # refused while streaming
    fits = write_audio(tmp_path / "fits.wav", 1.5, codec="pcm_s16le", rate=48_000, layout="mono").read_bytes()
    assert len(fits) < SMALL_LIMIT

    before = Before(small_desk)
    for data in (big, slightly_big):
        status, body = await upload(http, url_of(small_desk), data, "big.wav", token)
        assert status == 413, body
        assert body["error"]["code"] == "too_large"
        before.assert_unchanged()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length at all: chunked
        for i in range(0, len(big), 16_384):
            yield big[i : i + 16_384]

    status, body = await upload(http, url_of(small_desk), chunks(), "big.wav", token)
    assert status == 413 and body["error"]["code"] == "too_large"
    before.assert_unchanged()
    status, body = await upload(http, url_of(small_desk), fits, "fits.wav", token)
    assert status == 201, body


async def test_a_client_that_goes_away_mid_upload_leaves_nothing(
    desk: TestServer, http: aiohttp.ClientSession, audio: dict[str, bytes]
) -> None:
    room = await create_room(http, url_of(desk), "Desk")
    before = Before(desk)
    incoming = uploads_of(desk) / ".incoming"
    boundary = "cutcutcut"
    preamble = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="gone.flac"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = preamble + audio["flac"]
    reader, writer = await asyncio.open_connection(desk.host, desk.port)
    writer.write(
        (
            "POST /api/tracks HTTP/1.1\r\n"
            f"Host: {desk.host}:{desk.port}\r\n"
            f"Authorization: Bearer {room['host_token']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body) + 10_000_000}\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    for _ in range(200):  # the server is receiving it
        if files_under(incoming):
            break
        await asyncio.sleep(0.01)
    assert files_under(incoming), "the upload never started"
    writer.close()
    for _ in range(300):
        if files_under(uploads_of(desk)) == before.files:
            break
        await asyncio.sleep(0.01)
    before.assert_unchanged()


# --- the operator's rescan ------------------------------------------------------------------


async def test_the_operator_rescans_the_music_folders(
    desk_data_dir: Path, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    music = tmp_path / "music"
    write_audio(music / "old.flac", 1.0, title="Old Timer", artist="Folder")
    changing = write_audio(music / "change.flac", 1.0, title="First Words", artist="Folder")
    srv = await start_server(make_settings(desk_data_dir, music_dirs=[music]))
    try:
        base = url_of(srv)
        assert sorted(t["title"] for t in await search(http, srv, q="folder")) == ["First Words", "Old Timer"]
        (music / "old.flac").unlink()
        write_audio(changing, 1.2, title="Last Words", artist="Folder")
        write_audio(music / "deeper" / "new.flac", 1.0, title="Brand Nouveau", artist="Folder")

        async with http.post(f"{base}/api/library/rescan") as resp:
            assert resp.status == 401
        async with http.post(f"{base}/api/library/rescan", headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401
        scans = srv.app[SCANS]
        async with scans.commit:  # the scan cannot finish (save) while this is held
            async with http.post(f"{base}/api/library/rescan", headers=OPERATOR) as resp:
                assert resp.status == 202
            async with http.post(f"{base}/api/library/rescan", headers=OPERATOR) as resp:
                assert resp.status == 409
                assert (await resp.json())["error"]["code"] == "conflict"
        await scans.wait()
        found = await search(http, srv, q="folder")
        assert sorted(t["title"] for t in found) == ["Brand Nouveau", "Last Words"]
        assert [t["title"] for t in await search(http, srv, q="nouveau")] == ["Brand Nouveau"]
        assert await search(http, srv, q="timer") == []
        library = srv.app[LIBRARY]
        assert {t.title for t in library.tracks() if t.artist == "Folder"} == {"Brand Nouveau", "Last Words"}
        async with http.post(f"{base}/api/library/rescan", headers=OPERATOR) as resp:
            assert resp.status == 202
        await scans.wait()
    finally:
        await srv.close()


# --- units ----------------------------------------------------------------------------------


def test_safe_filenames() -> None:
    assert safe_filename("../../a/b/My Song.mp3", ".mp3") == "My Song.mp3"
    assert safe_filename("C:\\Users\\x\\Tune.FLAC", ".flac") == "Tune.flac"
    assert safe_filename("...hidden.ogg", ".ogg") == "hidden.ogg"
    assert safe_filename(".ogg", ".ogg") == "upload.ogg"
    assert safe_filename("a\x00b\nc/../d.wav", ".wav") == "d.wav"
    assert safe_filename("Café Noír — live.m4a", ".m4a") == "Café Noír _ live.m4a"
    long = safe_filename("é" * 500 + ".mp3", ".mp3")
    assert long.endswith(".mp3") and len(long.encode()) <= 200


def test_check_audio_tells_damage_from_not_audio(tmp_path: Path, audio: dict[str, bytes]) -> None:

    def code(data: bytes, name: str) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        try:
            check_audio(path)
        except ApiError as exc:
            return exc.code
        return "ok"

    for ext, data in audio.items():
        assert code(data, f"whole.{ext}") == "ok", ext
    wav = audio["wav"]
    assert code(wav[: 44 + 4096], "cut-on-a-packet.wav") == "bad_request"  # the data chunk says more
    notes = ("These are my notes about the show, not a song.\n" * 30).encode("utf-16")
    assert notes.startswith(b"\xff\xfe")
    assert code(notes, "utf16.mp3") == "unsupported"  # a BOM is no MPEG sync
    assert code(b"ID3" + b"\0" * 50, "tag-only.mp3") == "bad_request"
