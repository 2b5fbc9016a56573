"""The audience delay D and the delay line, with a fake clock where it matters."""

from __future__ import annotations

import asyncio
import time

from sfu.delay import DelayLine
from sfu.feeds import AudienceDelay, MemberLatency


def test_loop_latency_adds_the_members_figures_or_60_ms_without_them() -> None:
    assert MemberLatency(rtcp_rtt_ms=30.0).loop_ms() == 90.0
    member = MemberLatency(rtcp_rtt_ms=30.0, stats={"jitter_buffer_ms": 45.0, "output_latency_ms": 20.0})
    assert member.loop_ms() == 95.0
    assert MemberLatency(stats={"rtt_ms": 12.0, "input_latency_ms": 10.0}).loop_ms() == 22.0


def test_d_is_the_largest_loop_capped_on_the_frame_grid() -> None:
    delay = AudienceDelay(cap_ms=1000.0)
    assert delay.update([90.0, 151.0], now_ms=0.0)
    assert delay.delay_ms == 160.0
    assert AudienceDelay(cap_ms=1000.0).target([5000.0]) == 1000.0


def test_d_rises_at_once_and_never_sits_below_the_longest_loop() -> None:
    delay = AudienceDelay()
    delay.update([100.0], now_ms=0.0)
    assert delay.update([135.0], now_ms=1_000.0), "a loop longer than D: D follows at once"
    assert delay.delay_ms == 140.0
    assert delay.update([301.0], now_ms=1_500.0)
    assert delay.delay_ms == 320.0, "rounded up to the frame grid, never down"


def test_d_falls_only_by_more_than_40_ms_and_at_most_every_10_s() -> None:
    delay = AudienceDelay()
    delay.update([300.0], now_ms=0.0)
    assert not delay.update([265.0], now_ms=20_000.0), "35 ms lower is not worth a jump"
    assert not delay.update([100.0], now_ms=5_000.0), "too soon after the last change"
    assert delay.update([100.0], now_ms=10_500.0)
    assert delay.delay_ms == 100.0


async def test_the_delay_line_releases_in_order_after_the_delay() -> None:
    pushed: dict[int, float] = {}
    released: list[tuple[int, float]] = []
    jumps: list[bool] = []
    line = DelayLine(lambda p, ts, seq, m, now: released.append((seq, now)), lambda: jumps.append(True))
    line.set_delay(100.0)
    for seq in range(5):
        pushed[seq] = time.monotonic()
        line.push((b"x", seq * 960, seq, False), pushed[seq])
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert [seq for seq, _ in released] == [0, 1, 2, 3, 4]
    assert all(0.099 <= at - pushed[seq] < 0.150 for seq, at in released)
    line.set_delay(0.0)
    line.push((b"y", 0, 99, False), time.monotonic())
    assert released[-1][0] == 99, "no delay: straight through"
    assert len(jumps) == 2
    line.close()
