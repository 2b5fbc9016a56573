"""``/api/tracks``: search the library and upload to it; ``/api/library/rescan`` for the operator.

An upload (multipart field ``file``) is streamed chunk by chunk to
``<data_dir>/uploads/.incoming/`` while its bytes are counted (over the limit:
reading stops, 413). Then, in a worker thread, it is opened with PyAV and
decoded to the end: not a media file or no audio stream -> 415; audio that
cannot be opened or decoded, decodes to nothing, or is shorter than its own
header says (a truncated file) -> 400. Only then is it moved (under a sanitized,
unique name) into ``<data_dir>/uploads/``, written to the store and given to the
library. Whatever fails, or if the client goes away, the temporary file is
deleted and no row is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import secrets
import unicodedata
from pathlib import Path, PurePosixPath

import aiohttp
import av
from aiohttp import BodyPartReader, web

from mixer import AUDIO_EXTENSIONS, Track, track_id_for
from mixer.library import read_track

from . import library_sync
from .errors import ApiError
from .operator_api import _require_operator
from .store import Store
from .tokens import bearer, same

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file, in a Content-Length
CHUNK = 256 * 1024
UPLOADER_ROLES = frozenset({"host", "moderator"})
LIBRARY_WAIT_S = 5.0  # how long an upload waits for the library to include it before answering
MAX_NAME_BYTES = 180  # of a stored file name's stem (file systems allow 255 bytes in all)
TRUNCATION_SLACK_MS = 300  # decoded audio may fall this short of the header's length (or 2 %)
SNIFF_BYTES = 64 * 1024
OGG_TAIL_BYTES = 2 * 65_307 + 27  # holds the whole last page (at most 65,307 bytes)


# --- GET /api/tracks -----------------------------------------------------------------------


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int | None = None) -> int:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < lo:
        raise ApiError("bad_request", f"'{name}' must be an integer from {lo}")
    value = int(raw)
    return value if hi is None else min(value, hi)


async def list_tracks(request: web.Request) -> web.Response:
    """``[track]``: by relevance for ``q``, else by artist then title."""
    from .app import STORE

    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0)
    q = request.query.get("q", "")
    return web.json_response(request.app[STORE].search_tracks(q, limit, offset))


# --- POST /api/tracks ----------------------------------------------------------------------


def _authorize_upload(request: web.Request) -> None:
    """A room's host token, or the resume token of a connected host or moderator; else 401 / 403."""
    from .app import REGISTRY

    token = bearer(request.headers.get("Authorization"))
    if token is None:
        raise ApiError("unauthorized", "uploading needs 'Authorization: Bearer <host or resume token>'")
    rooms = [room for room in request.app[REGISTRY].rooms.values() if not room.ended]
    for room in rooms:
        for participant in room.participants.values():
            if participant.connected and same(participant.resume_token, token):
                if participant.role in UPLOADER_ROLES:
                    return
                raise ApiError("forbidden", "only a host or a moderator may upload tracks")
    if any(room.is_host_token(token) for room in rooms):
        return
    raise ApiError("unauthorized", "this token is not a host's or a moderator's")


async def _file_part(request: web.Request) -> BodyPartReader:
    """The multipart part named ``file`` (parts before it are read and dropped, counted in the limit)."""
    try:
        reader = await request.multipart()
    except (AssertionError, KeyError, ValueError):
        raise ApiError("bad_request", "the body must be multipart/form-data with a 'file' field") from None
    skipped = 0
    while True:
        try:
            part = await reader.next()
        except (ValueError, AssertionError, aiohttp.ClientError, ConnectionError) as exc:
            raise ApiError("bad_request", f"malformed multipart body ({exc.__class__.__name__})") from None
        if part is None:
            raise ApiError("bad_request", "no 'file' field in the form")
        if not isinstance(part, BodyPartReader):
            raise ApiError("bad_request", "nested multipart bodies are not accepted")
        if part.name == "file":
            return part
        while chunk := await part.read_chunk(CHUNK):
            skipped += len(chunk)
            if skipped > MULTIPART_SLACK:
                raise ApiError("bad_request", "form fields other than 'file' are too long")


