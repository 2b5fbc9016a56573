"""The broadcast delay and its dump button: the audience hears the show seconds after the stage,
and what a caller just said can be dropped before it reaches them."""

from __future__ import annotations

from ..errors import ApiError
from ..model.participant import Participant
from ..model.remote import RemoteOutbox
from ..model.room import Room
from ..validate import number_field

MIN_S, MAX_S = 5, 30


async def broadcast_delay(room: Room, me: Participant, msg: dict) -> None:
    seconds = number_field(msg, "seconds", lo=0, hi=MAX_S)
    if 0 < seconds < MIN_S:
        raise ApiError("bad_request", f"A broadcast delay is 0 (none) or {MIN_S} to {MAX_S} seconds.",
                       "delay_range", min=MIN_S, max=MAX_S)
    room.set_broadcast_delay(float(seconds))
    room.save_settings()
    room.audit(me, "broadcast_delay", None, {"seconds": seconds})


async def dump(room: Room, me: Participant, msg: dict) -> None:
    """Every voice still inside the delay is dropped, here and on every worker that relays the room."""
    room.router.dump()
    workers = {s.worker_id: s.link for s in room.sessions.values() if isinstance(s, RemoteOutbox)}
    for link in workers.values():
        link.send({"t": "dump", "room": room.room_id})
    room.audit(me, "dump", None, {"broadcast_delay_s": room.broadcast_delay_s})
