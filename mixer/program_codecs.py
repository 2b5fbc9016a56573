"""The program's encodings for HTTP players, each fed one ``(960, 2)`` frame per tick, once per room.

- ``OggOpusStream``: Ogg/Opus pages (RFC 7845); a player joining mid-stream gets ``header``
  (OpusHead, OpusTags) and then the same pages as everyone else.
- ``Mp3Stream``: MPEG-1 layer III frames from LAME, constant bit rate, any frame a place to start.
- ``AacSegments``: HLS packed audio (ADTS AAC), cut into segments of at most 2 s, each starting
  with the ID3 timestamp tag that packed-audio HLS asks for; a sliding window of them.
"""

from __future__ import annotations

import random
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any, BinaryIO

import av
import numpy as np

from .audio import CHANNELS, SAMPLE_RATE
from .encoder import OpusFrameEncoder

OPUS_PRE_SKIP = 312  # libopus's lookahead at 48 kHz
VENDOR = b"OnAir"


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _ogg_crc_table()


def ogg_crc(data: bytes) -> int:
    """The CRC-32 of Ogg pages (polynomial 0x04c11db7, not reflected, no final xor)."""
    crc = 0
    table = _CRC
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def ogg_page(packets: list[bytes], *, serial: int, sequence: int, granule: int, flags: int = 0) -> bytes:
    """One Ogg page holding whole ``packets`` (each under 255 * 255 bytes)."""
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    if len(lacing) > 255:
        raise ValueError("too many packets for one Ogg page")
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    page[22:26] = struct.pack("<I", ogg_crc(bytes(page)))
    return bytes(page)


def ogg_opus_extent(file: BinaryIO) -> tuple[int, int]:
    """What an Ogg/Opus file cut short (a crash mid-write) still holds whole: the length of its
    complete pages and the duration in ms they carry (granule less the pre-skip). A page is
    complete when all of it is there; the last one must also pass its CRC. Reads page headers
    only, seeking over the bodies."""
    size = file.seek(0, 2)
    pages: list[tuple[int, int, int]] = []  # (start, end, granule)
    at = 0
    while at + 27 <= size:
        file.seek(at)
        header = file.read(27)
        if header[:4] != b"OggS":
            break
        end = at + 27 + header[26] + sum(file.read(header[26]))
        if end > size:
            break
        pages.append((at, end, struct.unpack_from("<q", header, 6)[0]))
        at = end
    while pages:
        start, end, granule = pages.pop()
        file.seek(start)
        page = bytearray(file.read(end - start))
        crc = struct.unpack_from("<I", page, 22)[0]
        page[22:26] = bytes(4)
        if ogg_crc(bytes(page)) == crc:
            return end, max(0, granule - OPUS_PRE_SKIP) * 1000 // SAMPLE_RATE
    return 0, 0


class OggOpusStream:
    """Ogg/Opus, ``packets_per_page`` 20 ms packets a page; ``feed`` returns a page or ``b""``."""

    def __init__(self, *, bitrate: int = 96_000, packets_per_page: int = 10, title: str = "") -> None:
        self._encoder = OpusFrameEncoder(bitrate)
        self.serial = random.getrandbits(32)
        head = b"OpusHead" + struct.pack("<BBHIhB", 1, CHANNELS, OPUS_PRE_SKIP, SAMPLE_RATE, 0, 0)
        comments = [f"TITLE={title}".encode()] if title else []
        tags = b"OpusTags" + struct.pack("<I", len(VENDOR)) + VENDOR + struct.pack("<I", len(comments))
        tags += b"".join(struct.pack("<I", len(c)) + c for c in comments)
        self.header = (ogg_page([head], serial=self.serial, sequence=0, granule=0, flags=0x02)
                       + ogg_page([tags], serial=self.serial, sequence=1, granule=0))
        self._per_page = packets_per_page
        self._packets: list[bytes] = []
        self._sequence = 2
        self._granule = 0

    def feed(self, frame: np.ndarray) -> bytes:
        self._packets.append(self._encoder.encode(frame))
        self._granule += len(frame)
        if len(self._packets) < self._per_page:
            return b""
        return self._page()

    def finish(self) -> bytes:
        """The last page (end of stream), with whatever packets are left."""
        return self._page(flags=0x04)

    @property
    def duration_ms(self) -> int:
        """The length of what was fed, pre-skip excluded (what a player shows)."""
        return max(0, self._granule - OPUS_PRE_SKIP) * 1000 // SAMPLE_RATE

    def _page(self, flags: int = 0) -> bytes:
        page = ogg_page(self._packets, serial=self.serial, sequence=self._sequence, granule=self._granule,
                        flags=flags)
        self._packets = []
        self._sequence += 1
        return page


