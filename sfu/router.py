"""A room's media: its producers, its subscribers and its music clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from pyee.asyncio import AsyncIOEventEmitter

from .clock import FRAME_SAMPLES, RoomClock
from .feeds import CODEC_MS, AudienceDelay, LoopMeter, MemberLatency
from .producer import Counters, MusicSource, Producer
from .publisher import PublisherPeer
from .subscriber import SubscriberPeer

log = logging.getLogger(__name__)

SR_EVERY_TICKS = 50  # a sender report per consumer about once a second


class Router(AsyncIOEventEmitter):
    """Media of one room (mediasoup's Router): knows producers and peers, no names or roles.

    Every subscriber receives the music and every voice producer except its
    owner's own (``reconcile``). The music producer is fed one frame per tick of
    the room clock: encoded once, whatever the number of listeners. Closing the
    router closes every peer and producer it holds. Events: ``audience_delay``
    (D in ms), ``peer_closed`` (a connection was closed: the media worker's
    sweeper counts them), ``close``.
    """

    def __init__(self, music: MusicSource | None, ice_servers: list[str], counters: Counters) -> None:
        super().__init__()
        self.ice_servers = ice_servers
        self.counters = counters
        self.music_source = music
        # A relay router (no music source) serves a room whose clock and mixer live in another
        # process: its music and remote voices arrive over pipes, its delays are set from there.
        self.relay = music is None
        self.remote_voices: dict[str, Producer] = {}  # voices published in another process
        self.restricted: dict[str, frozenset[str]] = {}  # voice owner -> the only ones who hear it
        self.broadcast_delay_ms = 0.0  # the host's broadcast delay, on top of D
        self.music = Producer("music", "music", counters)
        self.clock = RoomClock(self._on_tick, idle=self._unheard)
        self.publishers: dict[str, PublisherPeer] = {}
        self.subscribers: dict[str, SubscriberPeer] = {}
        self.closed = False
        self._reconcile_lock = asyncio.Lock()
        self.audience = AudienceDelay()
        self.meter = LoopMeter()  # measures L_i where a member's microphone hears the music
        self.members: dict[str, MemberLatency] = {}  # stage members, by owner
        self._voice_active = False
        # called after every tick, with (tick, tick_ms): the program mix runs on the room clock
        self.tick_hooks: list[Callable[[int, float], None]] = []

    def start(self) -> None:
        self.clock.start()

    # --- the two feeds ---------------------------------------------------------
    def set_live(self, owner: str, live: bool) -> None:
        """``owner`` hears the live feed (on stage) or the audience feed."""
        if live:
            self.members.setdefault(owner, MemberLatency(codec_ms=CODEC_MS))
        else:
            self.members.pop(owner, None)
        peer = self.subscribers.get(owner)
        if peer is not None:
            peer.set_live(live)

    def is_live(self, owner: str) -> bool:
        return owner in self.members

    def set_stats(self, owner: str, stats: dict[str, float]) -> None:
        member = self.members.get(owner)
        if member is not None:
            member.stats.update(stats)

    def loop_latencies(self) -> dict[str, float]:
        """L_i of every stage member who publishes (here or in another process)."""
        out = {}
        for owner, member in self.members.items():
            if owner in self.publishers or owner in self.remote_voices:
                peer = self.subscribers.get(owner)
                if peer is not None:  # else the RTT comes from their own process (set_member_rtt)
                    rtts = [c.rtt_ms for c in peer.consumers if c.rtt_ms is not None]
                    member.rtcp_rtt_ms = min(rtts) if rtts else None
                out[owner] = member.loop_ms()
        return out

    def set_member_rtt(self, owner: str, rtt_ms: float) -> None:
        """A stage member's RTCP round trip, measured by the process that holds their peers."""
        member = self.members.get(owner)
        if member is not None:
            member.rtcp_rtt_ms = rtt_ms

    def voice_delays(self) -> dict[str, float]:
        """Each voice's audience delay now (D - L_i)."""
        voices = {o: p.producer for o, p in self.publishers.items()} | self.remote_voices
        return {owner: producer.delay.delay_ms for owner, producer in voices.items()}

    def set_delays(self, delay_ms: float, voices: dict[str, float]) -> None:
        """A relay router takes the origin's D and voice delays (an origin computes its own)."""
        if not self.relay:
            return
        self.music.delay.set_delay(delay_ms)
        for owner, producer in self._all_voices().items():
            producer.delay.set_delay(float(voices.get(owner, delay_ms)))
        if delay_ms != self.audience.delay_ms:
            self.audience.delay_ms = delay_ms
            self.emit("audience_delay", delay_ms)

    def update_delays(self, now_ms: float) -> None:
        """Recompute D and each voice's D - L_i; apply them to the delay lines."""
        self.meter.update(self.music, self._all_voices(), self.members, now_ms)
        loops = self.loop_latencies()
        changed = self.audience.update(list(loops.values()), now_ms)
        lag = self.lag_ms
        self.music.delay.set_delay(lag)
        for owner, producer in self._all_voices().items():
            producer.delay.set_delay(max(0.0, lag - loops.get(owner, self.audience.delay_ms)))
        if changed:
            self.emit("audience_delay", lag)

    @property
    def lag_ms(self) -> float:
        """How much later than the stage the audience hears the music: D plus the broadcast delay."""
        return self.audience.delay_ms + self.broadcast_delay_ms

    def set_broadcast_delay(self, delay_ms: float) -> None:
        """The audience hears everything (music included) ``delay_ms`` later again; lengthening it
        leaves the audience a gap, shortening it skips."""
        if delay_ms != self.broadcast_delay_ms:
            self.broadcast_delay_ms = delay_ms
            self.update_delays(self.clock.tick_ms(self.clock.tick))
            self.emit("audience_delay", self.lag_ms)

    def dump(self) -> None:
        """Every voice packet still inside the audience's delay is dropped: the audience hears the
        music without those voices, never the dumped words."""
        for producer in self._all_voices().values():
            producer.delay.drop()

    def _on_tick(self, tick: int, tick_ms: float) -> None:
        """One 20 ms frame: the music first, then what can wait a few milliseconds."""
        if self.music_source is None:  # a relay: the music comes over the pipe
            self.send_sender_reports(tick)
            self._run_tick_hooks(tick, tick_ms)
            return
        talking = any(p.talking(tick_ms) for p in self.voice_producers if p.owner not in self.restricted)
        if talking != self._voice_active:
            self._voice_active = talking
            self.music_source.set_voice_active(talking)
        try:
            if self.music.heard:
                self.music.forward(self.music_source.next_frame(tick_ms), tick * FRAME_SAMPLES, tick & 0xFFFF)
            else:  # nobody to send it to: keep the timeline, skip the Opus encoding
                self.music_source.advance(tick_ms)
        except Exception:  # a broken file must not stop the room's clock
            log.exception("music source failed on tick %d", tick)
        if tick % 50 == 0:
            self.update_delays(tick_ms)
        self.send_sender_reports(tick)
        self._run_tick_hooks(tick, tick_ms)

    def _run_tick_hooks(self, tick: int, tick_ms: float) -> None:
        for hook in self.tick_hooks:
            try:
                hook(tick, tick_ms)
            except Exception:  # a failing hook must not stop the room's clock
                log.exception("tick hook failed on tick %d", tick)

    def _unheard(self) -> bool:
        """No peer, tap or pipe takes anything from this room: its clock may tick in batches."""
        return not (self.subscribers or self.publishers or self.remote_voices or self.music.heard)

    def restrict(self, owner: str, hearers: Iterable[str] | None) -> None:
        """``owner``'s voice reaches only ``hearers`` (a screened caller, talkback) and ducks no
        music; None: everyone again. Takes effect at the next ``reconcile``."""
        if hearers is None:
            self.restricted.pop(owner, None)
        else:
            self.restricted[owner] = frozenset(hearers)

    def hears(self, subscriber: str, voice_owner: str) -> bool:
        allowed = self.restricted.get(voice_owner)
        return allowed is None or subscriber in allowed

    @property
    def voice_producers(self) -> list[Producer]:
        return [p for p in self._all_voices().values() if not p.closed]

    def _all_voices(self) -> dict[str, Producer]:
        return {o: p.producer for o, p in self.publishers.items()} | self.remote_voices

    def add_remote_voice(self, owner: str) -> Producer:
        """The local stand-in of ``owner``'s voice, published in another process (fed by a pipe)."""
        producer = self.remote_voices.get(owner)
        if producer is None or producer.closed:
            producer = self.remote_voices[owner] = Producer("voice", owner, self.counters)
            loops = self.loop_latencies()
            producer.delay.set_delay(max(0.0, self.lag_ms - loops.get(owner, 0.0)))
        return producer

    def remove_remote_voice(self, owner: str) -> None:
        producer = self.remote_voices.pop(owner, None)
        if producer is not None:
            producer.close()

    def add_subscriber(self, owner: str) -> SubscriberPeer:
        if owner in self.subscribers:
            raise ValueError(f"{owner} already subscribes")
        peer = SubscriberPeer(owner, self.ice_servers)
        peer.live = owner in self.members
        peer.sr_slot = len(self.subscribers) % SR_EVERY_TICKS
        self.subscribers[owner] = peer
        return peer

    def add_publisher(self, owner: str) -> PublisherPeer:
        if owner in self.publishers:
            return self.publishers[owner]
        peer = PublisherPeer(owner, self.ice_servers, self.counters)
        self.publishers[owner] = peer
        loops = self.loop_latencies()
        peer.producer.delay.set_delay(max(0.0, self.lag_ms - loops.get(owner, 0.0)))
        return peer

    async def close_publisher(self, owner: str) -> None:
        """Stop forwarding ``owner`` at once, then close their connection."""
        peer = self.publishers.pop(owner, None)
        if peer is not None:
            peer.producer.close()
            await self.reconcile()
            try:
                await peer.close()
            finally:
                self.emit("peer_closed")

    async def close_subscriber(self, owner: str) -> None:
        peer = self.subscribers.pop(owner, None)
        if peer is not None:
            try:
                await peer.close()
            finally:
                self.emit("peer_closed")

    async def remove_peer(self, owner: str) -> None:
        self.members.pop(owner, None)
        await self.close_subscriber(owner)
        await self.close_publisher(owner)

    async def reconcile(self) -> None:
        """Make every subscriber receive what it should, offering where it changed."""
        async with self._reconcile_lock:
            voices = self.voice_producers
            for owner, peer in list(self.subscribers.items()):
                if peer.closed:
                    continue
                wanted = [self.music] + [v for v in voices if v.owner != owner and self.hears(owner, v.owner)]
                try:
                    await peer.reconcile(wanted)
                except Exception:
                    log.exception("reconcile failed for %s", owner)

    def send_sender_reports(self, tick: int) -> None:
        """RTCP SRs for the subscribers whose turn it is: each one about once a second,
        spread over the ticks so that no tick pays for all of them."""
        turn = tick % SR_EVERY_TICKS
        for peer in self.subscribers.values():
            if peer.sr_slot == turn:
                for consumer in peer.consumers:
                    consumer.sender_report()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.clock.stop()
        self.meter.close()
        self.music.close()
        for owner in list(self.remote_voices):
            self.remove_remote_voice(owner)
        owners = set(self.publishers) | set(self.subscribers)
        await asyncio.gather(*(self.remove_peer(o) for o in owners), return_exceptions=True)
        self.emit("close")
