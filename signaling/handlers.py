"""What the server does with each client message, after the permission check."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sfu import NEGOTIATION_ERRORS, SdpError, check_publish_offer, server_ms

from . import permissions
from .errors import ApiError
from .participant import Participant
from .room import Room
from .validate import bool_field, id_field, number_field, pc_field, text_field

log = logging.getLogger(__name__)

Handler = Callable[[Room, Participant, dict], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


async def dispatch(room: Room, me: Participant, msg: dict) -> None:
    """Check and run one message; raises ApiError for a refusal."""
    kind = msg.get("type")
    if not isinstance(kind, str) or kind not in permissions.ALLOWED:
        raise ApiError("bad_request", f"unknown message type {str(kind)[:40]!r}")
    permissions.check(me, kind)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise ApiError("bad_request", f"'{kind}' is not supported by this server yet")
    await handler(room, me, msg)


def target_of(room: Room, msg: dict) -> Participant:
    pid = id_field(msg, "participant_id")
    target = room.participants.get(pid)
    if target is None or not target.connected:
        raise ApiError("not_found", "no such participant in this room")
    return target


@handles("ping")
async def ping(room: Room, me: Participant, msg: dict) -> None:
    t = number_field(msg, "t", lo=-1e18, hi=1e18)
    room.send_to(me.participant_id, {"type": "pong", "t": t, "server_ms": server_ms()})


@handles("chat")
async def chat(room: Room, me: Participant, msg: dict) -> None:
    if me.chat_muted:
        raise ApiError("forbidden", "you are muted in chat")
    text = text_field(msg, "text", max_len=500)
    if not room.chat_limit.allow(me.participant_id):
        raise ApiError("rate_limited", "slow down: at most 5 messages in 10 seconds")
    room.add_chat(me, room.word_filter.clean(text))


@handles("answer")
async def answer(room: Room, me: Participant, msg: dict) -> None:
    pc_field(msg, "sub")
    sdp = msg.get("sdp")
    peer = room.router.subscribers.get(me.participant_id)
    if peer is None:
        raise ApiError("conflict", "no sub connection is open")
    try:
        await peer.handle_answer(sdp)  # type: ignore[arg-type]
    except SdpError as exc:
        raise ApiError("bad_request", str(exc)) from None
    except NEGOTIATION_ERRORS:  # aiortc refused it, or no offer is pending
        raise ApiError("bad_request", "the answer could not be applied") from None


@handles("offer")
async def offer(room: Room, me: Participant, msg: dict) -> None:
    pc_field(msg, "pub")
    if not permissions.may_publish(me):
        raise ApiError("forbidden", "only the stage may publish")
    sdp = msg.get("sdp")
    if not isinstance(sdp, str) or len(sdp) > 60_000:
        raise ApiError("bad_request", "'sdp' must be a session description")
    try:
        check_publish_offer(sdp)
    except SdpError as exc:
        raise ApiError("bad_request", str(exc)) from None
    renegotiation = me.participant_id in room.router.publishers
    peer = room.router.add_publisher(me.participant_id)
    peer.producer.paused = me.muted
    try:
        answer_sdp = await peer.handle_offer(sdp)
    except NEGOTIATION_ERRORS:  # aiortc refused the description
        if not renegotiation:  # leave nothing half made behind
            await room.router.close_publisher(me.participant_id)
        raise ApiError("bad_request", "the offer could not be parsed as SDP") from None
    room.send_to(me.participant_id, {"type": "answer", "pc": "pub", "sdp": answer_sdp})
    await room.router.reconcile()


@handles("candidate")
async def candidate(room: Room, me: Participant, msg: dict) -> None:
    # The server puts all its candidates in its SDP and the clients do too (they
    # wait for gathering); trickled candidates are accepted and not needed.
    if msg.get("pc") not in ("pub", "sub"):
        raise ApiError("bad_request", "'pc' must be 'pub' or 'sub'")


@handles("mute")
async def mute(room: Room, me: Participant, msg: dict) -> None:
    target = target_of(room, msg)
    permissions.check_on(me, target, "mute")
    target.muted = bool_field(msg, "muted")
    publisher = room.router.publishers.get(target.participant_id)
    if publisher is not None:
        publisher.producer.paused = target.muted
    room.participant_changed(target)


@handles("stats")
async def stats(room: Room, me: Participant, msg: dict) -> None:
    for name in ("rtt_ms", "jitter_buffer_ms", "output_latency_ms", "input_latency_ms"):
        value = number_field(msg, name, lo=0, hi=60_000, optional=True)
        if value is not None:
            me.stats[name] = float(value)
    room.router.set_stats(me.participant_id, me.stats)
