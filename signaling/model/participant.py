"""A participant of a room, as the protocol shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["host", "moderator", "speaker", "listener"]
STAGE_ROLES: frozenset[str] = frozenset({"host", "moderator", "speaker"})
MODERATOR_ROLES: frozenset[str] = frozenset({"host", "moderator"})


@dataclass(eq=False)
class Participant:
    """Someone in a room: their identity, role and state (not their socket)."""

    participant_id: str
    name: str
    role: Role
    resume_token: str
    address: str = ""
    hand_raised: bool = False
    hand_raised_at: float | None = None
    muted: bool = False
    muted_by: str | None = None  # "self" or "moderator" (the host or a moderator): who may open it
    chat_muted: bool = False
    screening: bool = False  # in the green room: heard by the host and moderators only
    connected: bool = True
    stats: dict[str, float] = field(default_factory=dict)

    def set_hand(self, raised: bool, now_ms: float) -> None:
        self.hand_raised = raised
        self.hand_raised_at = now_ms if raised else None

    @property
    def on_stage(self) -> bool:
        return self.role in STAGE_ROLES

    def to_json(self) -> dict:
        return {
            "participant_id": self.participant_id,
            "name": self.name,
            "role": self.role,
            "hand_raised": self.hand_raised,
            "hand_raised_at": self.hand_raised_at,
            "muted": self.muted,
            "muted_by": self.muted_by if self.muted else None,
            "chat_muted": self.chat_muted,
            "screening": self.screening,
        }
