"""Who may do what: every client message is checked here, on the server."""

from __future__ import annotations

from ..errors import ApiError
from .participant import MODERATOR_ROLES, STAGE_ROLES, Participant

EVERYONE = frozenset({"host", "moderator", "speaker", "listener"})
MODERATORS = MODERATOR_ROLES

# message type -> roles allowed to send it at all (finer checks below)
ALLOWED: dict[str, frozenset[str]] = {
    "answer": EVERYONE,
    "candidate": EVERYONE,
    "ping": EVERYONE,
    "chat": EVERYONE,
    "report": EVERYONE,
    "mute": EVERYONE,
    "delete_message": EVERYONE,
    "offer": EVERYONE,  # the stage and a screened caller: see may_publish
    "stats": frozenset(STAGE_ROLES),
    "raise_hand": frozenset({"listener"}),
    "lower_hand": frozenset({"listener", "host", "moderator"}),  # others': see stage.lower_hand
    "demote": EVERYONE,
    "promote": MODERATORS,
    "record": MODERATORS,
    "broadcast_delay": frozenset({"host"}),
    "dump": MODERATORS,
    "screen": MODERATORS,
    "talkback": MODERATORS,
    "mute_chat": MODERATORS,
    "kick": MODERATORS,
    "make_moderator": frozenset({"host"}),
    "queue_add": MODERATORS,
    "queue_remove": MODERATORS,
    "queue_move": MODERATORS,
    "play": MODERATORS,
    "pause": MODERATORS,
    "skip": MODERATORS,
    "seek": MODERATORS,
    "music_gain": MODERATORS, "crossfade": MODERATORS, "ducking": MODERATORS,
    "request_track": frozenset({"listener"}),  # one pending each: model/requests.py
    "answer_request": MODERATORS,
    "react": EVERYONE,  # at most 5 a second each: model/reactions.py
}


def check(actor: Participant, action: str) -> None:
    """Raise ``forbidden`` unless ``actor``'s role may send ``action``."""
    roles = ALLOWED.get(action)
    if roles is None or actor.role not in roles:
        raise ApiError("forbidden", f"a {actor.role} may not {action.replace('_', ' ')}")


def check_on(actor: Participant, target: Participant, action: str) -> None:
    """Actions aimed at another participant: moderators act on others, never on the host."""
    if actor is target:
        if action in ("mute", "demote"):
            return
        raise ApiError("forbidden", f"you may not {action.replace('_', ' ')} yourself")
    if actor.role not in MODERATORS:
        raise ApiError("forbidden", f"only the host or a moderator may {action} others")
    if target.role == "host":
        raise ApiError("forbidden", "nobody may do that to the host", "host_untouchable")


def check_unmute(actor: Participant, target: Participant) -> None:
    """Opening a closed mic: the host or a moderator opens what one of them closed, the owner what
    they closed themselves."""
    if target.muted_by == "moderator" and actor.role not in MODERATORS:
        raise ApiError("forbidden", "the host muted you: only the host or a moderator can open your mic")
    if target.muted_by == "self" and actor is not target:
        raise ApiError("forbidden", f"{target.name} closed their own mic: only they can open it",
                       "self_muted_mic", name=target.name)


def may_publish(participant: Participant) -> bool:
    """The stage, and a caller in the green room (whose voice reaches the host and moderators)."""
    return participant.role in STAGE_ROLES or participant.screening
