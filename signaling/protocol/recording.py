"""Recording over the socket: ``record`` (host, moderator) switches it on or off; everyone is told."""

from __future__ import annotations

from ..model.participant import Participant
from ..model.recording import RoomRecording
from ..model.room import Room
from ..validate import bool_field


async def record(room: Room, me: Participant, msg: dict) -> None:
    """``{"on": bool}``: everyone gets ``recording`` ``{"on", "recording_id"}`` (the id of the
    recording that started, or that just stopped). Switching to the state it is in changes nothing
    and tells nobody."""
    recording = RoomRecording.of(room)
    on = bool_field(msg, "on")
    if on == recording.on:
        return
    if on:
        row = recording.start()
        room.audit(me, "record", None, {"on": True, "recording_id": row["recording_id"]})
        room.broadcast({"type": "recording", "on": True, "recording_id": row["recording_id"]})
    else:
        stopped = recording.stop()
        room.audit(me, "record", None, {"on": False, "recording_id": stopped})
        room.broadcast({"type": "recording", "on": False, "recording_id": stopped})
