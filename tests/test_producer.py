"""The producer's fan-out: live now, audience through the delay line, pause, removal and close."""

from __future__ import annotations

import asyncio
import time

import pytest

from sfu.producer import Counters, Producer
from tests.helpers import wait_for
from tests.packet_helpers import listener, rtp_sent, sequences, timestamps

FRAME = 960
AUDIENCE_DELAY_MS = 60.0


@pytest.fixture
def counters() -> Counters:
    return Counters()


@pytest.fixture
def producer(counters: Counters) -> Producer:
    return Producer("voice", "alice", counters)


def forward_run(producer: Producer, first_seq: int, count: int, marker_first: bool = False) -> None:
    for i in range(count):
        seq = first_seq + i
        producer.forward(f"frame-{seq}".encode(), seq * FRAME, seq, marker_first and i == 0)


# --- live and audience feeds ----------------------------------------------------------------------


def test_live_consumers_get_each_packet_at_once_with_payload_and_marker(producer: Producer) -> None:
    stage = [listener(ssrc=0x100 + i) for i in range(3)]
    for consumer, _ in stage:
        producer.add_consumer(consumer, live=True)

    forward_run(producer, first_seq=40, count=2, marker_first=True)

    for consumer, socket in stage:
        packets = rtp_sent(socket)
        assert [p.sequence_number for p in packets] == [40, 41]
        assert [p.payload for p in packets] == [b"frame-40", b"frame-41"]
        assert [p.marker for p in packets] == [1, 0]
        assert {p.ssrc for p in packets} == {consumer.ssrc}


def test_without_an_audience_delay_the_audience_gets_each_packet_at_once(producer: Producer) -> None:
    consumer, socket = listener()
    producer.add_consumer(consumer, live=False)

    forward_run(producer, first_seq=1, count=3)

    assert sequences(socket) == [1, 2, 3]
    assert len(producer.delay) == 0


async def test_the_audience_gets_packets_only_after_the_delay_and_in_order(producer: Producer) -> None:
    stage, stage_socket = listener(ssrc=0x100)
    audience, audience_socket = listener(ssrc=0x200)
    producer.add_consumer(stage, live=True)
    producer.add_consumer(audience, live=False)
    producer.delay.set_delay(AUDIENCE_DELAY_MS)

    forwarded_at: list[float] = []
    for seq in range(1, 6):
        forwarded_at.append(time.monotonic())
        forward_run(producer, first_seq=seq, count=1)
        assert len(stage_socket.sent) == seq, "the stage does not wait"
        assert len(audience_socket.sent) < seq, "the audience does"
        await asyncio.sleep(0.004)

    assert sequences(stage_socket) == [1, 2, 3, 4, 5]
    await wait_for(lambda: len(audience_socket.sent) == 5)

    assert sequences(audience_socket) == [1, 2, 3, 4, 5]
    assert timestamps(audience_socket) == [seq * FRAME for seq in range(1, 6)]
    assert [p.payload for p in rtp_sent(audience_socket)] == [f"frame-{seq}".encode() for seq in range(1, 6)]
    held = [sent - forwarded for sent, forwarded in zip(audience_socket.sent_at, forwarded_at, strict=True)]
    assert all(h >= AUDIENCE_DELAY_MS / 1000.0 - 0.001 for h in held), held
    assert all(s - f < 0.01 for s, f in zip(stage_socket.sent_at, forwarded_at, strict=True))


async def test_a_shorter_audience_delay_keeps_the_audience_numbering_continuous(producer: Producer) -> None:
    consumer, socket = listener()
    producer.add_consumer(consumer, live=False)
    forward_run(producer, first_seq=1, count=1)  # no delay yet: out at once
    producer.delay.set_delay(AUDIENCE_DELAY_MS)
    forward_run(producer, first_seq=2, count=2)  # held

    producer.delay.set_delay(0.0)  # what was held is dropped: the listener jumps ahead
    forward_run(producer, first_seq=4, count=2)

    assert sequences(socket) == [1, 2, 3], "no gap where 2 and 3 were dropped"
    assert timestamps(socket)[1] - timestamps(socket)[0] >= FRAME


# --- pause ----------------------------------------------------------------------------------------


def test_a_paused_producer_forwards_nothing_and_unpausing_resumes(
    producer: Producer, counters: Counters
) -> None:
    stage, stage_socket = listener(ssrc=0x100)
    audience, audience_socket = listener(ssrc=0x200)
    producer.add_consumer(stage, live=True)
    producer.add_consumer(audience, live=False)
    forward_run(producer, first_seq=1, count=1)

    producer.paused = True
    forward_run(producer, first_seq=2, count=3)
    assert sequences(stage_socket) == [1]
    assert sequences(audience_socket) == [1]
    assert counters.forwarded_packets == 2

    producer.paused = False
    forward_run(producer, first_seq=5, count=1)
    assert sequences(stage_socket) == [1, 5]
    assert sequences(audience_socket) == [1, 5]
    assert counters.forwarded_packets == 4


