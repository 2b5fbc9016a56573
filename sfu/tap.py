"""Taps: the program mix's ear on a router's audience feed (music and every voice, as listeners get them).

A ``Tap`` is a consumer without a wire: a producer's fan-out hands it each packet
at the moment listeners get theirs (after the audience delay line), and it hands
the packet on to a sink instead of a socket. ``RouterTaps`` keeps one tap on the
music and on every voice producer of a router, following producers as they come
and go (``sync``, called once per tick by its owner).
"""

from __future__ import annotations

from collections.abc import Callable

from .consumer import Consumer
from .delay import DelayLine
from .producer import Producer
from .router import Router

# sink(source, payload, timestamp, arrival_ms, delay_ms): source is the producer's id ("m1", "v7"),
# arrival_ms the server clock (ms) when listeners got the packet, delay_ms the audience delay it
# was held for (arrival_ms - delay_ms is when it reached the server: steady while the delay moves).
Sink = Callable[[str, bytes, int, float, float], None]


class Tap(Consumer):
    """A consumer that hands packets to ``sink`` instead of sending them.

    ``Consumer.__init__`` is not called on purpose: there is no wire, no SSRC and no
    numbering to rewrite; only the slots that the producer and router touch are set.
    """

    __slots__ = ("source", "_sink", "_delay")

    def __init__(self, source: str, sink: Sink, delay: DelayLine) -> None:
        self.source = source
        self._sink = sink
        self._delay = delay
        self._closed = False
        self.packets = 0
        self.octets = 0
        self.rtt_ms = None

    def rebase(self) -> None:
        """Nothing to renumber: the sink places packets by time and by the delay they were held for."""

    def send(self, payload: bytes, timestamp: int, sequence: int, marker: bool, now: float) -> bool:
        if self._closed:
            return False
        self.packets += 1
        self._sink(self.source, payload, timestamp, now * 1000.0, self._delay.delay_ms)
        return False  # not a packet sent to anyone: the forwarded-packet counters stay true

    def sender_report(self) -> None:
        """Nothing goes on a wire."""


class RouterTaps:
    """One ``Tap`` on the audience feed of each of ``router``'s producers (music and voices).

    ``on_gone(source)`` is called when a tapped producer left (closed, or no longer
    one of the router's voices), so its owner can drop the source's state.
    """

    def __init__(self, router: Router, sink: Sink, on_gone: Callable[[str], None]) -> None:
        self.router = router
        self._sink = sink
        self._on_gone = on_gone
        self._taps: dict[str, tuple[Producer, Tap]] = {}

    @property
    def sources(self) -> dict[str, str]:
        """The tapped sources: producer id -> kind (``music`` or ``voice``)."""
        return {source: producer.kind for source, (producer, _) in self._taps.items()}

    def sync(self) -> None:
        """Tap new producers, let go of gone ones."""
        on_air = [p for p in self.router.voice_producers if p.owner not in self.router.restricted]
        wanted = {p.id: p for p in [self.router.music, *on_air] if not p.closed}  # not the green room
        for source in [s for s in self._taps if s not in wanted]:
            self._untap(source)
        for source, producer in wanted.items():
            if source not in self._taps:
                tap = Tap(source, self._sink, producer.delay)
                producer.add_consumer(tap, live=False)
                self._taps[source] = (producer, tap)

    def _untap(self, source: str) -> None:
        producer, tap = self._taps.pop(source)
        tap.close()
        producer.remove_consumer(tap)
        self._on_gone(source)

    def close(self) -> None:
        for source in list(self._taps):
            self._untap(source)
