"""The peer connections: the answer on ``sub``, the offer on ``pub``, candidates, voice mute, stats."""

from __future__ import annotations

from sfu import NEGOTIATION_ERRORS, Router, SdpError, check_publish_offer

from ..errors import ApiError
from ..model import permissions
from ..model.participant import Participant
from ..model.room import Room
from ..validate import bool_field, number_field, pc_field
from .handler import target_of


async def answer(room: Room, me: Participant, msg: dict) -> None:
    await apply_answer(room.router, me.participant_id, msg)


async def apply_answer(router: Router, pid: str, msg: dict) -> None:
    """The client's answer to our ``sub`` offer (wherever its peer connection lives)."""
    pc_field(msg, "sub")
    sdp = msg.get("sdp")
    peer = router.subscribers.get(pid)
    if peer is None:
        raise ApiError("conflict", "no sub connection is open")
    if not isinstance(sdp, str):
        raise ApiError("bad_request", "'sdp' must be a session description")
    try:
        await peer.handle_answer(sdp)
    except SdpError as exc:
        raise ApiError("bad_request", str(exc)) from None
    except NEGOTIATION_ERRORS:  # aiortc refused it, or no offer is pending
        raise ApiError("bad_request", "the answer could not be applied") from None


async def offer(room: Room, me: Participant, msg: dict) -> None:
    if not permissions.may_publish(me):
        raise ApiError("forbidden", "only the stage may publish")
    answer_sdp, _ = await accept_offer(room.router, me.participant_id, msg, paused=me.muted)
    room.send_to(me.participant_id, {"type": "answer", "pc": "pub", "sdp": answer_sdp})
    await room.router.reconcile()


async def accept_offer(router: Router, pid: str, msg: dict, *, paused: bool) -> tuple[str, bool]:
    """Answer a stage member's ``pub`` offer; the answer, and whether it was a renegotiation."""
    pc_field(msg, "pub")
    sdp = msg.get("sdp")
    if not isinstance(sdp, str) or len(sdp) > 60_000:
        raise ApiError("bad_request", "'sdp' must be a session description")
    try:
        check_publish_offer(sdp)
    except SdpError as exc:
        raise ApiError("bad_request", str(exc)) from None
    renegotiation = pid in router.publishers
    peer = router.add_publisher(pid)
    peer.producer.paused = paused
    try:
        answer_sdp = await peer.handle_offer(sdp)
    except NEGOTIATION_ERRORS:  # aiortc refused the description
        if not renegotiation:  # leave nothing half made behind
            await router.close_publisher(pid)
        raise ApiError("bad_request", "the offer could not be parsed as SDP") from None
    return answer_sdp, renegotiation


async def candidate(room: Room, me: Participant, msg: dict) -> None:
    # The server puts all its candidates in its SDP and the clients do too (they
    # wait for gathering); trickled candidates are accepted and not needed.
    if msg.get("pc") not in ("pub", "sub"):
        raise ApiError("bad_request", "'pc' must be 'pub' or 'sub'")


async def mute(room: Room, me: Participant, msg: dict) -> None:
    """Close or open a mic. A mic closed by the host or a moderator is opened only by one of
    them; a mic its owner closed, only by its owner."""
    target = target_of(room, msg)
    permissions.check_on(me, target, "mute")
    muted = bool_field(msg, "muted")
    if not muted and target.muted:
        permissions.check_unmute(me, target)
    set_mute(room, target, muted, "self" if me is target else "moderator")
    room.participant_changed(target)


def set_mute(room: Room, target: Participant, muted: bool, by: str) -> None:
    """Close (or open) ``target``'s mic: their voice is paused at the server either way."""
    target.muted = muted
    target.muted_by = by if muted else None
    room.media.pause(target.participant_id, muted)


async def stats(room: Room, me: Participant, msg: dict) -> None:
    for name in ("rtt_ms", "jitter_buffer_ms", "output_latency_ms", "input_latency_ms"):
        value = number_field(msg, name, lo=0, hi=60_000, optional=True)
        if value is not None:
            me.stats[name] = float(value)
    room.media.set_stats(me.participant_id, me.stats)
