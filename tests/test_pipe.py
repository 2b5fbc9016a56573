"""The RTP pipe between workers: two real endpoints on 127.0.0.1 and 127.0.0.2, real UDP.

Side A plays the origin worker (its producers get a ``PipeSink``), side B the
worker with listeners (a local producer bound to the stream, fanning out to a
consumer on a fake wire). Bad datagrams are sent from real sockets, some from
a stranger's address (127.0.0.3).
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from sfu.pipe import PipeEndpoint
from sfu.pipe_wire import MIN_DATAGRAM, ReplayWindow, Sealer, new_key
from sfu.producer import Counters, Producer
from tests.helpers import wait_for
from tests.packet_helpers import listener, rtp_sent

KEY = new_key()
FRAME = 960
Packet = tuple[bytes, int, int, bool]


@pytest.fixture
async def loop_errors() -> list[dict[str, Any]]:
    """Everything that reached the test's event loop's exception handler: must stay empty."""
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: errors.append(context))
    return errors


@pytest.fixture
async def side_a() -> AsyncIterator[PipeEndpoint]:
    endpoint = PipeEndpoint(KEY, stale_after=0.4, keepalive_every=0.1)
    await endpoint.start("127.0.0.1", 0)
    yield endpoint
    await endpoint.close()


@pytest.fixture
async def side_b() -> AsyncIterator[PipeEndpoint]:
    endpoint = PipeEndpoint(KEY, stale_after=0.4, keepalive_every=0.1)
    await endpoint.start("127.0.0.2", 0)  # "another machine"
    yield endpoint
    await endpoint.close()


@pytest.fixture
def stranger() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.3", 0))
    yield sock
    sock.close()


def frames(count: int, first_seq: int = 100, first_ts: int = 48_000) -> list[Packet]:
    """Opus-like payloads of varied sizes and bytes, markers now and then."""
    return [(os.urandom(20 + (i * 37) % 180), (first_ts + i * FRAME) & 0xFFFFFFFF,
             (first_seq + i) & 0xFFFF, i % 25 == 0) for i in range(count)]


def piped(a: PipeEndpoint, b: PipeEndpoint) -> tuple[Producer, list[Packet], int]:
    """A producer on A whose stream B hands to a list; returns (source, received, stream id)."""
    source = Producer("voice", "alice", Counters())
    received: list[Packet] = []
    stream_id = b.new_stream_id()
    b.bind(stream_id, lambda *packet: received.append(packet))
    a.add_sink(source, b.address, stream_id)
    return source, received, stream_id


def sealed(stream_id: int, payload: bytes = b"opus", key: bytes = KEY, index: int = 1) -> bytes:
    """One datagram as an endpoint with ``key`` would send it."""
    return Sealer(key, sender_id=7).seal(0, 127, stream_id, index, 960, 1, payload)


# --- the good path --------------------------------------------------------------------------------


async def test_packets_forwarded_on_a_arrive_at_bs_producer_byte_identical_in_order_and_fan_out(
    side_a: PipeEndpoint, side_b: PipeEndpoint, loop_errors: list[dict[str, Any]]
) -> None:
    source = Producer("music", "music", Counters())
    remote = Producer("music", "music", Counters())
    consumer, wire = listener()
    remote.add_consumer(consumer, live=True)
    stream_id = side_b.new_stream_id()
    side_b.bind(stream_id, remote, remote=side_a.address)
    side_a.add_sink(source, side_b.address, stream_id)
    sent = frames(300)

    for i, packet in enumerate(sent):
        source.forward(*packet)
        if i % 10 == 9:
            await asyncio.sleep(0.002)  # paced a little, as a room's clock would
    await wait_for(lambda: len(wire.sent) == len(sent))

    out = rtp_sent(wire)
    assert [p.payload for p in out] == [p[0] for p in sent]
    assert [p.timestamp for p in out] == [p[1] for p in sent]
    assert [p.sequence_number for p in out] == [p[2] for p in sent]
    assert [bool(p.marker) for p in out] == [p[3] for p in sent]
    stats = side_b.streams[stream_id].stats()
    assert stats["received"] == 300 and stats["lost"] == 0 and stats["dropped_auth"] == 0
    assert 0 <= stats["transit_ms"] < 1000, "one machine: the send time is comparable"
    assert side_a.counters.sent == 300 and side_b.counters.received == 300
    assert loop_errors == []


async def test_the_sequence_wrap_at_0xffff_passes_the_replay_window(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    source, received, stream_id = piped(side_a, side_b)
    sent = frames(12, first_seq=0xFFFA, first_ts=0xFFFFFFFF - 5 * FRAME)

    for packet in sent:
        source.forward(*packet)
    await wait_for(lambda: len(received) == 12)

    assert received == sent
    assert [p[2] for p in received][5:8] == [0xFFFF, 0, 1]
    assert side_b.streams[stream_id].dropped_replay == 0


async def test_the_producers_audio_level_reaches_the_remote_producer(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    source = Producer("voice", "bob", Counters())
    remote = Producer("voice", "bob", Counters())
    stream_id = side_b.new_stream_id()
    side_b.bind(stream_id, remote)
    side_a.add_sink(source, side_b.address, stream_id)
    source.audio_level, source.audio_level_at = 30, time.monotonic() * 1000.0

    source.forward(b"loud", 960, 1)
    # polled finely: 300 ms on, the sink's keepalive says "no fresh level" (127) again
    await wait_for(lambda: remote.audio_level == 30, step=0.002)

    assert remote.talking(time.monotonic() * 1000.0)
    source.audio_level_at -= 1000.0  # an old level says nothing: not sent
    remote.audio_level = 127
    source.forward(b"quiet", 1920, 2)
    await wait_for(lambda: side_b.counters.received == 2)
    assert remote.audio_level == 127


async def test_one_producer_piped_to_two_workers_reaches_both(side_a: PipeEndpoint) -> None:
    others = [PipeEndpoint(KEY), PipeEndpoint(KEY)]
    for i, other in enumerate(others):
        await other.start(f"127.0.0.{2 + i}", 0)
    source = Producer("music", "music", Counters())
    got: list[list[Packet]] = [[], []]
    for other, inbox in zip(others, got, strict=True):
        stream_id = other.new_stream_id()
        other.bind(stream_id, lambda *packet, inbox=inbox: inbox.append(packet))
        side_a.add_sink(source, other.address, stream_id)

    sent = frames(50)
    for packet in sent:
        source.forward(*packet)
    await wait_for(lambda: all(len(inbox) == 50 for inbox in got))

    assert got == [sent, sent]
    for other in others:
        await other.close()


# --- what is dropped ------------------------------------------------------------------------------


async def test_bad_datagrams_are_dropped_and_counted_and_the_stream_goes_on(
    side_a: PipeEndpoint, side_b: PipeEndpoint, stranger: socket.socket, loop_errors: list[dict[str, Any]]
) -> None:
    source, received, stream_id = piped(side_a, side_b)
    good = sealed(stream_id)
    unknown_stream = sealed(stream_id ^ 0x5A5A5A5A)
    junk = b"\x80" + os.urandom(299)  # looks like RTP, is not ours
    wrong_key = sealed(stream_id, key=new_key())
    ours_over_junk = b"\x4f\x01" + os.urandom(60)
    bad = [b"", good[:MIN_DATAGRAM - 1], junk, ours_over_junk, unknown_stream, good[:-1], wrong_key]
    for data in bad:
        stranger.sendto(data, side_b.address)
    c = side_b.counters
    await wait_for(lambda: c.dropped_malformed + c.dropped_unknown + c.dropped_auth == len(bad))

    source.forward(b"still-here", 960, 1)
    await wait_for(lambda: len(received) == 1)

    assert received == [(b"still-here", 960, 1, False)]
    assert c.dropped_malformed == 3, "empty, shorter than a keepalive, random junk"
    assert c.dropped_unknown == 2, "our header over random bytes; a stream nobody bound"
    assert c.dropped_auth == 2, "one byte short of its tag; sealed with another key"
    assert side_b.streams[stream_id].dropped_auth == c.dropped_auth
    assert loop_errors == []


async def test_every_single_flipped_bit_of_a_datagram_is_caught(side_b: PipeEndpoint) -> None:
    received: list[Packet] = []
    stream_id = side_b.new_stream_id()
    side_b.bind(stream_id, lambda *packet: received.append(packet))
    good = sealed(stream_id, payload=b"x" * 40)

    for position in range(len(good)):
        for bit in (0x01, 0x80):
            side_b.receive(good[:position] + bytes([good[position] ^ bit]) + good[position + 1 :],
                           ("127.0.0.1", 4000))

    c = side_b.counters
    assert received == []
    assert c.dropped_malformed + c.dropped_unknown + c.dropped_auth == 2 * len(good)
    assert c.dropped_malformed == 4, "magic and version"
    assert c.dropped_unknown == 8, "the stream id: no such stream"
    side_b.receive(good, ("127.0.0.1", 4000))
    assert received == [(b"x" * 40, 960, 1, False)], "the untouched datagram still passes"


async def test_a_replayed_datagram_is_dropped_and_an_old_one_behind_the_window_too(
    side_b: PipeEndpoint,
) -> None:
    received: list[Packet] = []
    stream_id = side_b.new_stream_id()
    stream = side_b.bind(stream_id, lambda *packet: received.append(packet))
    sealer = Sealer(KEY, sender_id=9)
    datagrams = [sealer.seal(0, 127, stream_id, index, index * FRAME, index, b"p%d" % index)
                 for index in range(1, 201)]
    addr = ("127.0.0.1", 5000)

    for index in [1, 2, 4, 3, 3, 2, 200, 150, 150, 73, 72, 5]:  # late, duplicated, too old
        side_b.receive(datagrams[index - 1], addr)

    assert [p[0] for p in received] == [b"p1", b"p2", b"p4", b"p3", b"p200", b"p150", b"p73"]
    assert stream.dropped_replay == 5, "3 and 2 again, 150 again, 72 and 5 behind the 128-wide window"
    assert stream.lost == 200 - 7


async def test_a_pinned_stream_drops_datagrams_from_any_other_address(
    side_a: PipeEndpoint, side_b: PipeEndpoint, stranger: socket.socket
) -> None:
    received: list[Packet] = []
    stream_id = side_b.new_stream_id()
    side_b.bind(stream_id, lambda *packet: received.append(packet), remote=side_a.address)

    stranger.sendto(sealed(stream_id), side_b.address)  # right key, wrong sender
    await wait_for(lambda: side_b.counters.dropped_unknown == 1)
    side_b.receive(sealed(stream_id, index=2), side_a.address)

    assert side_b.streams[stream_id].dropped_unknown == 1
    assert [p[0] for p in received] == [b"opus"]


async def test_binding_a_stream_id_twice_is_refused(side_b: PipeEndpoint) -> None:
    stream_id = side_b.new_stream_id()
    side_b.bind(stream_id, lambda *packet: None)
    with pytest.raises(ValueError):
        side_b.bind(stream_id, lambda *packet: None)


async def test_a_second_sink_for_the_same_stream_and_address_is_refused(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    source, _, stream_id = piped(side_a, side_b)
    with pytest.raises(ValueError):
        side_a.add_sink(source, side_b.address, stream_id)
    assert len(side_a.sinks) == 1 and len(source.consumers) == 1


# --- streams that stop ----------------------------------------------------------------------------


async def test_a_removed_sink_says_bye_and_the_receiver_emits_stream_stopped(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    stopped: list[tuple[int, str]] = []
    side_b.on("stream_stopped", lambda stream_id, reason: stopped.append((stream_id, reason)))
    source, received, stream_id = piped(side_a, side_b)
    source.forward(b"a", 0, 1)
    (sink,) = side_a.sinks

    side_a.remove_sink(sink)
    await wait_for(lambda: stopped != [])

    assert stopped == [(stream_id, "bye")]
    assert side_a.sinks == set() and source.consumers == ()
    source.forward(b"b", 960, 2)
    await asyncio.sleep(0.05)
    assert [p[0] for p in received] == [b"a"]


async def test_a_closing_source_producer_takes_its_sinks_with_it(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    stopped: list[tuple[int, str]] = []
    side_b.on("stream_stopped", lambda stream_id, reason: stopped.append((stream_id, reason)))
    source, _, stream_id = piped(side_a, side_b)

    source.close()
    await wait_for(lambda: stopped != [])

    assert stopped == [(stream_id, "bye")] and side_a.sinks == set()


async def test_a_sender_gone_without_a_word_is_noticed_after_stale_after(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    stopped: list[tuple[int, str, float]] = []
    side_b.on("stream_stopped", lambda sid, reason: stopped.append((sid, reason, time.monotonic())))
    source, received, stream_id = piped(side_a, side_b)
    source.forward(b"last words", 0, 1)
    await wait_for(lambda: received != [])
    gone_at = time.monotonic()

    assert side_a.transport is not None
    side_a.transport.abort()  # the worker died: no bye, no keepalives
    await wait_for(lambda: stopped != [], timeout=2.0)

    ((sid, reason, at),) = stopped
    assert (sid, reason) == (stream_id, "timeout")
    assert at - side_b.streams[stream_id].last_at > 0.4, "not before stale_after of silence"
    assert at - gone_at < 0.4 + 0.5, "and soon after: the check runs every stale_after / 4"


async def test_a_quiet_source_keeps_its_stream_alive_with_keepalives(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    stopped: list[tuple[int, str]] = []
    side_b.on("stream_stopped", lambda stream_id, reason: stopped.append((stream_id, reason)))
    source, received, stream_id = piped(side_a, side_b)
    source.paused = True  # nobody talking: no packets at all for 3 x stale_after

    await asyncio.sleep(1.2)

    assert stopped == [] and received == []
    assert side_b.streams[stream_id].keepalives >= 5
    assert side_b.streams[stream_id].lost == 0


async def test_a_closing_bound_producer_unbinds_its_stream(side_b: PipeEndpoint) -> None:
    remote = Producer("voice", "carol", Counters())
    stream_id = side_b.new_stream_id()
    side_b.bind(stream_id, remote)

    remote.close()

    assert stream_id not in side_b.streams
    side_b.receive(sealed(stream_id), ("127.0.0.1", 4000))
    assert side_b.counters.dropped_unknown == 1


async def test_a_sender_endpoint_closing_says_bye_on_every_stream(side_b: PipeEndpoint) -> None:
    stopped: list[tuple[int, str]] = []
    side_b.on("stream_stopped", lambda stream_id, reason: stopped.append((stream_id, reason)))
    leaving = PipeEndpoint(KEY)
    await leaving.start("127.0.0.1", 0)
    ids = {piped(leaving, side_b)[2] for _ in range(3)}

    await leaving.close()  # a worker draining on SIGTERM
    await wait_for(lambda: len(stopped) == 3)

    assert set(stopped) == {(stream_id, "bye") for stream_id in ids}


async def test_a_failing_listener_or_handler_neither_raises_nor_stops_the_checks(
    side_a: PipeEndpoint, side_b: PipeEndpoint, loop_errors: list[dict[str, Any]]
) -> None:
    stopped: list[int] = []

    def failing_listener(stream_id: int, reason: str) -> None:
        stopped.append(stream_id)
        raise RuntimeError("the signaling layer had a bad day")

    def failing_handler(*_packet: Any) -> None:
        raise RuntimeError("so did this one")

    side_b.on("stream_stopped", failing_listener)
    quiet, noisy = side_b.new_stream_id(), side_b.new_stream_id()
    side_b.bind(quiet, lambda *packet: None)
    side_b.bind(noisy, failing_handler)
    sink = side_a.add_sink(Producer("voice", "dave", Counters()), side_b.address, noisy)
    sink.send(b"x", 0, 1, False, 0.0)
    await wait_for(lambda: side_b.counters.forward_errors == 1)

    assert side_a.transport is not None
    side_a.transport.abort()  # no bye: both streams go silent
    await wait_for(lambda: len(stopped) == 2, timeout=2.0)

    assert set(stopped) == {quiet, noisy}, "the second stream still timed out after the first failed"
    assert loop_errors == []


async def test_timed_endpoints_report_the_cpu_per_packet_and_untimed_ones_do_not(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    timed_a, timed_b = PipeEndpoint(KEY, timing=True), PipeEndpoint(KEY, timing=True)
    await timed_a.start("127.0.0.1", 0)
    await timed_b.start("127.0.0.2", 0)
    for a, b in ((timed_a, timed_b), (side_a, side_b)):
        source, received, stream_id = piped(a, b)
        for packet in frames(64):
            source.forward(*packet)
        await wait_for(lambda received=received: len(received) == 64)

    timed, untimed = timed_a.stats(), side_a.stats()
    assert 0 < timed["tx_us_per_packet"] < 1000 and 0 < timed_b.stats()["rx_us_per_packet"] < 1000
    assert untimed["tx_us_per_packet"] is None and side_b.stats()["rx_us_per_packet"] is None
    (stream,) = timed_b.stats()["streams"].values()
    assert stream["received"] == 64 and timed["sinks"][0]["packets"] == 64
    await asyncio.gather(timed_a.close(), timed_b.close())


# --- the nonce ------------------------------------------------------------------------------------


def test_no_nonce_repeats_within_an_endpoint_nor_after_a_restart_with_the_same_sender_id() -> None:
    first = Sealer(KEY, sender_id=1)
    nonces = [first.seal(0, 127, 5, i, 0, 0, b"")[8:20] for i in range(1000)]
    # The counter starts at the wall clock in microseconds: it stays ahead of any earlier
    # life as long as a restart takes longer than a microsecond per packet sent (no real
    # restart is that quick; sealing these 1,000 can be).
    time.sleep(0.002)
    restarted = Sealer(KEY, sender_id=1)
    later = restarted.seal(0, 127, 5, 1, 0, 0, b"")[8:20]

    assert len(set(nonces)) == 1000
    assert int.from_bytes(later[4:]) > max(int.from_bytes(n[4:]) for n in nonces)


def test_a_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError):
        PipeEndpoint(b"short")


async def test_stream_ids_outside_32_bits_or_zero_are_refused(
    side_a: PipeEndpoint, side_b: PipeEndpoint
) -> None:
    source = Producer("voice", "erin", Counters())
    for bad in (0, -1, 1 << 32, "7"):
        with pytest.raises(ValueError):
            side_b.bind(bad, lambda *packet: None)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            side_a.add_sink(source, side_b.address, bad)  # type: ignore[arg-type]
    assert side_b.streams == {} and side_a.sinks == set() and source.consumers == ()


def test_the_replay_window_takes_a_far_jump_either_way_in_constant_space() -> None:
    window = ReplayWindow()
    assert window.accept(0xFFFF_FFF0)
    assert not window.accept(1), "4 billion behind: too old, and no 4-billion-bit mask built"
    assert window.mask.bit_length() <= ReplayWindow.SIZE
    assert window.accept(0xFFFF_FFF1) and not window.accept(0xFFFF_FFF1)


async def test_the_loop_error_fixture_sees_what_a_datagram_callback_raises(
    side_b: PipeEndpoint, loop_errors: list[dict[str, Any]]
) -> None:
    """The fixture above is what makes "never raises" an assertion: show it catches a raise."""

    def explode(_data: bytes, _addr: Any) -> None:
        raise RuntimeError("boom")

    side_b.receive = explode  # type: ignore[method-assign]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"anything", side_b.address)
        await wait_for(lambda: loop_errors != [])
    assert isinstance(loop_errors[0].get("exception"), RuntimeError)
