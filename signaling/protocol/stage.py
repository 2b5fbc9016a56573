"""The stage: hands, promotion, demotion and moderators."""

from __future__ import annotations

from sfu import server_ms

from ..errors import ApiError
from ..model import greenroom, permissions
from ..model.participant import Participant, Role
from ..model.recording import RoomRecording
from ..model.room import Room
from .handler import target_of
from .media import set_mute


async def set_role(room: Room, target: Participant, role: Role) -> None:
    """Change a role; leaving the stage stops the forwarding at once."""
    was_publishing = target.on_stage or target.screening
    if target.screening:
        greenroom.unscreen(room, target)
    target.role = role
    target.set_hand(False, server_ms())
    if was_publishing and not target.on_stage:
        await room.media.close_publisher(target.participant_id)
    room.media.set_live(target.participant_id, target.on_stage)
    room.send_to(target.participant_id, {"type": "role_changed", "role": role})
    greenroom.refresh(room)  # a moderator made or gone: screened callers are heard by the staff of now
    room.participant_changed(target)
    room.emit("changed")
    await room.media.reconcile()  # a caller on air from the green room: everyone gets their voice now


async def raise_hand(room: Room, me: Participant, msg: dict) -> None:
    if not me.hand_raised:
        me.set_hand(True, server_ms())
        room.participant_changed(me)
        room.emit("changed")


async def lower_hand(room: Room, me: Participant, msg: dict) -> None:
    """A listener lowers their hand; the host or a moderator may lower anyone's (extension)."""
    target = me
    if msg.get("participant_id") not in (None, me.participant_id):
        target = target_of(room, msg)
        permissions.check_on(me, target, "lower_hand")
    elif me.role != "listener":
        raise ApiError("forbidden", "only listeners raise and lower their hand")
    if target.hand_raised:
        target.set_hand(False, server_ms())
        room.participant_changed(target)
        room.emit("changed")


async def promote(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "promote")
    if target.role != "listener":
        raise ApiError("conflict", f"{target.name} is already on stage")
    recording = RoomRecording.of(room)
    if recording.on:  # told before their mic opens
        room.send_to(target.participant_id, {"type": "recording", **recording.state()})
    await set_role(room, target, "speaker")
    room.audit(me, "promote", target)


async def demote(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "demote")
    if target.role not in ("speaker", "moderator") and not target.screening:
        raise ApiError("conflict", f"{target.name} is not a speaker or moderator",
                       "not_on_stage", name=target.name)
    await set_role(room, target, "listener")
    room.audit(me, "demote", target)


async def make_moderator(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "make_moderator")
    if target.role == "moderator":
        raise ApiError("conflict", f"{target.name} is already a moderator",
                       "already_moderator", name=target.name)
    if not target.on_stage:  # a new moderator's mic starts closed: they open it when ready
        set_mute(room, target, True, "self")
    await set_role(room, target, "moderator")
    room.audit(me, "make_moderator", target)
