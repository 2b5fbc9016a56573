"""Sync you can see: what the host and moderators are told of the room's clock every 2 s.

``sync`` states the audience delay D, each stage member's loop latency L_i and
RTT (what D is made of), and how the listeners' connections are doing (RTT and
loss percentiles from their RTCP receiver reports on the audience feed).
"""

from __future__ import annotations

from sfu import Router

SYNC_EVERY_S = 2.0


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def listener_figures(router: Router) -> tuple[list[float], list[float]]:
    """Each listener's RTT and loss (ms, %) as their receiver reports tell, on this router."""
    rtts, losses = [], []
    for owner, peer in router.subscribers.items():
        if router.is_live(owner):
            continue
        rtt = [c.rtt_ms for c in peer.consumers if c.rtt_ms is not None]
        loss = [c.loss_pct for c in peer.consumers if c.loss_pct is not None]
        if rtt:
            rtts.append(min(rtt))
        if loss:
            losses.append(max(loss))
    return rtts, losses


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def sync_message(router: Router, listeners: int, broadcast_delay_s: float) -> dict:
    """The ``sync`` message of a room whose media ``router`` carries."""
    members = {}
    for owner, loop_ms in router.loop_latencies().items():
        member = router.members.get(owner)
        rtt = member.rtcp_rtt_ms if member is not None else None
        measured = member is not None and member.measured_ms is not None
        members[owner] = {"loop_ms": round(loop_ms, 1), "rtt_ms": _rounded(rtt), "measured": measured}
    rtts, losses = listener_figures(router)
    return {
        "type": "sync",
        "audience_delay_ms": router.audience.delay_ms,
        "broadcast_delay_s": broadcast_delay_s,
        "members": members,
        "listeners": {
            "count": listeners,
            "rtt_ms_p50": _rounded(percentile(rtts, 0.5)), "rtt_ms_p95": _rounded(percentile(rtts, 0.95)),
            "loss_pct_p50": _rounded(percentile(losses, 0.5)),
            "loss_pct_p95": _rounded(percentile(losses, 0.95)),
        },
    }
