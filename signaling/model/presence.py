"""Who comes and goes, told at the scale of the room.

While a room holds at most ``AUDIENCE_THRESHOLD`` listeners, every join, update
and leave goes to everyone as a ``participant_*`` event. Past that, one message
per join to every participant makes a join storm quadratic: the stage (host,
moderators, speakers) still gets every event, the audience gets an ``audience``
summary at most once a second, and a listener still hears about themself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

from .participant import Participant

AUDIENCE_THRESHOLD = 100
SUMMARY_INTERVAL_S = 1.0

# who a broadcast is for: everyone, the stage or not, the staff (host and moderators) or not
Audience = Literal["all", "stage", "audience", "staff", "not_staff"]
Broadcast = Callable[[dict, str | None, Audience], None]
Event = Literal["participant_joined", "participant_updated", "participant_left"]


class Presence:
    """Announces a room's participants: per event while small, summarised when big."""

    def __init__(self, broadcast: Broadcast, send_to: Callable[[str, dict], None],
                 listeners: Callable[[], int]) -> None:
        self._broadcast = broadcast
        self._send_to = send_to
        self._listeners = listeners
        self._on_stage: set[str] = set()  # announced as stage members: their leaving concerns all
        self._joined: dict[str, dict] = {}
        self._left: list[str] = []
        self._last_summary = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def summarised(self) -> bool:
        """Whether the audience hears summaries rather than each event."""
        return self._listeners() > AUDIENCE_THRESHOLD

    def announce(self, event: Event, participant: Participant, exclude: str | None = None) -> None:
        """Tell the room that ``participant`` joined, changed or left."""
        pid = participant.participant_id
        was_on_stage = pid in self._on_stage
        if participant.on_stage and event != "participant_left":
            self._on_stage.add(pid)
        else:
            self._on_stage.discard(pid)
        message = ({"type": event, "participant_id": pid} if event == "participant_left"
                   else {"type": event, "participant": participant.to_json()})
        if participant.on_stage or was_on_stage or not self.summarised:
            self._broadcast(message, exclude, "all")
            return
        self._broadcast(message, exclude, "stage")
        if event == "participant_updated" and exclude != pid:
            self._send_to(pid, message)  # their own hand, their own name: the page shows it
        self._note(event, participant)

    def _note(self, event: Event, participant: Participant) -> None:
        pid = participant.participant_id
        if event == "participant_left":
            if self._joined.pop(pid, None) is None:
                self._left.append(pid)
        elif event == "participant_joined":
            self._joined[pid] = participant.to_json()
        else:
            return  # a listener's update (a hand, a mute) is the stage's business
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        due = max(0.0, self._last_summary + SUMMARY_INTERVAL_S - loop.time())
        self._timer = loop.call_later(due, self.flush)

    def flush(self) -> None:
        """Send the audience what changed since the last summary (if anything did)."""
        self._timer = None
        self._last_summary = asyncio.get_running_loop().time()
        if not self._joined and not self._left:
            return
        summary = {"type": "audience", "listeners": self._listeners(),
                   "joined": list(self._joined.values()), "left": self._left}
        self._joined, self._left = {}, []
        self._broadcast(summary, None, "audience")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
