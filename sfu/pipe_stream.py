"""One producer received over the pipe: its target, its replay window, its counters."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any

from .pipe_wire import Address, ReplayWindow, now_us
from .producer import Producer

PacketHandler = Callable[[bytes, int, int, bool], None]  # payload, timestamp, sequence, marker


class PipeStream:
    """One producer received over the pipe: where its packets go and what became of them."""

    __slots__ = ("stream_id", "remote", "producer", "forward", "window", "received", "bytes",
                 "keepalives", "dropped_auth", "dropped_replay", "dropped_unknown", "first_index",
                 "heard", "last_at", "transit_ms", "ended")

    def __init__(self, stream_id: int, target: Producer | PacketHandler, remote: Address | None) -> None:
        self.stream_id = stream_id
        self.remote = remote
        self.producer = target if isinstance(target, Producer) else None
        self.forward: PacketHandler = target.forward if isinstance(target, Producer) else target
        self.window = ReplayWindow()
        self.received = 0  # authenticated, fresh datagrams, keepalives included
        self.bytes = 0
        self.keepalives = 0
        self.dropped_auth = 0
        self.dropped_replay = 0
        self.dropped_unknown = 0  # from another address than the pinned sender's
        self.first_index = 0
        self.heard = 0  # ``received`` when housekeeping last looked
        self.last_at = monotonic()  # when housekeeping last saw it move (no clock read per packet)
        self.transit_ms: float | None = None  # sender's clock to ours: exact on one machine
        self.ended = False

    @property
    def lost(self) -> int:
        """Datagrams the sender numbered that never arrived (or arrived too late for the window)."""
        if not self.received:
            return 0
        return self.window.highest - self.first_index + 1 - self.received

    def sample_transit(self, sent_us: int) -> None:
        transit = (now_us() - sent_us) & 0xFFFFFFFF
        ms = (transit - (1 << 32) if transit >= 1 << 31 else transit) / 1000.0
        self.transit_ms = ms if self.transit_ms is None else 0.875 * self.transit_ms + 0.125 * ms

    def stats(self) -> dict[str, Any]:
        return {"received": self.received, "bytes": self.bytes, "keepalives": self.keepalives,
                "lost": self.lost, "dropped_auth": self.dropped_auth,
                "dropped_replay": self.dropped_replay, "dropped_unknown": self.dropped_unknown,
                "transit_ms": self.transit_ms, "ended": self.ended}


__all__ = ["PacketHandler", "PipeStream"]
