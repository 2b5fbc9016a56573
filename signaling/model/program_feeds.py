"""The program's outputs: one encoder per format, shared by every consumer of that format.

A ``StreamFeed`` (Ogg/Opus, MP3) collects what its encoder made and hands the same
bytes to every ``StreamListener`` at each flush; a listener that cannot take them
(gone, or too slow: its own buffer full) says so and is dropped. ``HlsFeed`` keeps
the window of segments that HTTP requests read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

import numpy as np

from mixer.program_codecs import AacSegments, Mp3Stream, OggOpusStream, Segment

log = logging.getLogger(__name__)


class StreamListener(Protocol):
    """Someone who receives a stream's bytes (an HTTP response, a recording file)."""

    def write(self, data: bytes) -> bool:
        """Take ``data``; False when this listener is gone or cannot keep up (it is then dropped)."""

    def close(self) -> None:
        """The stream ends for this listener."""


class FrameSink(Protocol):
    """Takes the program frame by frame (a recording)."""

    def feed(self, frame: np.ndarray) -> None:
        """One ``(960, 2)`` frame of the program, every 20 ms."""

    def close(self) -> None:
        """The program ends (the show ended, or the server stops)."""


class Encoder(Protocol):
    def feed(self, frame: np.ndarray) -> bytes: ...


class StreamFeed:
    """One format's encoder and its listeners: encoded once, whatever their number."""

    def __init__(self, kind: str, encoder: Encoder, header: bytes = b"") -> None:
        self.kind = kind
        self.encoder = encoder
        self.header = header
        self.listeners: list[StreamListener] = []
        self.bytes_out = 0
        self.dropped = 0
        self._pending = bytearray()
        self.idle_since: float | None = time.monotonic()

    def add(self, listener: StreamListener) -> None:
        if self.header and not listener.write(self.header):
            listener.close()
            return
        self.listeners.append(listener)
        self.idle_since = None

    def remove(self, listener: StreamListener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)
            if not self.listeners:
                self.idle_since = time.monotonic()

    def feed(self, frame: np.ndarray) -> None:
        self._pending += self.encoder.feed(frame)

    def flush(self) -> None:
        """Send what was encoded since the last flush to every listener."""
        if not self._pending:
            return
        data = bytes(self._pending)
        self._pending.clear()
        gone = [listener for listener in self.listeners if not listener.write(data)]
        self.bytes_out += len(data) * (len(self.listeners) - len(gone))
        for listener in gone:
            self.dropped += 1
            self.remove(listener)
            listener.close()

    def close(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners.clear()


class HlsFeed:
    """AAC segments for HLS; ``wait_ready`` lets the first request wait for the first segment."""

    def __init__(self) -> None:
        self.segments = AacSegments()
        self.used_at = time.monotonic()
        self._ready = asyncio.Event()

    def feed(self, frame: np.ndarray) -> Segment | None:
        segment = self.segments.feed(frame)
        if segment is not None:
            self._ready.set()
        return segment

    def touch(self) -> None:
        self.used_at = time.monotonic()

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._ready.set()  # nobody waits for a segment that will never come


def make_stream(kind: str, title: str) -> StreamFeed:
    """A feed of ``kind`` (``ogg`` or ``mp3``) with its encoder."""
    if kind == "ogg":
        ogg = OggOpusStream(title=title)
        return StreamFeed(kind, ogg, ogg.header)
    if kind == "mp3":
        return StreamFeed(kind, Mp3Stream())
    raise ValueError(f"no stream format {kind!r}")


def idle_for(feed: StreamFeed | HlsFeed, now: float) -> float:
    """Seconds since ``feed`` last had a consumer (0 while it has one)."""
    if isinstance(feed, HlsFeed):
        return now - feed.used_at
    return 0.0 if feed.idle_since is None else now - feed.idle_since

