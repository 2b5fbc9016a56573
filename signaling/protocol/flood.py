"""What one client may cost us: a message budget per socket and a cap on sockets per address."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from enum import Enum

from ..model.room import Room


class Verdict(Enum):
    """What to do with one frame."""

    HANDLE = "handle"
    REFUSE = "refuse"  # answer `error` `rate_limited`, do not handle
    CLOSE = "close"  # the client ignored the refusals: close with 4429


class MessageBudget:
    """A token bucket per socket over every frame a client sends, whatever its type.

    ``rate`` frames a second on average, ``burst`` at once. A frame over the
    budget is refused, and it still costs a token: the debt grows while a client
    ignores its refusals, and once it reaches another ``burst`` the socket is
    closed. A client that slows down to ``rate`` pays its debt back in time.
    ``rate`` 0 means no limit.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._at = time.monotonic()

    def take(self, now: float | None = None) -> Verdict:
        if self.rate <= 0:
            return Verdict.HANDLE
        now = time.monotonic() if now is None else now
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now
        self._tokens -= 1.0
        if self._tokens >= 0.0:
            return Verdict.HANDLE
        return Verdict.CLOSE if self._tokens < -self.burst else Verdict.REFUSE


SOCKETS_TALLY = "sockets"  # with workers: each worker's ``sockets_by_address``, in Redis


def sockets_from(rooms: Iterable[Room], address: str) -> int:
    """Room sockets open from ``address`` in all rooms.

    Counted from the rooms' sessions rather than kept in a counter of its own,
    so it can never drift from what is really open.
    """
    return sum(1 for at in _socket_addresses(rooms) if at == address)


def sockets_by_address(rooms: Iterable[Room]) -> dict[str, int]:
    """Room sockets open in ``rooms``, by client address. With workers: the sockets in the rooms
    this worker is the origin of, wherever each socket sits (its ``sockets`` tally)."""
    return dict(Counter(_socket_addresses(rooms)))


def _socket_addresses(rooms: Iterable[Room]) -> Iterator[str]:
    for room in rooms:
        for participant_id in room.sessions:
            participant = room.participants.get(participant_id)
            if participant is not None:
                yield participant.address
