"""Every client message type and its handler, in one table; ``dispatch`` checks and runs one message."""

from __future__ import annotations

from ..errors import ApiError
from ..model import permissions
from ..model.participant import Participant
from ..model.room import Room
from . import chat, delay, desk, greenroom, media, moderation, reactions, recording, requests, stage
from .handler import Handler

HANDLERS: dict[str, Handler] = {
    "ping": chat.ping,
    "chat": chat.chat,
    "answer": media.answer,
    "offer": media.offer,
    "candidate": media.candidate,
    "mute": media.mute,
    "stats": media.stats,
    "raise_hand": stage.raise_hand,
    "lower_hand": stage.lower_hand,
    "promote": stage.promote,
    "record": recording.record,
    "broadcast_delay": delay.broadcast_delay,
    "dump": delay.dump,
    "screen": greenroom.screen,
    "talkback": greenroom.talkback,
    "demote": stage.demote,
    "make_moderator": stage.make_moderator,
    "mute_chat": moderation.mute_chat,
    "kick": moderation.kick,
    "delete_message": moderation.delete_message,
    "report": moderation.report,
    "queue_add": desk.queue_add,
    "queue_remove": desk.queue_remove,
    "queue_move": desk.queue_move,
    "skip": desk.skip,
    "play": desk.play,
    "pause": desk.pause,
    "seek": desk.seek,
    "music_gain": desk.music_gain,
    "crossfade": desk.crossfade,
    "ducking": desk.ducking,
    "request_track": requests.request_track,
    "answer_request": requests.answer_request,
    "react": reactions.react,
}


async def dispatch(room: Room, me: Participant, msg: dict) -> None:
    """Check and run one message; raises ApiError for a refusal."""
    kind = msg.get("type")
    if not isinstance(kind, str) or kind not in HANDLERS:
        raise ApiError("bad_request", f"unknown message type {str(kind)[:40]!r}")
    permissions.check(me, kind)
    await HANDLERS[kind](room, me, msg)
