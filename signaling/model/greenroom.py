"""The green room: a caller screened off air, heard by the host and moderators only, and talkback
(a host's or moderator's voice to that caller only, not to air).

Both are restrictions on who hears a voice (``Router.restrict``); a restricted
voice ducks no music. The room restates them to other workers with its
producers (``WorkerHub.snapshot``), so a listener on any worker is left out.
"""

from __future__ import annotations

from sfu import server_ms

from .participant import MODERATOR_ROLES, Participant
from .room import Room


def staff(room: Room) -> set[str]:
    """Who hears a screened caller: the host and the moderators."""
    return {pid for pid, p in room.participants.items() if p.role in MODERATOR_ROLES}


def screen(room: Room, caller: Participant) -> None:
    """Into the green room: the caller may publish; their voice reaches the staff only."""
    caller.screening = True
    caller.set_hand(False, server_ms())
    room.router.restrict(caller.participant_id, staff(room))


def unscreen(room: Room, caller: Participant) -> None:
    """Out of the green room (on air, back to the audience, or gone); talkback to them ends."""
    caller.screening = False
    room.router.restrict(caller.participant_id, None)
    for speaker, to in list(room.talkback.items()):
        if to == caller.participant_id:
            set_talkback(room, speaker, None)


def set_talkback(room: Room, speaker: str, caller: str | None) -> None:
    """``speaker``'s voice to ``caller`` only (None: to air again)."""
    if caller is None:
        room.talkback.pop(speaker, None)
        room.router.restrict(speaker, None)
    else:
        room.talkback[speaker] = caller
        room.router.restrict(speaker, {caller})


def leave(room: Room, participant: Participant) -> None:
    """Someone left: out of the green room, and their talkback (if any) ends."""
    if participant.screening:
        unscreen(room, participant)
    set_talkback(room, participant.participant_id, None)


def refresh(room: Room) -> None:
    """The staff changed (a moderator made or gone): screened voices reach the staff of now."""
    hearers = staff(room)
    for p in room.participants.values():
        if p.screening:
            room.router.restrict(p.participant_id, hearers)
