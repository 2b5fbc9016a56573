"""The consumer's rewrite of each packet, read back from the bytes it put on a fake wire."""

from __future__ import annotations

import pytest

from sfu import consumer as consumer_module
from sfu.consumer import Consumer
from tests.packet_helpers import (
    CONSUMER_PT,
    CONSUMER_SSRC,
    OTHER_PT,
    PEER_ADDR,
    FakeTime,
    listener,
    lsr_of,
    rtp_sent,
    sdes_chunks,
    sender_reports,
    sequences,
    timestamps,
)

FRAME = 960  # 20 ms at 48 kHz
TS_WRAP = 1 << 32


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """The consumer's reads of ``time.monotonic()`` and ``ntp_now()``, under the test's control."""
    fake = FakeTime(now=100.0)
    monkeypatch.setattr(consumer_module, "time", fake)
    monkeypatch.setattr(consumer_module, "ntp_now", fake.ntp_now)
    return fake


def send_run(consumer: Consumer, first_seq: int, first_ts: int, count: int, now: float = 10.0) -> None:
    """``count`` consecutive 20 ms frames from one source, all at ``now``."""
    for i in range(count):
        consumer.send(b"opus", (first_ts + i * FRAME) % TS_WRAP, (first_seq + i) & 0xFFFF, False, now)


# --- the header -----------------------------------------------------------------------------------


def test_the_header_carries_the_consumers_own_ssrc_and_payload_type_and_the_payload_untouched() -> None:
    consumer, socket = listener()

    assert consumer.send(b"\xfc\x01\x02opus-frame", 48_000, 7, False, 10.0)

    ((data, addr),) = socket.sent
    assert addr == PEER_ADDR
    (packet,) = rtp_sent(socket)
    assert packet.version == 2
    assert packet.ssrc == CONSUMER_SSRC
    assert packet.payload_type == CONSUMER_PT
    assert packet.payload == b"\xfc\x01\x02opus-frame"
    assert len(data) == 12 + len(b"\xfc\x01\x02opus-frame"), "a bare 12-byte header: no CSRC, no extension"


def test_two_consumers_of_one_packet_each_stamp_their_own_ssrc_and_payload_type() -> None:
    first, first_socket = listener(ssrc=0xAAAA_0001, payload_type=CONSUMER_PT)
    second, second_socket = listener(ssrc=0xBBBB_0002, payload_type=OTHER_PT)

    for consumer in (first, second):
        consumer.send(b"opus", 960, 1, False, 10.0)

    (a,) = rtp_sent(first_socket)
    (b,) = rtp_sent(second_socket)
    assert (a.ssrc, a.payload_type) == (0xAAAA_0001, CONSUMER_PT)
    assert (b.ssrc, b.payload_type) == (0xBBBB_0002, OTHER_PT)


def test_the_marker_bit_is_carried_through_without_touching_the_payload_type() -> None:
    consumer, socket = listener()

    for seq, marker in enumerate([True, False, False, True]):
        consumer.send(b"opus", seq * FRAME, seq, marker, 10.0)

    packets = rtp_sent(socket)
    assert [p.marker for p in packets] == [1, 0, 0, 1]
    assert {p.payload_type for p in packets} == {CONSUMER_PT}


# --- sequence numbers and timestamps --------------------------------------------------------------


def test_packets_from_one_source_keep_its_numbering_and_spacing_gaps_included() -> None:
    consumer, socket = listener()

    for seq, ts in [(100, 48_000), (101, 48_960), (103, 50_880), (104, 51_840)]:  # 102 lost upstream
        consumer.send(b"opus", ts, seq, False, 10.0)

    assert sequences(socket) == [100, 101, 103, 104]
    assert timestamps(socket) == [48_000, 48_960, 50_880, 51_840]


