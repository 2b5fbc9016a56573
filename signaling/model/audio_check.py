"""Is an uploaded file audio we can play, whole? (PyAV decode to the end, header checks.)

Not a media file or no audio stream -> ``unsupported`` (415); audio that cannot
be opened or decoded, decodes to nothing, or is shorter than its own header
says (a truncated file) -> ``bad_request`` (400).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import av

from mixer import Track
from mixer.library import read_track

from ..errors import ApiError

TRUNCATION_SLACK_MS = 300  # decoded audio may fall this short of the header's length (or 2 %)
SNIFF_BYTES = 64 * 1024
OGG_TAIL_BYTES = 2 * 65_307 + 27  # holds the whole last page (at most 65,307 bytes)
# The refusals' reasons, for the page's message catalogs (web/i18n/*/desk.json error.reason.*)
_TRUNCATED, _UNREADABLE = "upload_truncated", "upload_unreadable"


def check_audio(path: Path) -> Track:
    """The track of an uploaded file (tags, duration, loudness) if it is whole, playable audio.

    Raises ``ApiError``: ``unsupported`` when it is not a media file or holds no audio;
    ``bad_request`` when it is empty, cannot be opened or decoded, decodes to nothing, or is
    truncated (shorter than its header declares, a cut-off last packet or Ogg page).
    Blocking (decodes the whole file): run it in a worker thread.
    """
    stat = path.stat()
    if stat.st_size == 0:
        raise ApiError("bad_request", "the file is empty", "upload_empty")
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        if _looks_like_audio(head):
            raise ApiError("bad_request", f"unreadable audio file ({_reason(exc)})", _UNREADABLE) from None
        raise ApiError("unsupported", "not an audio file", "upload_not_audio") from None
    with container:
        if not container.streams.audio:
            raise ApiError("unsupported", "the file holds no audio", "upload_no_audio")
        stream = container.streams.audio[0]
        decoded_ms, last_corrupt = _decode_all(container, stream)
        header_ms = (
            float(stream.duration * stream.time_base * 1000) if stream.duration and stream.time_base else None
        )
        format_name = container.format.name or ""
    if decoded_ms <= 0:
        raise ApiError("bad_request", "no audio could be decoded from the file", "upload_undecodable")
    if last_corrupt:
        raise ApiError("bad_request", "the file is truncated (its last packet is cut off)", _TRUNCATED)
    declared = _declared_ms(path, head, format_name, header_ms)
    if declared and decoded_ms < declared - max(TRUNCATION_SLACK_MS, 0.02 * declared):
        raise ApiError(
            "bad_request",
            f"the file is truncated: {decoded_ms / 1000:.1f} s of audio where its header says "
            f"{declared / 1000:.1f} s", _TRUNCATED,
        )
    if head.startswith(b"OggS") and not _ogg_ends_cleanly(path, stat.st_size):
        raise ApiError("bad_request", "the file is truncated (its Ogg stream does not end)", _TRUNCATED)
    if head[:4] in (b"RIFF", b"RF64") and _wav_data_missing(path, stat.st_size):
        raise ApiError("bad_request", "the file is truncated (shorter than its WAV header says)", _TRUNCATED)
    try:
        track = read_track(path, stat)
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise ApiError("bad_request", f"unreadable audio file ({_reason(exc)})", _UNREADABLE) from None
    if track.duration_ms <= 0:
        raise ApiError("bad_request", "the file's duration is 0", "upload_undecodable")
    return track


def _reason(exc: BaseException) -> str:
    """An FFmpeg error without the file's path."""
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return str(exc.strerror)
    return exc.__class__.__name__


def _decode_all(container: av.container.InputContainer, stream: av.AudioStream) -> tuple[float, bool]:
    """Decode every packet: the audio's length in ms and whether the last packet was cut off."""
    decoded_ms = 0.0
    last_corrupt = False
    try:
        for packet in container.demux(stream):
            if packet.size:
                last_corrupt = packet.is_corrupt
            for frame in packet.decode():
                if frame.sample_rate:
                    decoded_ms += frame.samples * 1000.0 / frame.sample_rate
    except (av.FFmpegError, ValueError) as exc:
        raise ApiError(
            "bad_request", f"the audio cannot be decoded after {decoded_ms / 1000:.1f} s ({_reason(exc)})",
            "upload_undecodable",
        ) from None
    return decoded_ms, last_corrupt