def test_a_paused_producer_queues_nothing_for_the_audience(producer: Producer) -> None:
    consumer, socket = listener()
    producer.add_consumer(consumer, live=False)
    producer.delay.set_delay(AUDIENCE_DELAY_MS)
    producer.paused = True

    forward_run(producer, first_seq=1, count=3)

    assert len(producer.delay) == 0
    assert socket.sent == []


# --- consumers coming and going -------------------------------------------------------------------


def test_a_removed_consumer_gets_no_more_packets_and_the_others_still_do(producer: Producer) -> None:
    kept, kept_socket = listener(ssrc=0x100)
    live, live_socket = listener(ssrc=0x200)
    audience, audience_socket = listener(ssrc=0x300)
    producer.add_consumer(kept, live=True)
    producer.add_consumer(live, live=True)
    producer.add_consumer(audience, live=False)
    forward_run(producer, first_seq=1, count=1)

    producer.remove_consumer(live)
    producer.remove_consumer(audience)
    forward_run(producer, first_seq=2, count=2)

    assert producer.consumers == (kept,)
    assert sequences(kept_socket) == [1, 2, 3]
    assert sequences(live_socket) == [1]
    assert sequences(audience_socket) == [1]


def test_a_consumer_added_twice_is_on_one_feed_only_and_gets_each_packet_once(producer: Producer) -> None:
    consumer, socket = listener()
    producer.add_consumer(consumer, live=True)
    producer.add_consumer(consumer, live=False)  # moved to the audience

    forward_run(producer, first_seq=1, count=2)

    assert producer.consumers == (consumer,)
    assert sequences(socket) == [1, 2]


def test_a_consumer_moved_to_another_producer_continues_its_numbering(counters: Counters) -> None:
    first = Producer("voice", "alice", counters)
    second = Producer("voice", "bob", counters)
    consumer, socket = listener()
    first.add_consumer(consumer)
    forward_run(first, first_seq=10, count=3)

    first.remove_consumer(consumer)
    second.add_consumer(consumer)
    second.forward(b"bob", 5_000_000, 40_000)

    assert sequences(socket) == [10, 11, 12, 13]
    assert timestamps(socket)[-1] - timestamps(socket)[-2] >= FRAME


def test_a_listener_whose_transport_closed_does_not_stop_the_fan_out(
    producer: Producer, counters: Counters
) -> None:
    gone, gone_socket = listener(ssrc=0x100)
    other, other_socket = listener(ssrc=0x200)
    producer.add_consumer(gone, live=True)  # first in the loop
    producer.add_consumer(other, live=True)
    gone_socket.error = OSError("transport closed")

    forward_run(producer, first_seq=1, count=3)

    assert sequences(other_socket) == [1, 2, 3]
    assert gone_socket.attempts == 1, "tried once, then left alone"
    assert counters.forwarded_packets == 3, "only the packets that left are counted"


# --- close ----------------------------------------------------------------------------------------


def test_closing_the_producer_clears_its_consumers_and_forwards_nothing_more(producer: Producer) -> None:
    stage, stage_socket = listener(ssrc=0x100)
    audience, audience_socket = listener(ssrc=0x200)
    producer.add_consumer(stage, live=True)
    producer.add_consumer(audience, live=False)
    closed: list[bool] = []
    producer.on("close", lambda: closed.append(True))

    producer.close()
    producer.close()
    forward_run(producer, first_seq=1, count=2)

    assert producer.consumers == ()
    assert closed == [True], "one close event"
    assert stage_socket.sent == [] and audience_socket.sent == []
    assert stage.send(b"x", 0, 1, False, 10.0), "the consumers themselves stay usable: a subscriber owns them"


async def test_closing_drops_what_the_audience_delay_still_held(producer: Producer) -> None:
    consumer, socket = listener()
    producer.add_consumer(consumer, live=False)
    producer.delay.set_delay(AUDIENCE_DELAY_MS)
    forward_run(producer, first_seq=1, count=3)
    assert len(producer.delay) == 3

    producer.close()
    assert len(producer.delay) == 0, "dropped at once, not left to drain"
    await asyncio.sleep(2 * AUDIENCE_DELAY_MS / 1000.0)

    assert socket.sent == []