class _FixedFrames:
    """A PyAV encoder fed any number of samples, encoding in its own frame size."""

    def __init__(self, codec: str, bitrate: int, options: dict[str, str] | None = None) -> None:
        ctx: Any = av.CodecContext.create(codec, "w")
        ctx.sample_rate = SAMPLE_RATE
        ctx.layout = "stereo"
        ctx.format = "fltp"
        ctx.bit_rate = bitrate
        ctx.options = options or {}
        ctx.open()
        self._ctx = ctx
        self.frame_size: int = ctx.frame_size
        self.extradata: bytes = bytes(ctx.extradata or b"")
        self._pending = np.zeros((CHANNELS, 0), dtype=np.float32)
        self._pts = 0

    def encode(self, frame: np.ndarray) -> list[bytes]:
        planar = np.clip(frame, -1.0, 1.0).T.astype(np.float32)
        self._pending = np.concatenate((self._pending, planar), axis=1)
        out: list[bytes] = []
        size = self.frame_size
        while self._pending.shape[1] >= size:
            chunk = np.ascontiguousarray(self._pending[:, :size])
            self._pending = self._pending[:, size:]
            audio = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            audio.sample_rate = SAMPLE_RATE
            audio.pts = self._pts
            self._pts += size
            out.extend(bytes(p) for p in self._ctx.encode(audio))
        return out


class Mp3Stream:
    """Constant bit rate MP3 (LAME); ``feed`` returns the whole frames made so far (often ``b""``)."""

    def __init__(self, *, bitrate: int = 128_000) -> None:
        # LAME's -q 7 ("fast"): 300 us a frame instead of 540 at the default -q 5 (measured on noise,
        # PyAV 18.1); at 128 kbit/s the difference is not what a radio listener hears.
        self._encoder = _FixedFrames("libmp3lame", bitrate, {"compression_level": "7"})
        self.bitrate = bitrate

    def feed(self, frame: np.ndarray) -> bytes:
        return b"".join(self._encoder.encode(frame))


def adts_header(length: int, *, rate_index: int = 3, channels: int = CHANNELS) -> bytes:
    """The 7-byte ADTS header of one AAC-LC frame of ``length`` bytes (48 kHz: index 3)."""
    full = length + 7
    return bytes((
        0xFF, 0xF1,
        (1 << 6) | (rate_index << 2) | (channels >> 2),
        ((channels & 3) << 6) | (full >> 11),
        (full >> 3) & 0xFF,
        ((full & 7) << 5) | 0x1F,
        0xFC,
    ))


def id3_timestamp(pts_90k: int) -> bytes:
    """The ID3v2.4 tag with Apple's ``transportStreamTimestamp`` PRIV frame (packed-audio HLS)."""
    data = b"com.apple.streaming.transportStreamTimestamp\x00" + struct.pack(">Q", pts_90k % (1 << 33))
    frame = b"PRIV" + _syncsafe(len(data)) + b"\x00\x00" + data
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


@dataclass
class Segment:
    """One HLS segment: its media sequence number, its length and its bytes."""

    sequence: int
    duration_s: float
    data: bytes


class AacSegments:
    """AAC-LC in ADTS, cut every ``frames_per_segment`` AAC frames (93 at 48 kHz: 1.984 s), the
    first one after ``first_frames`` (24: 0.512 s, so the first player waits half a second, not
    two); the last ``window`` segments are kept. ``feed`` returns a segment when one was completed."""

    def __init__(self, *, bitrate: int = 128_000, frames_per_segment: int = 93, first_frames: int = 24,
                 window: int = 6) -> None:
        self._encoder = _FixedFrames("aac", bitrate)
        self._per_segment = frames_per_segment
        self._first = min(first_frames, frames_per_segment)
        self.segments: deque[Segment] = deque(maxlen=window)
        self._frames: list[bytes] = []
        self._first_sample = 0
        self._samples = 0
        self._sequence = 0

    @property
    def target_duration_s(self) -> float:
        return self._per_segment * self._encoder.frame_size / SAMPLE_RATE

    def feed(self, frame: np.ndarray) -> Segment | None:
        done: Segment | None = None
        for packet in self._encoder.encode(frame):
            self._frames.append(adts_header(len(packet)) + packet)
            if len(self._frames) == (self._per_segment if self._sequence else self._first):
                done = self._cut()
        return done

    def _cut(self) -> Segment:
        size = self._encoder.frame_size
        pts = self._first_sample * 90_000 // SAMPLE_RATE
        segment = Segment(self._sequence, len(self._frames) * size / SAMPLE_RATE,
                          id3_timestamp(pts) + b"".join(self._frames))
        self.segments.append(segment)
        self._first_sample += len(self._frames) * size
        self._frames = []
        self._sequence += 1
        return segment

    def segment(self, sequence: int) -> Segment | None:
        for segment in self.segments:
            if segment.sequence == sequence:
                return segment
        return None

    def playlist(self, uri: str = "{}.aac") -> str:
        """The live media playlist of the window (``uri`` formats a segment's sequence number)."""
        target = int(np.ceil(self.target_duration_s))
        lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}"]
        first = self.segments[0].sequence if self.segments else 0
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
        for segment in self.segments:
            lines += [f"#EXTINF:{segment.duration_s:.3f},", uri.format(segment.sequence)]
        return "\n".join(lines) + "\n"
