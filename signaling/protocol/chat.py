"""Chat and the clock: a line of chat, a ping for clock sync."""

from __future__ import annotations

from sfu import server_ms

from ..errors import ApiError
from ..model.participant import Participant
from ..model.room import Room
from ..validate import LIMITS, is_clean_text, number_field


async def ping(room: Room, me: Participant, msg: dict) -> None:
    t = number_field(msg, "t", lo=-1e18, hi=1e18)
    room.send_to(me.participant_id, {"type": "pong", "t": t, "server_ms": server_ms()})


def _chat_text(msg: dict) -> str:
    """The message's text, trimmed; refusals worded for the person who typed it."""
    text = msg.get("text")
    if not isinstance(text, str):
        raise ApiError("bad_request", "'text' must be a string")
    text = text.strip()
    if not is_clean_text(text):
        raise ApiError("bad_request", "This message has characters that cannot be shown.", "chat_unprintable")
    if not text:
        raise ApiError("bad_request", "This message is empty.", "chat_empty")
    most = LIMITS["chat"]
    if len(text) > most:
        raise ApiError("bad_request", f"A message can be at most {most} characters; this has {len(text)}.",
                       "chat_too_long", max=most, length=len(text))
    return text


async def chat(room: Room, me: Participant, msg: dict) -> None:
    if me.chat_muted:
        raise ApiError(
            "forbidden", "A moderator muted you in chat: your messages are not sent.",
            "chat_muted",
        )
    text = _chat_text(msg)
    limit = room.chat_limit
    if not limit.allow(me.participant_id):
        seconds = round(limit.window_s)
        raise ApiError("rate_limited", f"Slow down: at most {limit.count} messages in {seconds} seconds.",
                       "chat_rate", count=limit.count, seconds=seconds)
    room.add_chat(me, room.word_filter.clean(text))