def _looks_like_audio(head: bytes) -> bool:
    """Whether the first bytes are those of an audio format we take (so a failure to open is damage)."""
    if head.startswith((b"ID3", b"OggS", b"fLaC")):
        return True
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return True
    if head[4:8] == b"ftyp":
        return True
    if len(head) >= 3 and head[0] == 0xFF:
        b1, b2 = head[1], head[2]
        if b1 & 0xF6 == 0xF0:  # AAC ADTS
            return True
        version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
        # MPEG audio layer II or III with a valid bitrate and sample rate (a UTF-16 BOM is not)
        return b1 & 0xE0 == 0xE0 and version != 1 and layer in (1, 2) and b2 >> 4 != 15 and (b2 >> 2) & 3 != 3
    return False


def _declared_ms(path: Path, head: bytes, format_name: str, header_ms: float | None) -> float | None:
    """The length the file's own header declares, where that is exact (not estimated): FLAC's
    STREAMINFO, an MP3's Xing/Info/VBRI header, an MP4's moov; else None."""
    with open(path, "rb") as f:
        start = _id3_end(f)
        f.seek(start)
        first = f.read(4096)
    if first.startswith(b"fLaC") and len(first) >= 8 + 18 and first[4] & 0x7F == 0:
        info = first[8:42]
        rate = int.from_bytes(info[10:13], "big") >> 4
        total = int.from_bytes(info[13:18], "big") & 0xF_FFFF_FFFF
        return total * 1000.0 / rate if rate and total else None
    if format_name == "mp3":
        sync = next(
            (i for i in range(len(first) - 1) if first[i] == 0xFF and first[i + 1] & 0xE0 == 0xE0), None
        )
        if sync is not None:
            frame = first[sync : sync + 64]
            if b"Xing" in frame or b"Info" in frame or frame[36:40] == b"VBRI":
                return header_ms
        return None
    if "mp4" in format_name.split(","):
        return header_ms
    return None


def _id3_end(f: BinaryIO) -> int:
    """Where the audio starts after a leading ID3v2 tag (0 without one)."""
    f.seek(0)
    h = f.read(10)
    if len(h) == 10 and h.startswith(b"ID3"):
        size = (h[6] & 0x7F) << 21 | (h[7] & 0x7F) << 14 | (h[8] & 0x7F) << 7 | (h[9] & 0x7F)
        return 10 + size + (10 if h[5] & 0x10 else 0)
    return 0


def _wav_data_missing(path: Path, size: int) -> bool:
    """Whether a RIFF/WAVE file's ``data`` chunk claims more bytes than the file has."""
    with open(path, "rb") as f:
        f.seek(12)
        for _ in range(64):
            header = f.read(8)
            if len(header) < 8:
                return False
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):  # streamed (unknown length) or RF64
                    return False
                return f.tell() + chunk_size > size
            f.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)
    return False


def _ogg_crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_OGG_CRC = _ogg_crc_table()


def _ogg_crc(data: bytes | bytearray) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _ogg_page_end(buf: bytes, pos: int) -> int | None:
    """The end of a whole, valid (CRC-checked) Ogg page at ``pos`` in ``buf``; None if it is not one."""
    if pos + 27 > len(buf) or buf[pos + 4] != 0:
        return None
    body = pos + 27 + buf[pos + 26]
    if body > len(buf):
        return None
    end = body + sum(buf[pos + 27 : body])
    if end > len(buf):
        return None
    page = bytearray(buf[pos:end])
    page[22:26] = b"\0\0\0\0"
    return end if _ogg_crc(page) == int.from_bytes(buf[pos + 22 : pos + 26], "little") else None


def _ogg_ends_cleanly(path: Path, size: int) -> bool:
    """Whether an Ogg file ends exactly with a whole page that carries the end-of-stream flag."""
    with open(path, "rb") as f:
        f.seek(max(0, size - OGG_TAIL_BYTES))
        tail = f.read()
    pos = tail.rfind(b"OggS")
    while pos >= 0:
        end = _ogg_page_end(tail, pos)
        if end is not None:
            return end == len(tail) and bool(tail[pos + 5] & 0x04)
        pos = tail.rfind(b"OggS", 0, pos)
    return False


# --- POST /api/library/rescan ----------------------------------------------------------------


