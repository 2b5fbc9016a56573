"""Chat and the clock: a line of chat, a ping for clock sync."""

from __future__ import annotations

from sfu import server_ms

from ..errors import ApiError
from ..model.participant import Participant
from ..model.room import Room
from ..validate import number_field, text_field


async def ping(room: Room, me: Participant, msg: dict) -> None:
    t = number_field(msg, "t", lo=-1e18, hi=1e18)
    room.send_to(me.participant_id, {"type": "pong", "t": t, "server_ms": server_ms()})


async def chat(room: Room, me: Participant, msg: dict) -> None:
    if me.chat_muted:
        raise ApiError("forbidden", "you are muted in chat")
    text = text_field(msg, "text", max_len=500)
    if not room.chat_limit.allow(me.participant_id):
        raise ApiError("rate_limited", "slow down: at most 5 messages in 10 seconds")
    room.add_chat(me, room.word_filter.clean(text))
