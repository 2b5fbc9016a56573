"""The RTP pipe between workers (mediasoup's PipeTransport): one UDP socket per worker.

A room's origin worker sends each of the room's producers once to every
other worker that has listeners of that room; a stage member's voice goes
the other way. On the sending side a ``PipeSink`` sits on a producer's live
feed like a listener's ``Consumer`` and sends every packet unchanged to one
remote endpoint under a stream id; the receiving endpoint hands it to the
local ``Producer`` (or callback) bound to that stream id, which fans it out
to that worker's listeners. The datagram format is in ``pipe_wire``.

Who allocates what: the receiving side picks the stream id
(``new_stream_id``), binds it, then asks the sender (through signaling) to
``add_sink`` towards its address with that id. A stream id names one sink for
its whole life; after ``stream_stopped`` the receiving side unbinds, and a new
request gets a new id.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from dataclasses import asdict
from time import monotonic, thread_time_ns
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from pyee.asyncio import AsyncIOEventEmitter

from .consumer import Consumer
from .pipe_sink import PipeSink
from .pipe_stream import PacketHandler, PipeStream
from .pipe_wire import (
    FLAG_BYE,
    FLAG_KEEPALIVE,
    FLAG_LEVEL,
    FLAG_MARKER,
    HEADER_TAIL,
    MAGIC,
    MIN_DATAGRAM,
    VERSION,
    Address,
    CpuSample,
    Opener,
    PipeCounters,
    Sealer,
)
from .producer import Producer

log = logging.getLogger(__name__)

RECEIVE_BUFFER = 4 << 20  # bursts while the loop is busy elsewhere; the kernel caps it at rmem_max
_unpack_tail = HEADER_TAIL.unpack_from


def _check_stream_id(stream_id: int) -> None:
    if not isinstance(stream_id, int) or not 0 < stream_id <= 0xFFFFFFFF:
        raise ValueError(f"a stream id is a nonzero 32-bit number, not {stream_id!r}")


class PipeEndpoint(AsyncIOEventEmitter, asyncio.DatagramProtocol):
    """This worker's end of every pipe: one UDP socket, any number of sinks and streams.

    ``key`` is the cluster's 32-byte key (``pipe_wire.new_key``); ``sender_id``
    must differ between live endpoints of one cluster (a Redis ``INCR`` gives
    that; the random default makes a clash unlikely, not impossible). Sinks
    idle for ``keepalive_every`` seconds send a keepalive, so a stream with
    nothing to say (a paused voice) is not taken for a dead one; a bound stream
    that hears nothing for ``stale_after`` seconds, or gets a bye, emits
    ``stream_stopped`` (stream_id, reason: "timeout" or "bye"). With
    ``timing``, ``rx_cpu`` and ``tx_cpu`` sample the CPU spent per datagram received and sent.
    """

    def __init__(self, key: bytes, *, sender_id: int | None = None, stale_after: float = 2.0,
                 keepalive_every: float = 0.5, timing: bool = False) -> None:
        super().__init__()
        self.sealer = Sealer(key, secrets.randbits(32) if sender_id is None else sender_id)
        self._open = Opener(key).open
        self.stale_after = stale_after
        self.keepalive_every = keepalive_every
        self.rx_cpu = CpuSample() if timing else None
        self.tx_cpu = CpuSample() if timing else None
        self.counters = PipeCounters()
        self.streams: dict[int, PipeStream] = {}
        self.sinks: set[PipeSink] = set()
        self.transport: asyncio.DatagramTransport | None = None
        self._housekeeper: asyncio.Task[None] | None = None

    # --- life -----------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Address:
        """Bind the socket (port 0: any free port) and start the keepalive and stale checks."""
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._housekeeper = loop.create_task(self._housekeep())
        return self.address

    @property
    def address(self) -> Address:
        if self.transport is None:
            raise RuntimeError("the pipe endpoint is not started")
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    async def close(self) -> None:
        """Say bye on every sink, drop every stream, close the socket."""
        for sink in list(self.sinks):
            sink.close()
        self.streams.clear()
        task, self._housekeeper = self._housekeeper, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self.transport is not None:
            self.transport.close()

    # --- receiving ------------------------------------------------------------------------------
    def new_stream_id(self) -> int:
        """A random nonzero id bound to nothing here (random: a stale datagram rarely names it)."""
        while True:
            stream_id = secrets.randbits(32)
            if stream_id and stream_id not in self.streams:
                return stream_id

    def bind(self, stream_id: int, target: Producer | PacketHandler,
             remote: Address | None = None) -> PipeStream:
        """Hand the packets of ``stream_id`` to ``target``; from ``remote`` only, if given.

        A bound producer that closes unbinds its stream."""
        _check_stream_id(stream_id)
        if stream_id in self.streams:
            raise ValueError(f"stream {stream_id} is already bound")
        stream = self.streams[stream_id] = PipeStream(stream_id, target, remote)
        if stream.producer is not None:
            stream.producer.once("close", lambda: self._unbind_if(stream))
        return stream

    def unbind(self, stream_id: int) -> None:
        self.streams.pop(stream_id, None)

    def _unbind_if(self, stream: PipeStream) -> None:
        if self.streams.get(stream.stream_id) is stream:
            del self.streams[stream.stream_id]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        cpu = self.rx_cpu
        if cpu is not None and cpu.due():
            start = thread_time_ns()
            self.receive(data, addr)
            cpu.add(thread_time_ns() - start)
        else:
            self.receive(data, addr)

    def receive(self, data: bytes, addr: Any) -> None:
        """Check one datagram and forward its packet; drops are counted, never raised."""
        counters = self.counters
        if len(data) < MIN_DATAGRAM or data[0] != MAGIC or data[1] != VERSION:
            counters.dropped_malformed += 1
            return
        stream = self.streams.get(int.from_bytes(data[4:8], "big"))
        if stream is None or (stream.remote is not None and (addr[0], addr[1]) != stream.remote):
            if stream is not None:
                stream.dropped_unknown += 1
            counters.dropped_unknown += 1
            return
        try:
            payload = self._open(data)
        except InvalidTag:
            stream.dropped_auth += 1
            counters.dropped_auth += 1
            return
        flags = data[2]
        index, timestamp, sequence, sent_us = _unpack_tail(data, 20)
        if not stream.window.accept(index):
            stream.dropped_replay += 1
            counters.dropped_replay += 1
            return
        if not stream.received:
            stream.first_index = index
        stream.received += 1
        stream.bytes += len(data)
        counters.received += 1
        counters.bytes_received += len(data)
        if flags & (FLAG_KEEPALIVE | FLAG_BYE) or not index & 7:
            stream.sample_transit(sent_us)
            if flags & (FLAG_KEEPALIVE | FLAG_BYE):
                self._control(stream, flags)
                return
        producer = stream.producer
        if producer is not None and flags & FLAG_LEVEL:
            producer.audio_level = data[3]
            producer.audio_level_at = monotonic() * 1000.0
        try:
            stream.forward(payload, timestamp, sequence, bool(flags & FLAG_MARKER))
        except Exception:  # a broken handler must not take the socket's other streams down
            counters.forward_errors += 1
            log.exception("pipe stream %d: forwarding failed", stream.stream_id)

    def _control(self, stream: PipeStream, flags: int) -> None:
        if flags & FLAG_BYE:
            stream.heard = stream.received  # housekeeping must not take the bye for new life
            self._stopped(stream, "bye")
        else:
            stream.keepalives += 1

    def _stopped(self, stream: PipeStream, reason: str) -> None:
        stream.ended = True
        try:
            self.emit("stream_stopped", stream.stream_id, reason)
        except Exception:  # a listener's failure is theirs: the pipe goes on
            log.exception("pipe stream %d: a stream_stopped listener failed", stream.stream_id)

    def error_received(self, exc: Exception) -> None:
        self.counters.send_errors += 1  # an ICMP error for an earlier datagram: the peer is gone

    # --- sending --------------------------------------------------------------------------------
    def add_sink(self, source: Producer, remote: Address, stream_id: int) -> PipeSink:
        """Send every packet of ``source``'s live feed to ``remote`` as ``stream_id``.

        The sink leaves (saying bye) when the source closes or ``remove_sink`` is called."""
        _check_stream_id(stream_id)
        if self.transport is None:
            raise RuntimeError("the pipe endpoint is not started")
        if any(s.stream_id == stream_id and s.remote == remote for s in self.sinks):
            raise ValueError(f"stream {stream_id} to {remote} already has a sink")
        sink = PipeSink(self.sealer, self.transport.sendto, source, remote, stream_id,
                        counters=self.counters, cpu=self.tx_cpu, on_close=self._sink_closed)
        self.sinks.add(sink)
        # Producer takes Consumers today; PipeSink has the part of Consumer it calls.
        source.add_consumer(cast(Consumer, sink), live=True)
        source.on("close", sink.close)
        return sink

    def remove_sink(self, sink: PipeSink) -> None:
        sink.close()

    def _sink_closed(self, sink: PipeSink) -> None:
        self.sinks.discard(sink)
        sink.source.remove_consumer(cast(Consumer, sink))
        sink.source.remove_listener("close", sink.close)

    # --- housekeeping ---------------------------------------------------------------------------
    async def _housekeep(self) -> None:
        period = min(self.keepalive_every, self.stale_after / 4)
        while True:
            await asyncio.sleep(period)
            self.housekeep(monotonic())

    def housekeep(self, now: float) -> None:
        """Keepalives for idle sinks; ``stream_stopped`` for streams silent too long."""
        for sink in list(self.sinks):
            if now - sink.last_sent >= self.keepalive_every:
                sink.keepalive(now)
        for stream in list(self.streams.values()):
            if stream.received != stream.heard:
                stream.heard = stream.received
                stream.last_at = now
                stream.ended = False
            elif not stream.ended and now - stream.last_at > self.stale_after:
                self._stopped(stream, "timeout")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            except OSError:
                pass

    def stats(self) -> dict[str, Any]:
        """Totals, the µs per datagram when timed, and each stream's and sink's figures."""
        c = self.counters
        return {**asdict(c),
                "rx_us_per_packet": self.rx_cpu.us_per_packet if self.rx_cpu else None,
                "tx_us_per_packet": self.tx_cpu.us_per_packet if self.tx_cpu else None,
                "streams": {sid: s.stats() for sid, s in self.streams.items()},
                "sinks": [s.stats() for s in self.sinks]}


__all__ = ["PacketHandler", "PipeCounters", "PipeEndpoint", "PipeSink", "PipeStream"]
