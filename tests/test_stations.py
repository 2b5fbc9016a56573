"""Stations: permanent rooms of the operator's (``--station``, ``[[stations]]``), each playing its own
folder by its rules, steered by the host or moderator the operator named; the demo room is one of
them, and its tracks stay out of the library when the operator gives ``--music-dir``."""

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
from signaling.config import ConfigError, Settings, Station, build_parser, settings_from_args
from signaling.keys import LIBRARY, REGISTRY, STORE
from tests.audio_helpers import write_audio
from tests.clients import RoomClient
from tests.helpers import call, join_frames, make_settings, start_server, stop_server, url_of


def settings(argv: list[str]) -> Settings:
    return settings_from_args(build_parser().parse_args(["serve", *argv]), {})


# --- the config ------------------------------------------------------------------------------------


def test_stations_from_the_file_and_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "onair.toml"
    config.write_text(
        '[[stations]]\nname = "Jazz Lounge"\nfolders = ["/srv/jazz", "/srv/blues"]\nshuffle = false\n'
        'artist_separation = 3\ntitle_separation = 10\nhost_token = "h-secret"\n'
        'moderator_token = "m-secret"\n\n'
        '[[stations]]\nid = "talk"\nname = "Talk & News"\nfolders = "/srv/talk"\n'
    )
    got = settings(["--config", str(config)])
    assert got.stations == [
        Station(name="Jazz Lounge", folders=[Path("/srv/jazz"), Path("/srv/blues")], room_id="jazz-lounge",
                shuffle=False, artist_separation=3, title_separation=10, host_token="h-secret",
                moderator_token="m-secret"),
        Station(name="Talk & News", folders=[Path("/srv/talk")], room_id="talk"),
    ]
    flag = settings(["--station", "name=Late Night;folder=/srv/a;folder=/srv/b;artist_separation=2",
                     "--no-demo", "--station", "name=Demo;folder=/srv/d;id=demo"])
    assert [(s.room_id, s.folders, s.artist_separation, s.shuffle) for s in flag.stations] == [
        ("late-night", [Path("/srv/a"), Path("/srv/b")], 2, True), ("demo", [Path("/srv/d")], 0, True)]


@pytest.mark.parametrize("spec", [
    "name=No Folder",
    "folder=/srv/a",
    "name=X;folder=/srv/a;colour=blue",
    "name=X;folder=/srv/a;artist_separation=-1",
    "name=X;folder=/srv/a;artist_separation=lots",
    "name=X;folder=/srv/a;id=Not An Id",
    "name=X;folder=/srv/a;shuffle=maybe",
    "just words",
])
def test_a_bad_station_is_refused_with_its_reason(spec: str) -> None:
    with pytest.raises(ConfigError):
        settings(["--station", spec])


def test_station_ids_are_unique_and_demo_is_the_demo_s(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="same id"):
        settings(["--station", "name=A;folder=/a", "--station", "name=A;folder=/b"])
    with pytest.raises(ConfigError, match="demo"):
        settings(["--station", "name=Mine;folder=/a;id=demo"])  # the demo is on
    config = tmp_path / "bad.toml"
    config.write_text('[[stations]]\nname = "X"\nfolders = ["/a"]\nvolume = 11\n')
    with pytest.raises(ConfigError, match="volume"):
        settings(["--config", str(config)])


# --- a server with stations ------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, shared_data_dir: Path) -> Path:
    """A data dir of its own (these servers change what the library holds), the demo copied in."""
    data = tmp_path / "data"
    shutil.copytree(ensure_demo_library(shared_data_dir), data / DEMO_DIR)
    return data


@pytest.fixture
def music(tmp_path: Path) -> Path:
    """The operator's music: a jazz folder (4 artists) and a rock folder."""
    root = tmp_path / "music"
    for a, artist in enumerate(["Ana", "Ben", "Cleo", "Dev"]):
        for t in range(2):
            write_audio(root / "jazz" / f"{a}{t}.flac", 3.0, freq=300 + 50 * a + 20 * t,
                        title=f"Jazz {artist} {t}", artist=artist)
    write_audio(root / "rock" / "r.flac", 3.0, freq=900, title="Loud One", artist="Rox")
    return root


JAZZ = dict(name="Jazz Lounge", room_id="jazz", artist_separation=2, host_token="jazz-host",
            moderator_token="jazz-mod")


@pytest.fixture
async def station_server(data_dir: Path, music: Path) -> AsyncIterator[TestServer]:
    srv = await start_server(make_settings(
        data_dir, music_dirs=[music / "rock"], demo=True,
        stations=[Station(folders=[music / "jazz"], **JAZZ)],  # type: ignore[arg-type]
    ))
    yield srv
    await stop_server(srv)


