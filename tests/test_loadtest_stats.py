"""The load test's arithmetic: percentiles, loss, real-time coverage (fake clock, no I/O)."""

from __future__ import annotations

import pytest

from loadtest.__main__ import parse_cpu_list
from loadtest.stats import PeerStats, StreamStats, Window, percentile

FRAME = 960  # 20 ms at 48 kHz


def feed(
    stats: StreamStats | PeerStats,
    window: Window,
    count: int,
    *,
    spacing_ms: float = 20.0,
    seq0: int = 0,
    ts0: int = 0,
    skip: set[int] | None = None,
    t0: float = 0.0,
) -> None:
    """``count`` packets, 20 ms of audio each, arriving every ``spacing_ms``."""
    for n in range(count):
        if skip and n in skip:
            continue
        seq, ts = (seq0 + n) & 0xFFFF, (ts0 + n * FRAME) & 0xFFFFFFFF
        if isinstance(stats, PeerStats):
            stats.add(1234, seq, ts, 160, t0 + n * spacing_ms, window)
        else:
            stats.add(seq, ts, 160, t0 + n * spacing_ms, window)


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(range(101), 95) == 95
    assert percentile([10, 0], 0) == 0 and percentile([10, 0], 100) == 10


def test_steady_stream_is_fully_real_time() -> None:
    window = Window(1000.0, 3000.0)
    stream = StreamStats(jitter_ms=200.0)
    feed(stream, window, 200)  # 0..3980 ms
    assert stream.packets == 200 and stream.octets == 200 * 160
    assert stream.w_packets == 100  # 1000 <= t < 3000
    assert stream.lost == 0 and stream.window_expected == 100
    assert stream.frame_ms == pytest.approx(20.0)
    assert stream.realtime(window.length_ms) == pytest.approx(1.0)


def test_gaps_are_loss_and_missing_audio() -> None:
    window = Window(0.0, 2000.0)
    stream = StreamStats(jitter_ms=200.0)
    feed(stream, window, 100, skip={n for n in range(100) if n % 10 == 5})
    assert stream.lost == 10
    assert stream.window_expected - stream.w_packets == 10
    assert stream.realtime(window.length_ms) == pytest.approx(0.9)


def test_a_sender_falling_behind_is_not_real_time_even_without_loss() -> None:
    window = Window(0.0, 10_000.0)
    stream = StreamStats(jitter_ms=200.0)
    feed(stream, window, 400, spacing_ms=25.0)  # 80 % of real time, no gap
    assert stream.lost == 0
    # audio within 200 ms of schedule: the first ~40 packets (1 s of wall time)
    assert stream.realtime(window.length_ms) < 0.1


def test_jitter_within_the_buffer_is_on_time() -> None:
    window = Window(0.0, 2000.0)
    stream = StreamStats(jitter_ms=200.0)
    for n in range(110):  # every 5th packet 150 ms late
        late = 150.0 if n % 5 == 0 else 0.0
        stream.add(n, n * FRAME, 160, n * 20.0 + late, window)
    assert stream.w_on_time == stream.w_packets
    assert stream.realtime(window.length_ms) >= 0.99  # packet 95 lands after the window


def test_sequence_and_timestamp_wrap() -> None:
    window = Window(0.0, 2000.0)
    stream = StreamStats(jitter_ms=100.0)
    feed(stream, window, 100, seq0=65_500, ts0=0xFFFFFFFF - 10 * FRAME)
    assert stream.lost == 0
    assert stream.window_expected == 100
    assert stream.realtime(window.length_ms) == pytest.approx(1.0)


def test_reordered_packet_is_not_loss() -> None:
    window = Window(0.0, 1000.0)
    stream = StreamStats(jitter_ms=100.0)
    for n in (0, 1, 3, 2, 4):
        stream.add(n, n * FRAME, 10, n * 20.0, window)
    assert stream.lost == 0 and stream.window_expected == 5


def test_peer_summary_and_first_packet() -> None:
    window = Window(100.0, 1100.0)
    peer = PeerStats(jitter_ms=200.0)
    assert peer.main_stream() is None
    assert peer.summary(window.length_ms)["realtime"] == 0.0
    feed(peer, window, 60, t0=50.0)
    peer.add(99, 0, 0, 20, 500.0, window)  # a second, sparse stream
    summary = peer.summary(window.length_ms)
    assert peer.first_packet_ms == 50.0
    assert summary["ssrcs"] == 2
    assert summary["packets_total"] == 61
    assert summary["packets"] == 51  # 50 of the main stream + 1
    assert summary["lost"] == 0
    assert summary["realtime"] == pytest.approx(1.0)


def test_unset_window_counts_nothing() -> None:
    window = Window()
    stream = StreamStats(jitter_ms=200.0)
    feed(stream, window, 10)
    assert window.length_ms == 0.0 and stream.w_packets == 0
    assert stream.realtime(window.length_ms) == 0.0


def test_cpu_list() -> None:
    assert parse_cpu_list("1") == [1]
    assert parse_cpu_list("0,2-3") == [0, 2, 3]
