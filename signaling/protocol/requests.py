"""Listeners' requests over the socket: ``request_track`` and the desk's ``answer_request``."""

from __future__ import annotations

from ..errors import ApiError
from ..model.participant import Participant
from ..model.requests import NOTE_MAX, RequestDesk
from ..model.room import Room
from ..validate import bool_field, id_field, optional_text


async def request_track(room: Room, me: Participant, msg: dict) -> None:
    if me.chat_muted:
        raise ApiError(
            "forbidden", "A moderator muted you in chat: your requests are not sent.",
            "request_muted",
        )
    track = room.music.library.get(id_field(msg, "track_id"))
    if track is None:
        raise ApiError("not_found", "no such track in the library", "request_no_track")
    note = optional_text(msg, "note", max_len=NOTE_MAX)
    RequestDesk.of(room).make(me, track, note)


async def answer_request(room: Room, me: Participant, msg: dict) -> None:
    RequestDesk.of(room).answer(me, id_field(msg, "request_id"), bool_field(msg, "accept"))
