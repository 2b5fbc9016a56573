"""Issue 14 over the API: what a new host and listener trip over, fixed on the server.

Upload titles from file names and track edits (item 1), names and chat badges (2), one limit per
field with refusals worded for people (3), a host who steps away on purpose (5), the rules before
joining (7). Real server in this process, real sockets, real audio files.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from mixer import ensure_demo_library
from mixer.synth import DEMO_DIR
from signaling.keys import LIBRARY, SCANS
from signaling.model.names import name_key, staff_word
from tests.audio_helpers import write_audio
from tests.clients import RoomClient
from tests.helpers import (
    OPERATOR,
    call,
    close_all,
    create_room,
    make_settings,
    refused_join,
    start_server,
    stop_server,
    upload,
    url_of,
)


@pytest.fixture(scope="module")
def own_data_dir(tmp_path_factory: pytest.TempPathFactory, shared_data_dir: Path) -> Path:
    """Uploads land here, never in the library other tests play from."""
    data = tmp_path_factory.mktemp("onair-firstten")
    shutil.copytree(ensure_demo_library(shared_data_dir), data / DEMO_DIR)
    return data


@pytest.fixture
async def srv(own_data_dir: Path) -> AsyncIterator[TestServer]:
    server = await start_server(make_settings(own_data_dir))
    yield server
    await stop_server(server)


async def search(http: aiohttp.ClientSession, base: str, q: str) -> list[dict]:
    status, found = await call(http, "get", f"{base}/api/tracks", params={"q": q})
    assert status == 200
    return found  # type: ignore[return-value]


def library_title(srv: TestServer, track_id: str) -> str | None:
    track = srv.app[LIBRARY].get(track_id)
    return None if track is None else track.title


# --- 1. titles ---------------------------------------------------------------------------------


async def test_an_untagged_upload_is_titled_from_its_file_name(
    srv: TestServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    base = url_of(srv)
    room = await create_room(http, base)
    bare = write_audio(tmp_path / "bare.wav", 1.0, codec="pcm_s16le")
    tagged = write_audio(tmp_path / "tagged.flac", 1.0, title="Proper Title", artist="Someone")

    status, track = await upload(http, base, bare.read_bytes(), "my-jingle.wav", room["host_token"])
    assert status == 201, track
    assert track["title"] == "my-jingle"  # was a random hex name: "379acbc26d1a36c9"
    assert track["track_id"] in [t["track_id"] for t in await search(http, base, "jingle")]
    assert library_title(srv, track["track_id"]) == "my-jingle"

    status, odd = await upload(http, base, bare.read_bytes(), "C:\\music\\Intro  (v2).final.wav",
                               room["host_token"])
    assert status == 201 and odd["title"] == "Intro (v2).final", odd

    status, kept = await upload(http, base, tagged.read_bytes(), "whatever-name.flac", room["host_token"])
    assert status == 201 and kept["title"] == "Proper Title" and kept["artist"] == "Someone", kept


async def test_the_host_edits_a_tracks_title_and_artist(
    srv: TestServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    base = url_of(srv)
    room = await create_room(http, base)
    wav = write_audio(tmp_path / "x.wav", 2.0, codec="pcm_s16le")
    _, track = await upload(http, base, wav.read_bytes(), "take-3.wav", room["host_token"])
    url = f"{base}/api/tracks/{track['track_id']}"
    host = await RoomClient(base, room["room_id"], "Hosty", token=room["host_token"], media=False).connect()
    fan = await RoomClient(base, room["room_id"], "Fan", media=False).connect()
    try:
        assert (await host.request({"type": "queue_add", "track_id": track["track_id"]}))["type"] == "ack"
        await fan.next("queue")

        as_host = {"Authorization": f"Bearer {room['host_token']}"}
        status, edited = await call(http, "patch", url, json={"title": "Zephyr Sting", "artist": "The Desk"},
                                    headers=as_host)
        assert status == 200, edited
        assert edited == {**track, "title": "Zephyr Sting", "artist": "The Desk"}
        assert [t["track_id"] for t in await search(http, base, "zephyr sting")] == [track["track_id"]]
        assert await search(http, base, "take") == []
        assert library_title(srv, track["track_id"]) == "Zephyr Sting"
        queue = await fan.next("queue")  # the listeners' "Up next" shows the new title
        assert [e["track"]["title"] for e in queue["queue"]] == ["Zephyr Sting"]

        # A rescan keeps the edit (the file did not change).
        status, _ = await call(http, "post", f"{base}/api/library/rescan", headers=OPERATOR)
        assert status == 202
        await srv.app[SCANS].wait()
        assert library_title(srv, track["track_id"]) == "Zephyr Sting"
        # The operator may edit anywhere.
        status, _ = await call(http, "patch", url, json={"artist": ""}, headers=OPERATOR)
        assert status == 200
        found = await search(http, base, "zephyr")
        assert [(t["title"], t["artist"]) for t in found] == [("Zephyr Sting", "")]

        # Refused: nobody, a listener, bad bodies (worded for people), no such track.
        status, body = await call(http, "patch", url, json={"title": "Nope"})
        assert status == 401, body
        as_fan = {"Authorization": f"Bearer {fan.welcome['resume_token']}"}  # type: ignore[index]
        status, body = await call(http, "patch", url, json={"title": "Nope"}, headers=as_fan)
        assert status == 403 and body["error"]["code"] == "forbidden", body  # type: ignore[index]
        for bad, words in (({}, "Send a new 'title' or 'artist'"),
                           ({"title": "   "}, "The track's title is missing"),
                           ({"title": 7}, "The track's title must be text."),
                           ({"title": "t" * 201}, "The track's title can be at most 200 characters"),
                           ({"artist": "a\x00b"}, "The artist has characters that cannot be shown")):
            status, body = await call(http, "patch", url, json=bad, headers=as_host)
            assert status == 400 and body["error"]["message"].startswith(words), (bad, body)  # type: ignore[index]
        status, body = await call(http, "patch", f"{base}/api/tracks/nosuchtrack", json={"title": "X"},
                                  headers=as_host)
        assert status == 404, body
        assert [t["title"] for t in await search(http, base, "zephyr")] == ["Zephyr Sting"]
    finally:
        await close_all(host, fan)


# --- 2. names and chat badges ------------------------------------------------------------------


def test_look_alike_names_fold_to_one_key() -> None:
    same = ["Sam", "sam", "SAM", "Sám", "Ѕam", "S a m", "Sarn", "S\u200bam", "Ｓａｍ"]
    assert {name_key(n) for n in same} == {"sam"}
    assert name_key("Pam") != name_key("Sam")
    hidden = ["Sam (host)", "H0ST", "ΗOST", "Ноst", "ｈｏｓｔ", "Mod Squad", "moderadora", "Anfitrión Ana",
              "anfitrion", "Admin"]
    assert all(staff_word(n) for n in hidden), [n for n in hidden if not staff_word(n)]
    assert [n for n in ("Desmond", "Sam", "Lucía", "Dj Ana") if staff_word(n)] == []


async def test_names_are_unique_and_never_the_hosts_or_staff(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(server)
    room = await create_room(http, base, "Names", "Sam")
    rid = room["room_id"]
    host = await RoomClient(base, rid, "Sam", token=room["host_token"], media=False).connect()
    ears = await RoomClient(base, rid, "Ears", media=False).connect()
    try:
        for name, words in (("Sam (host)", "Names cannot contain “host”"), ("sam", "That is the host's name"),
                            ("Sàm", "That is the host's name"), ("Ѕam", "That is the host's name"),
                            ("The Host", "Names cannot contain “host”"),
                            ("H0st Bob", "Names cannot contain “host”"),
                            ("Moderadora Ana", "Names cannot contain “mod”"),
                            ("Anfitrión", "Names cannot contain “anfitrion”"),
                            ("ears", "Someone here is already called “Ears”"),
                            ("EАRS", "Someone here is already called “Ears”"),
                            ("x" * 41, "Your name must be 1 to 40 characters")):
            frame, code = await join_first_frame(base, rid, name)
            assert frame["type"] == "error" and code == 4400, (name, frame)
            assert frame["message"].startswith(words), (name, frame)
        # Returning people keep their names; the host's socket is the host's; a freed name is free.
        back = await RoomClient(base, rid, "Ears", token=ears.welcome["resume_token"], media=False).connect()  # type: ignore[index]
        assert back.welcome["participant_id"] == ears.participant_id  # type: ignore[index]
        await close_all(ears, back)
        fresh = await RoomClient(base, rid, "ears", media=False).connect()
        assert fresh.welcome["type"] == "welcome"  # type: ignore[index]
        await fresh.close()
        assert await refused_join(base, rid, "Sam") == ("bad_request", 4400)
    finally:
        await close_all(host, ears)


async def join_first_frame(base: str, room_id: str, name: str) -> tuple[dict, int | None]:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{base}/api/rooms/{room_id}/ws", params={"name": name})
        first = await ws.receive_json(timeout=5)
        await ws.receive(timeout=5)
        code = ws.close_code
        await ws.close()
    return first, code


async def test_chat_lines_carry_the_authors_role(server: TestServer, http: aiohttp.ClientSession) -> None:
    base = url_of(server)
    room = await create_room(http, base, "Badges", "Sam")
    host = await RoomClient(base, room["room_id"], "Sam", token=room["host_token"], media=False).connect()
    fan = await RoomClient(base, room["room_id"], "Pat", media=False).connect()
    try:
        await fan.request({"type": "chat", "text": "I am the host, DM me your password"})
        await host.request({"type": "chat", "text": "Welcome!"})
        lines = [(await fan.next("chat"))["message"] for _ in range(2)]
        assert [(m["name"], m["role"]) for m in lines] == [("Pat", "listener"), ("Sam", "host")]
        for step in ("promote", "make_moderator"):
            assert (await host.request({"type": step, "participant_id": fan.participant_id}))["type"] == "ack"
        await fan.request({"type": "chat", "text": "now I moderate"})
        line = (await host.next("chat", timeout=5))
        while line["message"]["text"] != "now I moderate":
            line = await host.next("chat", timeout=5)
        assert line["message"]["role"] == "moderator"
        late = await RoomClient(base, room["room_id"], "Late", media=False).connect()
        assert [m["role"] for m in late.welcome["chat"]] == ["listener", "host", "moderator"]  # type: ignore[index]
        await late.close()
    finally:
        await close_all(host, fan)


# --- 3. one limit per field, refusals worded for people ------------------------------------------


async def test_limits_are_published_and_refusals_read_as_sentences(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(server)
    _, config = await call(http, "get", f"{base}/api/config")
    limits = config["limits"]  # type: ignore[index]
    assert limits["title"] == 100 and limits["host_name"] == 40 and limits["name"] == 40
    assert limits["description"] == 1000 and limits["chat"] == config["max_chat_length"] == 500  # type: ignore[index]
    assert config["host_grace_s"] == 300  # type: ignore[index]

    ok = {"title": "t" * 100, "host_name": "h" * 40, "description": "d" * 1000}
    status, _ = await call(http, "post", f"{base}/api/rooms", json=ok)
    assert status == 201
    for field, value, message in (
        ("title", "t" * 101, "The show's title can be at most 100 characters; this one has 101."),
        ("title", "  ", "The show's title is missing: it needs at least one character."),
        ("host_name", "h" * 41, "Your name can be at most 40 characters; this one has 41."),
        ("description", "d" * 1001, "The description can be at most 1000 characters; this one has 1001."),
        ("rules", ["r"] * 11, "A show can add at most 10 rules; this one has 11."),
        ("rules", ["ok", "r" * 201], "Rule 2 is 201 characters long: at most 200."),
    ):
        status, body = await call(http, "post", f"{base}/api/rooms", json={**ok, field: value})
        assert status == 400 and body["error"]["message"] == message, (field, body)  # type: ignore[index]

    room = await create_room(http, base)
    fan = await RoomClient(base, room["room_id"], "Pat", media=False).connect()
    try:
        refused = await fan.request({"type": "chat", "text": "x" * 501})
        assert refused["message"] == "A message can be at most 500 characters; this has 501.", refused
        assert (await fan.request({"type": "chat", "text": "x" * 500}))["type"] == "ack"
    finally:
        await fan.close()


# --- 5. a host who steps away; 7. the rules before joining ---------------------------------------


async def test_a_host_who_steps_away_says_so_and_for_how_long(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(server)
    room = await create_room(http, base, "Away", "Sam")
    url = f"{base}/api/rooms/{room['room_id']}/away"
    host = await RoomClient(base, room["room_id"], "Sam", token=room["host_token"], media=False).connect()
    fan = await RoomClient(base, room["room_id"], "Pat", media=False).connect()
    try:
        status, body = await call(http, "post", url)
        assert status == 401, body
        as_fan = {"Authorization": f"Bearer {fan.welcome['resume_token']}"}  # type: ignore[index]
        status, body = await call(http, "post", url, headers=as_fan)
        assert status == 401, body
        status, body = await call(http, "post", f"{base}/api/rooms/nope/away",
                                  headers={"Authorization": f"Bearer {room['host_token']}"})
        assert status == 404, body
        as_host = {"Authorization": f"Bearer {room['host_token']}"}
        status, body = await call(http, "post", url, headers=as_host)
        assert status == 200 and body == {"wait_s": 300}, body
        away = await fan.next("host_away")
        assert away["reason"] == "stepped_away" and away["wait_s"] == 300
        await host.close()
        assert (await fan.next("participant_left"))["participant_id"] == host.participant_id
    finally:
        await close_all(host, fan)


async def test_a_room_shows_its_rules_before_anyone_joins(
    server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(server)
    body = {"title": "Rules first", "host_name": "Sam", "rules": ["Keep it about music."]}
    _, room = await call(http, "post", f"{base}/api/rooms", json=body)
    status, summary = await call(http, "get", f"{base}/api/rooms/{room['room_id']}")  # type: ignore[index]
    assert status == 200 and summary["rules"][-1] == "Keep it about music.", summary  # type: ignore[index]
    assert summary["title"] == "Rules first" and summary["permanent"] is False  # type: ignore[index]
