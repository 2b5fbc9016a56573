"""Reactions in a room: counted as they come, sent to everyone as one ``reactions`` message at most
every half second (never one message per tap), each participant at most 5 a second.

The first reaction after a quiet spell opens a half-second window; what arrives in it goes out
at its end, and the next window opens with the next reaction. A burst of any size within one
second therefore reaches each page as at most two messages, each serialized once
(``Room.broadcast``).
"""

from __future__ import annotations

import asyncio
import weakref

from ..errors import ApiError
from .ratelimit import RateLimit
from .room import Room

EMOJIS = ("\U0001f44f", "\u2764\ufe0f", "\U0001f525", "\U0001f602", "\U0001f389", "\U0001f64c")
ALIASES = {"\u2764": "\u2764\ufe0f"}  # a heart without its emoji presentation selector
INTERVAL_S = 0.5
PER_SECOND = 5

_ROOMS: weakref.WeakKeyDictionary[Room, Reactions] = weakref.WeakKeyDictionary()


def emoji_of(value: object) -> str:
    """One of the six emoji (a bare heart counts as the red heart); ``bad_request`` otherwise."""
    emoji = ALIASES.get(value, value) if isinstance(value, str) else None
    if emoji not in EMOJIS:
        raise ApiError("bad_request", f"'emoji' must be one of {' '.join(EMOJIS)}")
    return emoji


class Reactions:
    """One room's reaction counts since the last ``reactions`` message."""

    def __init__(self, room: Room, interval_s: float = INTERVAL_S) -> None:
        self.room = room
        self.interval_s = interval_s
        self.limit = RateLimit(PER_SECOND, 1.0)
        self.counts: dict[str, int] = {}
        self.sent = 0  # messages sent so far
        self._timer: asyncio.TimerHandle | None = None
        room.once("ended", self.close)

    @classmethod
    def of(cls, room: Room) -> Reactions:
        """The room's counter (made on first use)."""
        reactions = _ROOMS.get(room)
        if reactions is None:
            reactions = _ROOMS[room] = cls(room)
        return reactions

    def add(self, participant_id: str, emoji: str) -> None:
        """Count one; ``rate_limited`` past 5 in a second from the same participant."""
        if not self.limit.allow(participant_id):
            raise ApiError(
                "rate_limited", f"At most {PER_SECOND} reactions a second.",
                "reaction_rate", count=PER_SECOND,
            )
        self.counts[emoji] = self.counts.get(emoji, 0) + 1
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(loop.time() + self.interval_s, self.flush)

    def flush(self) -> None:
        """Send the counts gathered in this window (if any) to everyone, in one message."""
        self._timer = None
        if not self.counts or self.room.ended:
            self.counts = {}
            return
        counts, self.counts = self.counts, {}
        self.sent += 1
        self.room.broadcast({"type": "reactions", "counts": counts})

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.counts = {}