def _extension(filename: str | None) -> str:
    if not filename:
        raise ApiError("bad_request", "the 'file' field must be a file (with a filename)")
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        allowed = ", ".join(sorted(ext[1:] for ext in AUDIO_EXTENSIONS))
        raise ApiError("unsupported", f"only audio files are accepted ({allowed})")
    return suffix


async def _receive(part: BodyPartReader, path: Path, limit: int) -> int:
    """Stream the part into a new file at ``path``; its size. Over ``limit`` bytes: 413, at once."""
    size = 0
    with open(path, "xb") as out:
        while True:
            try:
                chunk = await part.read_chunk(CHUNK)
            except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                raise ApiError("bad_request", f"the upload was interrupted ({exc.__class__.__name__})") from None
            if not chunk:
                return size
            size += len(chunk)
            if size > limit:
                raise ApiError("too_large", f"the file is over the upload limit of {_megabytes(limit)}")
            out.write(chunk)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


async def upload_track(request: web.Request) -> web.Response:
    from .app import LIBRARY, SETTINGS, STORE

    _authorize_upload(request)
    settings = request.app[SETTINGS]
    limit = int(getattr(settings, "max_upload_bytes", DEFAULT_MAX_UPLOAD_BYTES))
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise ApiError("too_large", f"the file is over the upload limit of {_megabytes(limit)}")
    part = await _file_part(request)
    filename = part.filename
    ext = _extension(filename)
    incoming = library_sync.incoming_dir(settings)
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{secrets.token_hex(8)}{ext}"
    scans = library_sync.scans(request.app)
    try:
        await _receive(part, temp, limit)
        track = await asyncio.to_thread(check_audio, temp)
        async with scans.commit:
            # Shielded: once the file is being moved into place, the row follows (or neither is left).
            track = await asyncio.shield(
                asyncio.to_thread(
                    _commit, request.app[STORE], temp, library_sync.uploads_dir(settings),
                    safe_filename(filename, ext), track,
                )
            )
            scans.note_upload(request.app[LIBRARY], track)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    log.info("upload: %s (%s, %d bytes) added as %s", track.path.name, track.title, track.size, track.track_id)
    refreshed = scans.request(request.app[LIBRARY], request.app[STORE])
    await asyncio.wait([refreshed], timeout=LIBRARY_WAIT_S)  # queueable right away, unless a long scan runs
    return web.json_response(track.to_json(), status=201)


def _commit(store: Store, temp: Path, folder: Path, name: str, track: Track) -> Track:
    """Move the checked file into ``folder`` and write its row; on failure neither is left."""
    placed = place_upload(temp, folder, name)
    try:
        stat = placed.stat()
        track = dataclasses.replace(
            track, track_id=track_id_for(placed), path=placed.resolve(), mtime=stat.st_mtime, size=stat.st_size
        )
        store.upsert_track(**track.to_record())
    except BaseException:
        placed.unlink(missing_ok=True)
        raise
    return track


# --- names and placement -------------------------------------------------------------------

_NAME_OK = frozenset(" -_.,()[]'&+!#@=~")


def safe_filename(filename: str | None, ext: str) -> str:
    """A stored file name from a client's: its last path component, letters, digits and a few
    punctuation marks only (the rest becomes ``_``), no leading dot, at most ``MAX_NAME_BYTES``
    (UTF-8) before ``ext``."""
    base = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    if base.lower().endswith(ext):
        base = base[: -len(ext)]
    stem = "".join(ch if ch.isalnum() or ch in _NAME_OK else "_" for ch in base)
    stem = re.sub(r"\s+", " ", stem).strip(" ._-")
    encoded = stem.encode("utf-8")[:MAX_NAME_BYTES]
    stem = encoded.decode("utf-8", "ignore").rstrip(" ._-")
    return f"{stem or 'upload'}{ext}"


