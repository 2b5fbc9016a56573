"""A producer: one source of Opus frames, fanned out to its consumers."""

from __future__ import annotations

import itertools
from time import monotonic
from typing import Literal, Protocol

from pyee import EventEmitter

from .consumer import Consumer

ProducerKind = Literal["music", "voice"]
_ids = itertools.count(1)


class MusicSource(Protocol):
    """What the mixer provides: one encoded 20 ms stereo Opus frame per tick."""

    def next_frame(self, now_ms: float) -> bytes: ...


class Counters:
    """Process-wide media counters, read by the metrics endpoint."""

    __slots__ = ("forwarded_packets", "received_packets", "dropped_packets")

    def __init__(self) -> None:
        self.forwarded_packets = 0
        self.received_packets = 0
        self.dropped_packets = 0


class Producer(EventEmitter):
    """One source of encoded Opus frames: a speaker's voice or the room's music.

    ``forward`` is the whole fan-out: one loop over the consumers, each
    sending synchronously. ``owner`` is an opaque label set by whoever created
    the producer (the SFU does not interpret it). Events: ``close``.
    """

    def __init__(self, kind: ProducerKind, owner: str, counters: Counters) -> None:
        super().__init__()
        self.id = f"{kind[0]}{next(_ids)}"
        self.kind: ProducerKind = kind
        self.owner = owner
        self.paused = False
        self.closed = False
        self.audio_level: int = 127  # RFC 6464: 0 loudest, 127 silent
        self.audio_level_at = 0.0  # server_ms of the last level
        self._counters = counters
        self._consumers: list[Consumer] = []

    @property
    def consumers(self) -> tuple[Consumer, ...]:
        return tuple(self._consumers)

    def add_consumer(self, consumer: Consumer) -> None:
        if consumer not in self._consumers:
            consumer.rebase()
            self._consumers.append(consumer)

    def remove_consumer(self, consumer: Consumer) -> None:
        try:
            self._consumers.remove(consumer)
        except ValueError:
            pass

    def forward(self, payload: bytes, timestamp: int, sequence: int, marker: bool = False) -> None:
        if self.paused or self.closed:
            return
        sent = 0
        now = monotonic()
        for consumer in self._consumers:
            if consumer.send(payload, timestamp, sequence, marker, now):
                sent += 1
        self._counters.forwarded_packets += sent

    def level_now(self, now_ms: float, max_age_ms: float = 300.0) -> int:
        """The latest audio level, or 127 (silent) when no recent packet carried one."""
        if self.paused or self.closed or now_ms - self.audio_level_at > max_age_ms:
            return 127
        return self.audio_level

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._consumers.clear()
            self.emit("close")
