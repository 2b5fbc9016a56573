"""Moderation: mute in chat, kick and ban, delete messages, reports."""

from __future__ import annotations

from ..errors import CLOSE_KICKED, ApiError
from ..model import permissions
from ..model.participant import Participant
from ..model.room import Room
from ..validate import bool_field, id_field, optional_text, text_field
from .handler import target_of


async def mute_chat(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "mute_chat")
    target.chat_muted = bool_field(msg, "muted")
    room.participant_changed(target)
    room.audit(me, "mute_chat", target, {"muted": target.chat_muted})


async def kick(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "kick")
    ban = msg.get("ban", False)
    if not isinstance(ban, bool):
        raise ApiError("bad_request", "'ban' must be true or false")
    reason = optional_text(msg, "reason", max_len=200)
    if ban:
        room.ban(target, reason=reason or "banned by a moderator", by=me)
    room.audit(me, "kick_ban" if ban else "kick", target, {"reason": reason})
    await room.remove(target, {"type": "kicked", "reason": reason or "removed by a moderator"},
                      CLOSE_KICKED)


async def delete_message(room: Room, me: Participant, msg: dict) -> None:
    message_id = id_field(msg, "message_id")
    message = room.find_chat(message_id)
    if message is None:
        raise ApiError("not_found", "no such message")
    author = message["participant_id"] == me.participant_id
    if not author and me.role not in permissions.MODERATORS:
        raise ApiError("forbidden", "only the author, the host or a moderator may delete this")
    room.delete_chat(message_id)
    if not author:
        room.audit(me, "delete_message", None, {"message_id": message_id, "text": message["text"]})


async def report(room: Room, me: Participant, msg: dict) -> None:
    """A report may name anyone who was ever in the room (gone, kicked or banned included) and
    any message of the room (deleted ones included): what is reported is often gone already."""
    reason = text_field(msg, "reason", max_len=500)
    participant_id = id_field(msg, "participant_id") if msg.get("participant_id") is not None else None
    message_id = id_field(msg, "message_id") if msg.get("message_id") is not None else None
    if participant_id is None and message_id is None:
        raise ApiError("bad_request", "a report names a participant_id or a message_id")
    if participant_id is not None and not _was_here(room, participant_id):
        raise ApiError("not_found", "nobody with this id was in this room")
    if message_id is not None and room.store.chat_message(
        room.room_id, message_id, include_deleted=True
    ) is None:
        raise ApiError("not_found", "no such message in this room")
    room.report(me, reason, participant_id, message_id)


def _was_here(room: Room, participant_id: str) -> bool:
    return participant_id in room.participants or room.store.was_in_room(room.room_id, participant_id)
