"""The DJ's desk: queue and transport messages."""

from __future__ import annotations

import logging

from mixer import Track

from ..errors import ApiError
from ..model.participant import Participant
from ..model.room import Room
from ..validate import id_field, number_field

log = logging.getLogger(__name__)


def _track(room: Room, msg: dict) -> Track:
    track = room.music.library.get(id_field(msg, "track_id"))
    if track is None:
        raise ApiError("not_found", "no such track in the library", "track_gone")
    return track


async def queue_add(room: Room, me: Participant, msg: dict) -> None:
    room.music.queue_add(_track(room, msg))


async def queue_remove(room: Room, me: Participant, msg: dict) -> None:
    if not room.music.queue_remove(id_field(msg, "entry_id")):
        raise ApiError("not_found", "no such queue entry", "queue_entry_gone")


async def queue_move(room: Room, me: Participant, msg: dict) -> None:
    index = number_field(msg, "index", lo=0, hi=10_000)
    if not isinstance(index, int):
        raise ApiError("bad_request", "'index' must be an integer")
    if not room.music.queue_move(id_field(msg, "entry_id"), index):
        raise ApiError("not_found", "no such queue entry", "queue_entry_gone")


async def skip(room: Room, me: Participant, msg: dict) -> None:
    room.music.skip()


async def play(room: Room, me: Participant, msg: dict) -> None:
    room.music.play()


async def pause(room: Room, me: Participant, msg: dict) -> None:
    room.music.pause()


async def seek(room: Room, me: Participant, msg: dict) -> None:
    room.music.seek(number_field(msg, "position_ms", lo=0, hi=24 * 3600 * 1000))


async def music_gain(room: Room, me: Participant, msg: dict) -> None:
    room.music.set_gain(float(number_field(msg, "gain", lo=0.0, hi=1.0)))
    room.music_settings_changed()


async def crossfade(room: Room, me: Participant, msg: dict) -> None:
    room.music.set_crossfade(float(number_field(msg, "seconds", lo=0.0, hi=20.0)))
    room.music_settings_changed()


async def ducking(room: Room, me: Participant, msg: dict) -> None:
    room.music.set_ducking(float(number_field(msg, "db", lo=0.0, hi=40.0)))
    room.music_settings_changed()