def place_upload(temp: Path, folder: Path, name: str) -> Path:
    """Move ``temp`` to ``folder/name`` (``name (2)`` ... if taken), never replacing a file; the path.

    The data is fsynced before the name appears; a hard link makes the move atomic and
    exclusive (where hard links are not supported: an exclusive placeholder, then a rename).
    """
    with open(temp, "rb") as f:
        os.fsync(f.fileno())
    folder.mkdir(parents=True, exist_ok=True)
    stem, ext = os.path.splitext(name)
    for n in range(1, 1000):
        target = folder / (name if n == 1 else f"{stem} ({n}){ext}")
        try:
            os.link(temp, target)
        except FileExistsError:
            continue
        except OSError:  # no hard links here
            try:
                os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                continue
            try:
                os.replace(temp, target)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        else:
            temp.unlink()
        _fsync_dir(folder)
        return target
    raise ApiError("conflict", "too many uploads with this name")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- is it audio, and whole? ---------------------------------------------------------------


def check_audio(path: Path) -> Track:
    """The track of an uploaded file (tags, duration, loudness) if it is whole, playable audio.

    Raises ``ApiError``: ``unsupported`` when it is not a media file or holds no audio;
    ``bad_request`` when it is empty, cannot be opened or decoded, decodes to nothing, or is
    truncated (shorter than its header declares, a cut-off last packet or Ogg page).
    Blocking (decodes the whole file): run it in a worker thread.
    """
    stat = path.stat()
    if stat.st_size == 0:
        raise ApiError("bad_request", "the file is empty")
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        if _looks_like_audio(head):
            raise ApiError("bad_request", f"unreadable audio file ({_reason(exc)})") from None
        raise ApiError("unsupported", "not an audio file") from None
    with container:
        if not container.streams.audio:
            raise ApiError("unsupported", "the file holds no audio")
        stream = container.streams.audio[0]
        decoded_ms, last_corrupt = _decode_all(container, stream)
        header_ms = float(stream.duration * stream.time_base * 1000) if stream.duration and stream.time_base else None
        format_name = container.format.name or ""
    if decoded_ms <= 0:
        raise ApiError("bad_request", "no audio could be decoded from the file")
    if last_corrupt:
        raise ApiError("bad_request", "the file is truncated (its last packet is cut off)")
    declared = _declared_ms(path, head, format_name, header_ms)
    if declared and decoded_ms < declared - max(TRUNCATION_SLACK_MS, 0.02 * declared):
        raise ApiError(
            "bad_request",
            f"the file is truncated: {decoded_ms / 1000:.1f} s of audio where its header says "
            f"{declared / 1000:.1f} s",
        )
    if head.startswith(b"OggS") and not _ogg_ends_cleanly(path, stat.st_size):
        raise ApiError("bad_request", "the file is truncated (its Ogg stream does not end)")
    if head[:4] in (b"RIFF", b"RF64") and _wav_data_missing(path, stat.st_size):
        raise ApiError("bad_request", "the file is truncated (shorter than its WAV header says)")
    try:
        track = read_track(path, stat)
    except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise ApiError("bad_request", f"unreadable audio file ({_reason(exc)})") from None
    if track.duration_ms <= 0:
        raise ApiError("bad_request", "the file's duration is 0")
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
            "bad_request", f"the audio cannot be decoded after {decoded_ms / 1000:.1f} s ({_reason(exc)})"
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
        sync = next((i for i in range(len(first) - 1) if first[i] == 0xFF and first[i + 1] & 0xE0 == 0xE0), None)
        if sync is not None:
            frame = first[sync : sync + 64]
            if b"Xing" in frame or b"Info" in frame or frame[36:40] == b"VBRI":
                return header_ms
        return None
    if "mp4" in format_name.split(","):
        return header_ms
    return None


def _id3_end(f) -> int:  # type: ignore[no-untyped-def]
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


async def rescan_library(request: web.Request) -> web.Response:
    """The operator asks for a rescan of the music folders: 202 (it runs in the background), 409 if one runs."""
    _require_operator(request)
    if not library_sync.start_rescan(request.app):
        raise ApiError("conflict", "a library scan is already running")
    return web.json_response({"status": "scanning"}, status=202)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/tracks", list_tracks)
    app.router.add_post("/api/tracks", upload_track)
    app.router.add_post("/api/library/rescan", rescan_library)
    library_sync.install(app)