def test_after_a_rebase_the_sequence_goes_on_by_one_and_the_timestamp_by_the_time_elapsed() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=100, first_ts=1_000, count=3, now=10.0)  # ends at seq 102, ts 2_920

    consumer.rebase()
    consumer.send(b"opus", 7_000_000, 5_000, False, 10.125)  # another source, 125 ms later
    consumer.send(b"opus", 7_000_000 + FRAME, 5_001, False, 10.145)

    assert sequences(socket) == [100, 101, 102, 103, 104]
    assert timestamps(socket) == [1_000, 1_960, 2_920, 2_920 + 6_000, 2_920 + 6_000 + FRAME]


def test_a_rebase_right_after_a_packet_still_advances_the_timestamp_by_one_frame() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=10, first_ts=0, count=1, now=10.0)

    consumer.rebase()
    consumer.send(b"opus", 123_456, 999, False, 10.0)  # no time has passed

    assert sequences(socket) == [10, 11]
    assert timestamps(socket) == [0, FRAME], "never the same timestamp twice: at least 20 ms on"


def test_the_sequence_wraps_from_65535_to_0_when_the_rewrite_crosses_it() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=65_533, first_ts=0, count=1)

    consumer.rebase()
    send_run(consumer, first_seq=7, first_ts=0, count=4)

    assert sequences(socket) == [65_533, 65_534, 65_535, 0, 1]


def test_the_sequence_wraps_from_65535_to_0_when_the_source_crosses_it() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=10, first_ts=0, count=1)

    consumer.rebase()
    send_run(consumer, first_seq=65_534, first_ts=0, count=4)  # the source goes 65534, 65535, 0, 1

    assert sequences(socket) == [10, 11, 12, 13, 14]


def test_the_timestamp_wraps_at_32_bits_when_the_rewrite_crosses_it() -> None:
    consumer, socket = listener()
    consumer.send(b"opus", TS_WRAP - FRAME, 1, False, 10.0)

    consumer.rebase()
    send_run(consumer, first_seq=50, first_ts=500, count=2, now=10.0)

    assert timestamps(socket) == [TS_WRAP - FRAME, 0, FRAME]


def test_the_timestamp_wraps_at_32_bits_when_the_source_crosses_it() -> None:
    consumer, socket = listener()
    consumer.send(b"opus", 5, 1, False, 10.0)

    consumer.rebase()
    send_run(consumer, first_seq=50, first_ts=TS_WRAP - FRAME, count=3, now=10.0)  # source: -960, 0, 960

    assert timestamps(socket) == [5, 5 + FRAME, 5 + 2 * FRAME, 5 + 3 * FRAME]


# --- a transport that goes away -------------------------------------------------------------------


def test_a_transport_that_raises_closes_the_consumer_instead_of_raising_and_nothing_more_is_sent() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=1, first_ts=0, count=2)
    socket.error = OSError("transport closed")

    assert consumer.send(b"opus", 2 * FRAME, 3, False, 10.0) is False
    assert consumer.send(b"opus", 3 * FRAME, 4, False, 10.0) is False
    consumer.sender_report()

    assert socket.attempts == 3, "one failed attempt, then the consumer stops trying"
    assert consumer.packets == 2, "a packet that did not leave is not counted"
    assert sequences(socket) == [1, 2]


def test_a_closed_consumer_sends_neither_rtp_nor_sender_reports() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=1, first_ts=0, count=2)

    consumer.close()

    assert consumer.send(b"opus", 2 * FRAME, 3, False, 10.0) is False
    consumer.sender_report()
    assert len(socket.sent) == 2
    assert socket.attempts == 2


def test_a_sender_report_on_a_closed_transport_closes_the_consumer_without_raising() -> None:
    consumer, socket = listener()
    send_run(consumer, first_seq=1, first_ts=0, count=1)
    socket.error = OSError("transport closed")

    consumer.sender_report()

    assert consumer.send(b"opus", FRAME, 2, False, 10.0) is False
    assert socket.attempts == 2, "the first packet and the failed report, nothing after"


# --- RTCP sender reports --------------------------------------------------------------------------