async def test_a_station_plays_its_folder_and_the_demo_stays_out_of_the_library(
    station_server: TestServer, http: aiohttp.ClientSession, music: Path
) -> None:
    base = url_of(station_server)
    _, rooms = await call(http, "get", f"{base}/api/rooms")
    by_id = {r["room_id"]: r for r in rooms}  # type: ignore[union-attr]
    assert by_id["jazz"]["title"] == "Jazz Lounge" and by_id["demo"]["title"] == "OnAir demo"

    # The library: the operator's folders (the station's included), not the demo's tracks.
    _, tracks = await call(http, "get", f"{base}/api/tracks", params={"limit": "200"})
    titles = {t["title"] for t in tracks}  # type: ignore[union-attr]
    assert "Loud One" in titles and "Jazz Ana 0" in titles and len(titles) == 9
    demo_titles = {t.title for t in station_server.app[REGISTRY].stations.tracks("demo")}
    assert demo_titles and not demo_titles & titles
    for word in ["Night Bus", "Paper Kites"]:
        _, found = await call(http, "get", f"{base}/api/tracks", params={"q": word})
        assert found == [], word

    # The station's moderator steers it; a listener may not; what plays is the station's folder.
    mod = await RoomClient(base, "jazz", "Whoever", token="jazz-mod", media=False).connect()
    assert mod.welcome is not None and mod.welcome["role"] == "moderator"
    lis = await RoomClient(base, "jazz", "Lis", media=False).connect()
    assert (await lis.request({"type": "skip"}))["code"] == "forbidden"
    await mod.request({"type": "crossfade", "seconds": 0})
    heard = [mod.welcome["now_playing"]["track"]]
    for _ in range(6):
        assert (await mod.request({"type": "skip"}))["type"] == "ack"
        playing = (await lis.next("now_playing"))["track"]
        while playing["track_id"] == heard[-1]["track_id"]:  # a restatement (late ticks), not the skip
            playing = (await lis.next("now_playing"))["track"]
        heard.append(playing)
    assert all(t["title"].startswith("Jazz ") for t in heard), heard
    artists = [t["artist"] for t in heard]
    assert all(a not in artists[max(0, i - 2):i] for i, a in enumerate(artists)), artists

    # The demo station plays the demo folder from a library of its own.
    demo = await RoomClient(base, "demo", "Lis", media=False).connect()
    assert demo.welcome is not None and demo.welcome["now_playing"]["track"]["title"] in demo_titles
    await asyncio.gather(mod.close(), lis.close(), demo.close())


async def test_the_named_host_hosts_and_a_wrong_token_is_refused(
    station_server: TestServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(station_server)
    host = await RoomClient(base, "jazz", "Jo", token="jazz-host", media=False).connect()
    assert host.welcome is not None and host.welcome["role"] == "host"
    first, code = await join_frames(base, "jazz", "Eve", token="jazz-guess")
    assert first["code"] == "unauthorized" and code == 4401
    first, code = await join_frames(base, "demo", "Eve", token="jazz-mod")  # another station's token
    assert first["code"] == "unauthorized" and code == 4401
    await host.close()
    await asyncio.sleep(0.2)
    room = station_server.app[REGISTRY].get("jazz")  # a station never ends for want of its host
    assert room is not None and room.permanent and not room.ended


async def test_stations_keep_their_ids_across_restarts_and_removed_ones_end(
    data_dir: Path, music: Path, http: aiohttp.ClientSession
) -> None:
    jazz = Station(folders=[music / "jazz"], **JAZZ)  # type: ignore[arg-type]
    first = await start_server(make_settings(data_dir, stations=[jazz]))
    assert set(first.app[REGISTRY].rooms) == {"jazz"}
    played = first.app[STORE].plays(room_id="jazz")
    assert played and played[-1]["title"].startswith("Jazz ")
    await first.close()  # a restart: the rooms stay live in the store

    again = await start_server(make_settings(data_dir, stations=[jazz], demo=True))
    assert set(again.app[REGISTRY].rooms) == {"jazz", "demo"}
    # The demo joins the library while no --music-dir is given: the station's folder alone is not one.
    assert {t.title for t in again.app[LIBRARY].tracks()} >= {"Night Bus", "Jazz Ana 0"}
    await again.close()

    last = await start_server(make_settings(data_dir))  # no stations, no demo
    assert last.app[REGISTRY].rooms == {}
    saved = last.app[STORE].room("jazz")
    assert saved is not None and saved["ended_at"] is not None
    await last.close()

    back = await start_server(make_settings(data_dir, stations=[jazz]))  # configured again: same link
    _, room = await call(http, "get", f"{url_of(back)}/api/rooms/jazz")
    assert room["title"] == "Jazz Lounge"  # type: ignore[index]
    await stop_server(back)
