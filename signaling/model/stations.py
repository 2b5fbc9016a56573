"""Stations: the operator's permanent rooms that play on their own (AutoDJ), each from its own
folders with its own rotation rules (``mixer.rotation``), and the demo room as one of them.

A station's room id is fixed (``Station.room_id``), so its link never changes. Its folders are
part of the shared library (searchable, requestable), except the demo folder when the operator
gave ``--music-dir``: the demo station then plays from a small library of its own that nobody
searches. A host token in the config hosts the station; a moderator token moderates it.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from mixer import Library, Track
from mixer.rotation import Rotation, under

from ..config import Settings, Station
from ..tokens import same

log = logging.getLogger(__name__)

DEMO_ID = "demo"
DEMO_TITLE = "OnAir demo"
MODERATOR_NAME = "Station moderator"


def demo_station(demo_dir: Path) -> Station:
    """The demo room, as a station playing the demo folder in the library's order."""
    return Station(name=DEMO_TITLE, folders=[demo_dir], room_id=DEMO_ID,
                   description="Music around the clock.", shuffle=False)


def demo_in_library(settings: Settings) -> bool:
    """The demo tracks join the shared library only while the operator gave no music of their own."""
    return not settings.music_dirs


def library_settings(settings: Settings) -> Settings:
    """The settings the shared library is opened with: the stations' folders are music folders too."""
    extra = [f for s in settings.stations for f in s.folders if f not in settings.music_dirs]
    return dataclasses.replace(settings, music_dirs=[*settings.music_dirs, *extra]) if extra else settings


class Stations:
    """Every station of this server, by room id: its config, its tracks and its rotation rules."""

    def __init__(self, stations: list[Station], library: Library | None,
                 own: dict[str, Library] | None = None) -> None:
        self.by_id = {s.room_id: s for s in stations}
        self.library = library
        self.own = own or {}  # station id -> a library nobody searches (the demo beside --music-dir)
        self._folders = {s.room_id: [f.resolve() for f in s.folders] for s in stations}

    @classmethod
    async def open(cls, settings: Settings, library: Library, demo_dir: Path) -> Stations:
        """The configured stations and, unless ``--no-demo``, the demo station; the demo's own
        library is scanned (in a thread) when its tracks are not in the shared one."""
        stations = list(settings.stations)
        own: dict[str, Library] = {}
        if settings.demo:
            stations.append(demo_station(demo_dir))
            if not demo_in_library(settings):
                own[DEMO_ID] = Library([demo_dir])
                await own[DEMO_ID].scan_async()
        for station in stations:
            missing = [f for f in station.folders if not f.is_dir()]
            if missing:
                log.warning("station %s: no such folder %s", station.room_id, ", ".join(map(str, missing)))
        return cls(stations, library, own)

    def ids(self) -> set[str]:
        return set(self.by_id)

    def get(self, room_id: str) -> Station | None:
        return self.by_id.get(room_id)

    def tracks(self, room_id: str) -> list[Track]:
        """The station's tracks now: those of the shared library under its folders (rescans
        included), or all of its own library."""
        if room_id in self.own:
            return self.own[room_id].tracks()
        folders = self._folders.get(room_id, [])
        if self.library is None or not folders:
            return []
        return [t for t in self.library.tracks() if under(t.path, folders)]

    def rotation(self, room_id: str) -> Rotation | None:
        """A station's rotation rules for its music (None: not a station, the library A-Z)."""
        station = self.by_id.get(room_id)
        if station is None:
            return None
        return Rotation(lambda: self.tracks(room_id), shuffle=station.shuffle,
                        artist_separation=station.artist_separation,
                        title_separation=station.title_separation)

    def is_moderator_token(self, room_id: str, token: str | None) -> bool:
        station = self.by_id.get(room_id)
        return station is not None and same(token, station.moderator_token)
