"""The DJ's desk: queue and transport messages, and the music's state across restarts."""

from __future__ import annotations

import logging

from mixer import Library, RoomMusic

from .errors import ApiError
from .handlers import handles
from .participant import Participant
from .room import Room
from .store import Store
from .validate import id_field, number_field

log = logging.getLogger(__name__)


def open_music(store: Store, library: Library, room_id: str) -> RoomMusic:
    """A room's music, resumed from the store where it was (queue, track, position)."""
    queue = []
    for entry_id, track_id in store.load_queue(room_id):
        track = library.get(track_id)
        if track is not None:
            queue.append((entry_id, track))
    saved = store.load_playback(room_id)
    room = store.room(room_id) or {}
    music = RoomMusic(
        library, queue=queue, crossfade_s=saved["crossfade_s"] if saved else 3.0,
        ducking_db=room.get("settings", {}).get("ducking_db", 12.0),
    )
    if saved is not None:
        music.set_gain(saved["gain"])
        track = library.get(saved["track_id"]) if saved["track_id"] else None
        if track is not None:
            music.restore_playback(track, saved["position_ms"], paused=saved["paused"])
    return music


def _track(room: Room, msg: dict):  # type: ignore[no-untyped-def]
    track = room.music.library.get(id_field(msg, "track_id"))
    if track is None:
        raise ApiError("not_found", "no such track in the library")
    return track


@handles("queue_add")
async def queue_add(room: Room, me: Participant, msg: dict) -> None:
    room.music.queue_add(_track(room, msg))


@handles("queue_remove")
async def queue_remove(room: Room, me: Participant, msg: dict) -> None:
    if not room.music.queue_remove(id_field(msg, "entry_id")):
        raise ApiError("not_found", "no such queue entry")


@handles("queue_move")
async def queue_move(room: Room, me: Participant, msg: dict) -> None:
    index = number_field(msg, "index", lo=0, hi=10_000)
    if not isinstance(index, int):
        raise ApiError("bad_request", "'index' must be an integer")
    if not room.music.queue_move(id_field(msg, "entry_id"), index):
        raise ApiError("not_found", "no such queue entry")


@handles("skip")
async def skip(room: Room, me: Participant, msg: dict) -> None:
    room.music.skip()


@handles("play")
async def play(room: Room, me: Participant, msg: dict) -> None:
    room.music.play()


@handles("pause")
async def pause(room: Room, me: Participant, msg: dict) -> None:
    room.music.pause()


@handles("seek")
async def seek(room: Room, me: Participant, msg: dict) -> None:
    room.music.seek(number_field(msg, "position_ms", lo=0, hi=24 * 3600 * 1000))


@handles("music_gain")
async def music_gain(room: Room, me: Participant, msg: dict) -> None:
    room.music.set_gain(float(number_field(msg, "gain", lo=0.0, hi=1.0)))
    room.music_settings_changed()


@handles("crossfade")
async def crossfade(room: Room, me: Participant, msg: dict) -> None:
    room.music.set_crossfade(float(number_field(msg, "seconds", lo=0.0, hi=20.0)))
    room.music_settings_changed()


@handles("ducking")
async def ducking(room: Room, me: Participant, msg: dict) -> None:
    room.music.set_ducking(float(number_field(msg, "db", lo=0.0, hi=40.0)))
    room.music_settings_changed()
