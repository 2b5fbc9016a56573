"""A room's program feed: its audience feed mixed once on the server, for HTTP players and recordings.

``Program`` runs only while something consumes it: it hooks the room clock and taps
the router's audience feed when the first consumer comes, and lets both go when the
last format has had no consumer for ``idle_s`` (checked every 5 s). Each format's
encoder likewise runs only while that format is used. ``ProgramHub`` holds one
``Program`` per room, made on first use, closed with the room's router.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any

from mixer.program import ProgramMix
from sfu import Router
from sfu.tap import RouterTaps

from .program_feeds import FrameSink, HlsFeed, StreamFeed, StreamListener, idle_for, make_stream

log = logging.getLogger(__name__)

IDLE_S = 10.0  # a format with no consumer for this long stops (the issue allows 30 s)
FLUSH_TICKS = 10  # HTTP streams get their bytes every 200 ms
IDLE_CHECK_TICKS = 250  # every 5 s


def stream_title(now_playing: dict | None) -> str:
    """ICY's ``StreamTitle``: "artist - title" (or just the title)."""
    if not now_playing:
        return ""
    track = now_playing.get("track") or {}
    artist, title = track.get("artist") or "", track.get("title") or ""
    return f"{artist} - {title}" if artist and title else artist or title


class Program:
    """The program of one room: the mix, and its feeds (``ogg``, ``mp3``, ``hls``) while used."""

    def __init__(self, room_id: str, router: Router, music: Any, *, name: str = "",
                 idle_s: float = IDLE_S) -> None:
        self.room_id = room_id
        self.router = router
        self.music = music
        self.name = name
        self.idle_s = idle_s
        self.mix: ProgramMix | None = None
        self.streams: dict[str, StreamFeed] = {}
        self.hls: HlsFeed | None = None
        self.recorders: list[FrameSink] = []
        self.title = stream_title(music.now_playing() if music is not None else None)
        self.closed = False
        self.started = 0  # how many times the mix started (tests, metrics)
        self._taps: RouterTaps | None = None
        self._timers: list[asyncio.TimerHandle] = []
        if music is not None:
            music.on("now_playing", self._on_now_playing)

    @property
    def running(self) -> bool:
        return self.mix is not None

    # --- consumers ----------------------------------------------------------------
    def add_listener(self, kind: str, listener: StreamListener) -> StreamFeed:
        """``listener`` gets the ``kind`` stream (``ogg`` or ``mp3``) from the next flush on."""
        if self.closed:
            raise RuntimeError("the program is closed")
        feed = self.streams.get(kind)
        if feed is None:
            feed = self.streams[kind] = make_stream(kind, self.name)
        self._start()
        feed.add(listener)
        return feed

    def remove_listener(self, kind: str, listener: StreamListener) -> None:
        feed = self.streams.get(kind)
        if feed is not None:
            feed.remove(listener)

    def use_hls(self) -> HlsFeed:
        """The HLS feed, started if needed; each call counts as a use (playlists are polled)."""
        if self.closed:
            raise RuntimeError("the program is closed")
        if self.hls is None:
            self.hls = HlsFeed()
        self._start()
        self.hls.touch()
        return self.hls

    def add_recorder(self, recorder: FrameSink) -> None:
        """``recorder`` gets every frame of the program until removed (the program runs meanwhile)."""
        if self.closed:
            raise RuntimeError("the program is closed")
        self._start()
        self.recorders.append(recorder)

    def remove_recorder(self, recorder: FrameSink) -> None:
        if recorder in self.recorders:
            self.recorders.remove(recorder)

    # --- running ------------------------------------------------------------------
    def _start(self) -> None:
        if self.mix is not None:
            return
        self.mix = ProgramMix()
        self._taps = RouterTaps(self.router, self._on_packet, self._on_gone)
        self.router.tick_hooks.append(self._tick)
        self.started += 1
        log.info("program of room %s started", self.room_id)

    def _stop(self) -> None:
        if self.mix is None:
            return
        if self._tick in self.router.tick_hooks:
            self.router.tick_hooks.remove(self._tick)
        if self._taps is not None:
            self._taps.close()
        self.mix = None
        self._taps = None
        log.info("program of room %s stopped", self.room_id)

    def _on_packet(self, source: str, payload: bytes, timestamp: int, arrival_ms: float,
                   delay_ms: float) -> None:
        if self.mix is not None:
            voice = source.startswith("v")  # the SFU's producer ids: "m…" music, "v…" voices
            self.mix.push(source, payload, timestamp, arrival_ms, voice=voice, delay_ms=delay_ms)

    def _on_gone(self, source: str) -> None:
        if self.mix is not None:
            self.mix.drop(source)

    def _tick(self, tick: int, tick_ms: float) -> None:
        if self.mix is None or self._taps is None:
            return
        self._taps.sync()
        frame = self.mix.render(tick_ms)
        for feed in self.streams.values():
            feed.feed(frame)
        if self.hls is not None:
            self.hls.feed(frame)
        for recorder in self.recorders:
            recorder.feed(frame)
        if tick % FLUSH_TICKS == 0:
            for feed in self.streams.values():
                feed.flush()
        if tick % IDLE_CHECK_TICKS == 0:
            self.check_idle(time.monotonic())

    def check_idle(self, now: float) -> None:
        """Stop the formats nobody used for ``idle_s``, and the mix when none is left."""
        for kind, feed in list(self.streams.items()):
            if idle_for(feed, now) >= self.idle_s:
                feed.close()
                del self.streams[kind]
        if self.hls is not None and idle_for(self.hls, now) >= self.idle_s:
            self.hls.close()
            self.hls = None
        if not self.streams and self.hls is None and not self.recorders:
            self._stop()

    # --- now playing, as listeners hear it -------------------------------------------
    def _on_now_playing(self, now_playing: dict | None) -> None:
        title = stream_title(now_playing)
        if now_playing is None or title == self.title:
            return
        latency = self.router.lag_ms + (self.mix.latency_ms if self.mix else 0.0)
        at_ms = now_playing.get("server_ms", 0.0) + latency
        wait_s = max(0.0, (at_ms - time.monotonic() * 1000.0) / 1000.0)
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(asyncio.get_running_loop().call_later(wait_s, self._set_title, title))

    def _set_title(self, title: str) -> None:
        self.title = title

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop()
        for feed in self.streams.values():
            feed.close()
        self.streams.clear()
        if self.hls is not None:
            self.hls.close()
            self.hls = None
        for recorder in self.recorders:
            recorder.close()
        self.recorders.clear()
        for timer in self._timers:
            timer.cancel()
        if self.music is not None:
            self.music.remove_listener("now_playing", self._on_now_playing)