def test_the_sender_report_counts_the_packets_and_payload_octets_that_were_sent() -> None:
    consumer, socket = listener(cname="listener-7")
    payloads = [b"a" * 40, b"b" * 73, b"c" * 1, b"d" * 120]
    for seq, payload in enumerate(payloads):
        consumer.send(payload, seq * FRAME, seq, False, 10.0)

    consumer.sender_report()

    (report,) = sender_reports(socket)
    assert report.ssrc == CONSUMER_SSRC
    assert report.sender_info.packet_count == 4
    assert report.sender_info.octet_count == 40 + 73 + 1 + 120, "payload octets only, headers excluded"
    (sdes,) = sdes_chunks(socket)
    assert [(c.ssrc, c.items) for c in sdes.chunks] == [(CONSUMER_SSRC, [(1, b"listener-7")])]


def test_the_sender_report_maps_its_ntp_time_onto_the_consumers_rtp_clock(clock: FakeTime) -> None:
    consumer, socket = listener()
    consumer.send(b"opus", 48_000, 1, False, clock.now)

    clock.now += 0.5
    consumer.sender_report()

    (report,) = sender_reports(socket)
    assert report.sender_info.ntp_timestamp == clock.ntp_now()
    assert report.sender_info.rtp_timestamp == 48_000 + 24_000, "the last timestamp plus 500 ms of samples"


def test_no_sender_report_goes_out_before_the_first_packet() -> None:
    consumer, socket = listener()

    consumer.sender_report()

    assert socket.sent == []


# --- round-trip time from receiver reports --------------------------------------------------------


def test_rtt_comes_from_a_receiver_report_echoing_our_sender_report_minus_its_delay(clock: FakeTime) -> None:
    consumer, socket = listener()
    consumer.send(b"opus", 0, 1, False, clock.now)
    consumer.sender_report()
    (report,) = sender_reports(socket)
    assert consumer.rtt_ms is None

    clock.now += 0.5
    consumer.receiver_report(lsr_of(report), dlsr=65_536 // 4)  # the receiver held it 250 ms

    assert consumer.rtt_ms == pytest.approx(250.0)


def test_later_rtt_samples_are_smoothed_four_fifths_old_one_fifth_new(clock: FakeTime) -> None:
    consumer, socket = listener()
    consumer.send(b"opus", 0, 1, False, clock.now)
    samples = [(0.25, 250.0), (0.125, 0.8 * 250.0 + 0.2 * 125.0), (0.5, 0.8 * 225.0 + 0.2 * 500.0)]
    for rtt_s, expected_ms in samples:
        clock.now += 1.0
        consumer.sender_report()
        clock.now += rtt_s + 0.0625
        consumer.receiver_report(lsr_of(sender_reports(socket)[-1]), dlsr=65_536 // 16)  # 62.5 ms held

        assert consumer.rtt_ms == pytest.approx(expected_ms)


def test_a_receiver_report_before_any_sender_report_is_ignored(clock: FakeTime) -> None:
    consumer, _ = listener()
    consumer.send(b"opus", 0, 1, False, clock.now)

    consumer.receiver_report(0, dlsr=0)  # LSR 0: "no SR received yet"

    assert consumer.rtt_ms is None


def test_receiver_reports_that_do_not_echo_our_latest_sender_report_are_ignored(clock: FakeTime) -> None:
    consumer, socket = listener()
    consumer.send(b"opus", 0, 1, False, clock.now)
    consumer.sender_report()
    older = lsr_of(sender_reports(socket)[-1])
    clock.now += 1.0
    consumer.sender_report()
    latest = lsr_of(sender_reports(socket)[-1])
    assert older != latest
    clock.now += 0.25

    consumer.receiver_report(0, dlsr=0)  # "no SR received yet"
    consumer.receiver_report(older, dlsr=0)  # about an older SR
    consumer.receiver_report(latest, dlsr=65_536)  # claims a 1 s hold: a negative RTT
    assert consumer.rtt_ms is None

    consumer.receiver_report(latest, dlsr=0)
    assert consumer.rtt_ms == pytest.approx(250.0)
