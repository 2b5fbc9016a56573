"""A producer's copy for one other worker: each packet sealed and sent as it is forwarded."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic, thread_time_ns
from typing import Any

from .pipe_wire import (
    FLAG_BYE,
    FLAG_KEEPALIVE,
    FLAG_LEVEL,
    FLAG_MARKER,
    SILENT,
    Address,
    CpuSample,
    PipeCounters,
    Sealer,
)
from .producer import Producer

LEVEL_MAX_AGE_MS = 300.0  # as Producer.level_now: an older level says nothing of now


class PipeSink:
    """Sits on a producer's live feed like a listener's ``Consumer``, but rewrites nothing.

    ``send`` has Consumer's signature and is called by the producer's fan-out
    loop: the packet keeps the producer's timestamp, sequence number and
    marker, and goes out at once (the receiving worker applies its own audience
    delay). The producer's recent RFC 6464 audio level rides along, so the
    origin knows who is talking on another worker. Made by
    ``PipeEndpoint.add_sink``; ``close`` says bye and detaches it.
    """

    __slots__ = ("stream_id", "remote", "source", "packets", "octets", "send_errors", "last_sent",
                 "closed", "_index", "_seal", "_sendto", "_counters", "_cpu", "_on_close")

    def __init__(self, sealer: Sealer, sendto: Callable[[bytes, Address], Any], source: Producer,
                 remote: Address, stream_id: int, *, counters: PipeCounters, cpu: CpuSample | None,
                 on_close: Callable[[PipeSink], None]) -> None:
        self.stream_id = stream_id
        self.remote = remote
        self.source = source
        self.packets = 0
        self.octets = 0
        self.send_errors = 0
        self.last_sent = monotonic()
        self.closed = False
        self._index = 0
        self._seal = sealer.seal
        self._sendto = sendto
        self._counters = counters
        self._cpu = cpu
        self._on_close = on_close

    def send(self, payload: bytes, timestamp: int, sequence: int, marker: bool, now: float) -> bool:
        """Send one packet of the source; ``now`` is ``time.monotonic()``."""
        if self.closed:
            return False
        cpu = self._cpu
        if cpu is None or not cpu.due():
            return self._send(payload, timestamp, sequence, marker, now)
        start = thread_time_ns()
        sent = self._send(payload, timestamp, sequence, marker, now)
        cpu.add(thread_time_ns() - start)
        return sent

    def _send(self, payload: bytes, timestamp: int, sequence: int, marker: bool, now: float) -> bool:
        flags = FLAG_MARKER if marker else 0
        level = SILENT
        source = self.source
        if now * 1000.0 - source.audio_level_at <= LEVEL_MAX_AGE_MS:
            flags |= FLAG_LEVEL
            level = source.audio_level
        if not self._put(flags, level, timestamp, sequence, payload, now):
            return False
        self.packets += 1
        self.octets += len(payload)
        return True

    def rebase(self) -> None:
        """Nothing to keep continuous here: the receiving worker's consumers rebase themselves."""

    def keepalive(self, now: float) -> None:
        """Tell the receiver we are alive though the source is quiet (paused, not talking)."""
        if not self.closed:
            self._put(FLAG_KEEPALIVE, SILENT, 0, 0, b"", now)

    def close(self) -> None:
        """Say bye (the receiver stops the stream at once) and leave the producer."""
        if self.closed:
            return
        self._put(FLAG_BYE, SILENT, 0, 0, b"", monotonic())
        self.closed = True
        self._on_close(self)

    def _put(self, flags: int, level: int, timestamp: int, sequence: int, payload: bytes,
             now: float) -> bool:
        # 2**32 datagrams is 2.7 years at 50 a second; past that the receiver's window
        # rejects the stream, it times out and is asked for again under a new id
        self._index = (self._index + 1) & 0xFFFFFFFF
        data = self._seal(flags, level, self.stream_id, self._index, timestamp, sequence, payload)
        counters = self._counters
        try:
            self._sendto(data, self.remote)
        except Exception:  # unroutable or closed: the datagram is lost, the pipe goes on
            self.send_errors += 1
            counters.send_errors += 1
            return False
        self.last_sent = now
        counters.sent += 1
        counters.bytes_sent += len(data)
        return True

    def stats(self) -> dict[str, Any]:
        return {"stream_id": self.stream_id, "remote": f"{self.remote[0]}:{self.remote[1]}",
                "source": self.source.id, "packets": self.packets, "octets": self.octets,
                "send_errors": self.send_errors}


__all__ = ["PipeSink"]
