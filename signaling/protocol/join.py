"""Joining a room (who you are, whether you may), entering it, and leaving it."""

from __future__ import annotations

import contextlib
import time

from aiohttp import web

from ..cluster import BusUnavailable, ClusterBus
from ..errors import CLOSE_REPLACED, ApiError
from ..model import greenroom
from ..model.names import check_new_name
from ..model.participant import Participant
from ..model.recording import RoomRecording
from ..model.registry import RoomRegistry
from ..model.remote import RemoteOutbox
from ..model.room import Outbox, Room, tracks_for
from ..tokens import new_id, new_token, same
from ..validate import LIMITS, is_clean_text
from .flood import SOCKETS_TALLY, sockets_from
from .session import Session


def origin_allowed(request: web.Request, allowed: list[str]) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: nothing to protect against
    served = {f"http://{request.host}", f"https://{request.host}"}
    return origin in served or origin in allowed


def _join_identity(
    room: Room, registry: RoomRegistry, name: str, token: str | None, address: str
) -> tuple[Participant, bool]:
    """Who is joining: the host, a returning participant, or a new listener."""
    if token:
        if room.is_host_token(token):
            existing = room.host
            if existing is not None:
                existing.name = name
                return existing, True
            return Participant(new_id("p"), name, "host", new_token(), address), False
        for p in room.participants.values():
            if same(token, p.resume_token):
                return p, True
        returning = registry.resume(room, token)
        if returning is not None:
            return returning, False
        raise ApiError("unauthorized", "this token is not valid for this room")
    return Participant(new_id("p"), name, "listener", new_token(), address), False


def admit(request: web.Request, registry: RoomRegistry, elsewhere: int = 0) -> tuple[Room, Participant]:
    """A join to a room held here: the room and who joins, or ``ApiError``."""
    room = registry.get(request.match_info["room_id"])
    if room is None or room.ended:
        raise ApiError("not_found", "no live room with this id")
    name, token = request.query.get("name", ""), request.query.get("token")
    return room, admit_to(registry, room, name, token, request.remote or "", elsewhere)


async def sockets_elsewhere(registry: RoomRegistry, bus: ClusterBus | None, address: str) -> int:
    """Room sockets ``address`` holds in rooms other workers are the origin of, as of their last
    heartbeat: 0 without workers or without a cap, and while Redis cannot be reached (the cap
    then counts this worker's rooms alone)."""
    if bus is None or registry.settings.max_sockets_per_address <= 0:
        return 0
    with contextlib.suppress(BusUnavailable):
        return await bus.tally_elsewhere(SOCKETS_TALLY, address)
    return 0


def admit_to(registry: RoomRegistry, room: Room, name: str, token: str | None, address: str,
             elsewhere: int = 0) -> Participant:
    """Who joins ``room`` with ``name`` and ``token`` from ``address`` (here or through another
    worker), ``elsewhere`` the sockets that address holds in other workers' rooms."""
    name = name.strip()
    if not 1 <= len(name) <= LIMITS["name"] or not is_clean_text(name):
        raise ApiError("bad_request", f"Your name must be 1 to {LIMITS['name']} characters of plain text.",
                       "name_invalid", max=LIMITS["name"])
    if not registry.join_limit.allow(address):
        raise ApiError("rate_limited", "too many joins from this address; try again shortly")
    me, present = _join_identity(room, registry, name, token, address)
    if not token:  # a newcomer: a name of their own, not the host's, not a staff title
        check_new_name(name, host_name=room.host_name, people=room.participants.values(), live=room.sessions)
    _check_socket_cap(registry, room, me, address, elsewhere)
    # An address ban keeps newcomers from that address out; someone who comes back
    # with their own valid token is judged by who they are.
    checked_ip = None if token else address
    if me.role != "host" and registry.store.is_banned(room.room_id, me.participant_id, checked_ip):
        raise ApiError("banned", "you are banned from this room")
    if not present and room.connected_count() >= registry.settings.max_participants:
        raise ApiError("room_full", "this room is full")
    me.address = address  # where they are now (a host or a returning listener may have moved)
    return me


def _check_socket_cap(registry: RoomRegistry, room: Room, me: Participant, address: str,
                      elsewhere: int) -> None:
    cap = registry.settings.max_sockets_per_address
    if cap <= 0:
        return
    open_now = sockets_from(registry.rooms.values(), address) + elsewhere
    if me.participant_id in room.sessions and me.address == address:
        open_now -= 1  # this join replaces that socket
    if open_now >= cap:
        raise ApiError("rate_limited", f"too many open sockets from this address (at most {cap})")


async def enter(room: Room, me: Participant, session: Outbox) -> None:
    """``me`` is in: welcome, everyone told; their ``sub`` connection here if their socket is."""
    old = room.sessions.get(me.participant_id)
    if old is not None:
        old.close(CLOSE_REPLACED)
        await room.media.remove_peer(me.participant_id)
    me.connected = True
    room.participants[me.participant_id] = me
    room.sessions[me.participant_id] = session
    room.media.set_live(me.participant_id, me.on_stage)
    if me.role == "host":
        room.host_left_at = None
    room.save(me)
    welcome = room.welcome(me)
    welcome["recording"] = RoomRecording.of(room).state()
    session.send(welcome)
    room.announce("participant_updated" if old is not None else "participant_joined", me,
                  exclude=me.participant_id)
    if isinstance(session, Session):  # else their worker opens it
        sub = room.router.add_subscriber(me.participant_id)
        sub.on("offer", lambda sdp, tracks: session.send(
            {"type": "offer", "pc": "sub", "sdp": sdp, "tracks": tracks_for(tracks)}))
    await room.media.reconcile()


async def leave(room: Room, registry: RoomRegistry, me: Participant, session: Session | RemoteOutbox) -> None:
    if room.sessions.get(me.participant_id) is not session:
        await session.wait_closed()
        return  # replaced by a newer socket: that one owns the participant now
    del room.sessions[me.participant_id]
    me.connected = False
    greenroom.leave(room, me)
    with contextlib.suppress(Exception):
        await room.media.remove_peer(me.participant_id)  # stop their media first
    await session.wait_closed()
    if room.ended or me.participant_id in room.sessions:
        return  # ended, or back on a newer socket meanwhile (a reload): that one owns them now
    room.save(me)  # their resume minute starts now
    if me.role == "host":
        room.host_left_at = time.monotonic()
    else:
        room.participants.pop(me.participant_id, None)
    room.announce("participant_left", me)
    await room.media.reconcile()
