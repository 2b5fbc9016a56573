"""``screen`` and ``talkback``: calls screened off air, like a producer's phone line."""

from __future__ import annotations

from ..errors import ApiError
from ..model import greenroom, permissions
from ..model.participant import Participant
from ..model.room import Room
from ..validate import bool_field
from .handler import target_of


async def screen(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "screen")
    if target.role != "listener":
        raise ApiError("conflict", f"{target.name} is on stage already")
    if target.screening:
        raise ApiError("conflict", f"{target.name} is in the green room already")
    greenroom.screen(room, target)
    room.audit(me, "screen", target)
    room.participant_changed(target)
    room.emit("changed")
    await room.media.reconcile()


async def talkback(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    on = bool_field(msg, "on")
    if on and not target.screening:
        raise ApiError("conflict", f"{target.name} is not in the green room: talk to them on air")
    if on:
        greenroom.set_talkback(room, me.participant_id, target.participant_id)
    elif room.talkback.get(me.participant_id) == target.participant_id:
        greenroom.set_talkback(room, me.participant_id, None)
    await room.media.reconcile()
