"""Reactions over the socket: ``react``."""

from __future__ import annotations

from ..errors import ApiError
from ..model.participant import Participant
from ..model.reactions import Reactions, emoji_of
from ..model.room import Room


async def react(room: Room, me: Participant, msg: dict) -> None:
    emoji = emoji_of(msg.get("emoji"))
    if me.chat_muted:
        raise ApiError(
            "forbidden", "A moderator muted you in chat: your reactions are not sent.",
            "reaction_muted",
        )
    Reactions.of(room).add(me.participant_id, emoji)