_BY_ROUTER: weakref.WeakKeyDictionary[Router, Program] = weakref.WeakKeyDictionary()


def program_for(room_id: str, router: Router, music: Any, *, name: str = "",
                idle_s: float = IDLE_S) -> Program:
    """The program of the room whose media ``router`` carries: one per router, made on first use
    (by an HTTP listener or a recording), closed with the router."""
    program = _BY_ROUTER.get(router)
    if program is None or program.closed:
        program = _BY_ROUTER[router] = Program(room_id, router, music, name=name, idle_s=idle_s)
        router.once("close", program.close)
    return program


class ProgramHub:
    """The app's view of its rooms' programs (``programs`` by room id, for metrics and tests);
    ``idle_s`` for the programs it makes."""

    def __init__(self, idle_s: float = IDLE_S) -> None:
        self.idle_s = idle_s
        self.programs: dict[str, Program] = {}

    def for_room(self, room_id: str, router: Router, music: Any, name: str = "") -> Program:
        program = program_for(room_id, router, music, name=name, idle_s=self.idle_s)
        self.programs = {rid: p for rid, p in self.programs.items() if not p.closed}
        self.programs[room_id] = program
        return program

    def close(self) -> None:
        for program in self.programs.values():
            program.close()
        self.programs.clear()
