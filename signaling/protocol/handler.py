"""What a message handler is, and how one finds the participant a message names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..errors import ApiError
from ..model.participant import Participant
from ..model.room import Room
from ..validate import id_field

Handler = Callable[[Room, Participant, dict], Awaitable[None]]


def target_of(room: Room, msg: dict) -> Participant:
    """The connected participant named by ``participant_id``; ``not_found`` otherwise."""
    pid = id_field(msg, "participant_id")
    target = room.participants.get(pid)
    if target is None or not target.connected:
        raise ApiError("not_found", "no such participant in this room")
    return target
