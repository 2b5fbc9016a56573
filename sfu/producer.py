"""A producer: one source of Opus frames, fanned out to its consumers."""

from __future__ import annotations

import itertools
from time import monotonic
from typing import Literal, Protocol

from pyee import EventEmitter

from .consumer import Consumer
from .delay import DelayLine

ProducerKind = Literal["music", "voice"]
_ids = itertools.count(1)


TALKING_LEVEL = 70  # RFC 6464 -dBov: a speaker louder than -70 dBov is talking


class MusicSource(Protocol):
    """What the mixer provides: one encoded 20 ms stereo Opus frame per tick."""

    def next_frame(self, now_ms: float) -> bytes: ...

    def advance(self, now_ms: float) -> None:
        """The tick's frame for nobody: the timeline moves, nothing is encoded."""

    def set_voice_active(self, active: bool) -> None:
        """Someone on stage talks (the music ducks under them) or stopped."""


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
        self._consumers: list[Consumer] = []  # the live feed: the stage
        self._audience: list[Consumer] = []  # the audience feed, through the delay line
        self.delay = DelayLine(self._to_audience, self._audience_jumped)

    @property
    def consumers(self) -> tuple[Consumer, ...]:
        return tuple(self._consumers) + tuple(self._audience)

    @property
    def heard(self) -> bool:
        """Anyone takes this producer's packets (a listener, a tap, a pipe to another worker)."""
        return bool(self._consumers or self._audience)

    def add_consumer(self, consumer: Consumer, *, live: bool = True) -> None:
        """Attach ``consumer`` to the live feed or to the (delayed) audience feed."""
        self.remove_consumer(consumer)
        consumer.rebase()
        (self._consumers if live else self._audience).append(consumer)

    def remove_consumer(self, consumer: Consumer) -> None:
        for feed in (self._consumers, self._audience):
            if consumer in feed:
                feed.remove(consumer)

    def forward(self, payload: bytes, timestamp: int, sequence: int, marker: bool = False) -> None:
        """Send to the stage now; queue for the audience (or send now if there is no delay)."""
        if self.paused or self.closed:
            return
        now = monotonic()
        if self._consumers:
            self._fan_out(self._consumers, payload, timestamp, sequence, marker, now)
        if self._audience:
            self.delay.push((payload, timestamp, sequence, marker), now)

    def _to_audience(self, payload: bytes, timestamp: int, sequence: int, marker: bool, now: float) -> None:
        if not self.closed:
            self._fan_out(self._audience, payload, timestamp, sequence, marker, now)

    def _fan_out(self, consumers: list[Consumer], payload: bytes, timestamp: int, sequence: int,
                 marker: bool, now: float) -> None:
        sent = 0
        for consumer in consumers:
            if consumer.send(payload, timestamp, sequence, marker, now):
                sent += 1
        self._counters.forwarded_packets += sent

    def _audience_jumped(self) -> None:
        for consumer in self._audience:
            consumer.rebase()

    def talking(self, now_ms: float) -> bool:
        return self.level_now(now_ms) <= TALKING_LEVEL

    def level_now(self, now_ms: float, max_age_ms: float = 300.0) -> int:
        """The latest audio level, or 127 (silent) when no recent packet carried one."""
        if self.paused or self.closed or now_ms - self.audio_level_at > max_age_ms:
            return 127
        return self.audio_level

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._consumers.clear()
            self._audience.clear()
            self.delay.close()
            self.emit("close")
