"""The audience feed's delays: each stage member's loop latency L_i and D = max L_i."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_EXTRA_MS = 60.0  # jitter buffer + devices, when a member sends no stats
DEFAULT_RTT_MS = 50.0  # until RTCP or the client tells us
MIN_STEP_MS = 40.0
MIN_INTERVAL_MS = 10_000.0
FRAME_MS = 20.0


@dataclass
class MemberLatency:
    """What we know of one stage member's loop: RTT and their client's own figures."""

    rtcp_rtt_ms: float | None = None
    stats: dict[str, float] = field(default_factory=dict)

    def loop_ms(self) -> float:
        """L_i: network both ways, their jitter buffer, output and input latency."""
        rtt = self.rtcp_rtt_ms if self.rtcp_rtt_ms is not None else self.stats.get("rtt_ms")
        rtt = DEFAULT_RTT_MS if rtt is None else rtt
        parts = ("jitter_buffer_ms", "output_latency_ms", "input_latency_ms")
        if not any(p in self.stats for p in parts):
            return rtt + DEFAULT_EXTRA_MS
        return rtt + sum(self.stats.get(p, 0.0) for p in parts)


class AudienceDelay:
    """Chooses D: the largest loop latency on stage, capped, rounded up to the 20 ms frame grid.

    D never sits below the largest loop (a voice whose loop is longer than D
    would reach the audience late by the difference): it rises at once. It
    falls only when the target is more than 40 ms lower, and at most once every
    10 s, so listeners rarely hear a jump.
    """

    def __init__(self, cap_ms: float = 1000.0) -> None:
        self.cap_ms = cap_ms
        self.delay_ms = 0.0
        self._changed_at: float | None = None

    def target(self, loops_ms: list[float]) -> float:
        if not loops_ms:
            return 0.0
        wanted = min(self.cap_ms, max(loops_ms))
        return min(self.cap_ms, FRAME_MS * math.ceil(wanted / FRAME_MS))

    def update(self, loops_ms: list[float], now_ms: float) -> bool:
        """Apply the rules; True when D changed."""
        target = self.target(loops_ms)
        if target == self.delay_ms:
            return False
        if target < self.delay_ms:  # lower: worth a jump only now and then; higher: at once
            if self.delay_ms - target <= MIN_STEP_MS:
                return False
            if self._changed_at is not None and now_ms - self._changed_at < MIN_INTERVAL_MS:
                return False
        self.delay_ms = target
        self._changed_at = now_ms
        return True
