"""``/api/tracks``: search the library and upload to it; ``/api/library/rescan`` and
``DELETE /api/tracks/{track_id}`` for the operator.

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
from urllib.parse import unquote

import aiohttp
from aiohttp import BodyPartReader, web

from mixer import AUDIO_EXTENSIONS, Track, track_id_for

from ..errors import ApiError
from ..keys import LIBRARY, REGISTRY, SCANS, SETTINGS, STORE
from ..model import library_sync
from ..model.audio_check import check_audio
from ..store import Store
from ..tokens import bearer, same
from ..validate import display_title, track_edits
from .library_bus import drop_from_rooms, settle, tell_workers
from .requests import json_body, require_operator

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file, in a Content-Length
CHUNK = 256 * 1024
UPLOADER_ROLES = frozenset({"host", "moderator"})
MAX_NAME_BYTES = 180  # of a stored file name's stem (file systems allow 255 bytes in all)


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
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0)
    q = request.query.get("q", "")
    return web.json_response(request.app[STORE].search_tracks(q, limit, offset))


# --- POST /api/tracks ----------------------------------------------------------------------


def _authorize_upload(request: web.Request, doing: str = "upload tracks") -> None:
    """A room's host token, or the resume token of a connected host or moderator; else 401 / 403."""
    token = bearer(request.headers.get("Authorization"))
    if token is None:
        raise ApiError("unauthorized", f"to {doing}, send 'Authorization: Bearer <host or resume token>'")
    rooms = [room for room in request.app[REGISTRY].rooms.values() if not room.ended]
    for room in rooms:
        for participant in room.participants.values():
            if participant.connected and same(participant.resume_token, token):
                if participant.role in UPLOADER_ROLES:
                    return
                raise ApiError("forbidden", f"only a host or a moderator may {doing}")
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
        try:
            while chunk := await part.read_chunk(CHUNK):
                skipped += len(chunk)
                if skipped > MULTIPART_SLACK:
                    raise ApiError("bad_request", "form fields other than 'file' are too long")
        except (ValueError, aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError) as exc:
            raise ApiError("bad_request", f"malformed multipart body ({exc.__class__.__name__})") from None


def _extension(filename: str | None) -> str:
    if not filename:
        raise ApiError("bad_request", "the 'file' field must be a file (with a filename)")
    suffix = PurePosixPath(unquote(filename, errors="replace").replace("\\", "/")).suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        allowed = ", ".join(sorted(ext[1:] for ext in AUDIO_EXTENSIONS))
        raise ApiError("unsupported", f"only audio files are accepted ({allowed})", "upload_wrong_type")
    return suffix


async def _receive(part: BodyPartReader, path: Path, limit: int) -> int:
    """Stream the part into a new file at ``path``; its size. Over ``limit`` bytes: 413, at once."""
    size = 0
    with open(path, "xb") as out:
        while True:
            try:
                chunk = await part.read_chunk(CHUNK)
            except (aiohttp.ClientError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                log.info("upload interrupted after %d bytes: %r", size, exc)
                raise ApiError(
                    "bad_request", f"the upload was interrupted ({exc.__class__.__name__})"
                ) from None
            if not chunk:
                return size
            size += len(chunk)
            if size > limit:
                raise ApiError("too_large", f"the file is over the upload limit of {_megabytes(limit)}",
                               "upload_too_large", limit_bytes=limit)
            out.write(chunk)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


async def upload_track(request: web.Request) -> web.Response:
    _authorize_upload(request)
    settings = request.app[SETTINGS]
    limit = settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise ApiError("too_large", f"the file is over the upload limit of {_megabytes(limit)}",
                       "upload_too_large", limit_bytes=limit)
    part = await _file_part(request)
    filename = part.filename
    ext = _extension(filename)
    incoming = library_sync.incoming_dir(settings)
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{secrets.token_hex(8)}{ext}"
    scans = request.app[SCANS]
    try:
        await _receive(part, temp, limit)
        track = titled(await asyncio.to_thread(_checked, temp), temp, filename)
        async with scans.commit:
            # Shielded: once the file is being moved into place, the row follows (or neither is left).
            track = await asyncio.shield(
                asyncio.to_thread(
                    _commit,
                    request.app[STORE],
                    temp,
                    library_sync.uploads_dir(settings),
                    safe_filename(filename, ext),
                    track,
                )
            )
            scans.note_upload(request.app[LIBRARY], track)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    log.info(
        "upload: %s (%s, %d bytes) added as %s", track.path.name, track.title, track.size, track.track_id
    )
    await settle(request.app)  # queueable right away, unless a long scan runs
    await tell_workers(request.app, changed=[track.track_id])
    return web.json_response(track.to_json(), status=201)


def _checked(path: Path) -> Track:
    """``check_audio``, with anything unforeseen from the decoder taken as an unreadable file."""
    try:
        return check_audio(path)
    except ApiError:
        raise
    except Exception:
        log.warning("unexpected failure checking an upload", exc_info=True)
        raise ApiError("bad_request", "unreadable audio file", "upload_unreadable") from None


def _commit(store: Store, temp: Path, folder: Path, name: str, track: Track) -> Track:
    """Move the checked file into ``folder`` and write its row; on failure neither is left."""
    placed = place_upload(temp, folder, name)
    try:
        stat = placed.stat()
        track = dataclasses.replace(
            track,
            track_id=track_id_for(placed),
            path=placed.resolve(),
            mtime=stat.st_mtime,
            size=stat.st_size,
        )
        store.upsert_track(**track.to_record())
    except BaseException:
        placed.unlink(missing_ok=True)
        raise
    return track


# --- names and placement -------------------------------------------------------------------


def titled(track: Track, temp: Path, filename: str | None) -> Track:
    """``track`` titled from the client's file name when the file has no title tag (the library
    would have named it after ``temp``, a random name)."""
    if track.title != temp.stem:
        return track
    return dataclasses.replace(track, title=display_title(filename))


_NAME_OK = frozenset(" -_.,()[]'&+!#@=~")


def safe_filename(filename: str | None, ext: str) -> str:
    """A stored file name from a client's: its last path component, letters, digits and a few
    punctuation marks only (the rest becomes ``_``), no leading dot, at most ``MAX_NAME_BYTES``
    (UTF-8) before ``ext``."""
    base = unquote(filename or "", errors="replace")  # aiohttp clients percent-encode; browsers escape '"'
    base = unicodedata.normalize("NFC", base.replace("\\", "/").rsplit("/", 1)[-1])
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


# --- PATCH /api/tracks/{track_id} ----------------------------------------------------------


def _authorize_edit(request: web.Request) -> None:
    """The operator anywhere; else as for an upload (a host or moderator of a live room)."""
    admin = request.app[SETTINGS].admin_token
    if not (admin and same(bearer(request.headers.get("Authorization")), admin)):
        _authorize_upload(request, "edit tracks")


async def edit_track(request: web.Request) -> web.Response:
    """A host or moderator (or the operator) renames a track: search, the library and every room's
    queue show it at once, and later scans keep it while the file is unchanged; 200 track."""
    _authorize_edit(request)
    edits = track_edits(await json_body(request))
    app, track_id = request.app, request.match_info["track_id"]
    scans = app[SCANS]
    async with scans.commit:  # not while a scan saves what it read
        row = app[STORE].edit_track(track_id, **edits)
        if row is None:
            raise ApiError("not_found", "There is no such track: it may have been deleted.")
        track = Track.from_record(row)
        scans.note_upload(app[LIBRARY], track)  # the next scans reuse it, edited
    await settle(app, [track])
    await tell_workers(app, changed=[track_id])
    log.info("track %s edited: %s", track_id, edits)
    return web.json_response(track.to_json())


# --- DELETE /api/tracks/{track_id} ---------------------------------------------------------


async def delete_track(request: web.Request) -> web.Response:
    """The operator removes a track: gone from search, from every room's queue and rotation (a room
    playing it goes on to its next track at once), its file deleted if it was an upload; 204."""
    require_operator(request)
    app, track_id = request.app, request.match_info["track_id"]
    scans = app[SCANS]
    async with scans.commit:  # not while a scan saves its result or an upload commits
        row = app[STORE].remove_track(track_id)  # its path is remembered: scans leave it out
        track = app[LIBRARY].remove(track_id)
        if row is None:
            if track is None:
                raise ApiError("not_found", "no track with this id")
            row = track.to_record()
        path = Path(row["path"])
        scans.fresh.pop(path, None)
    drop_from_rooms(app, [track_id])
    await tell_workers(app, removed=[track_id])
    upload = path.resolve().is_relative_to(library_sync.uploads_dir(app[SETTINGS]).resolve())
    if upload:
        await asyncio.to_thread(_delete_file, path)
    app[STORE].audit(
        "operator_delete_track",
        actor_name="operator",
        target_id=track_id,
        detail={"title": row["title"], "artist": row["artist"], "upload": upload},
    )
    log.info("track %s deleted by the operator (%s)", track_id, "file removed" if upload else "file kept")
    return web.Response(status=204)


def _delete_file(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not delete the uploaded file %s", path, exc_info=True)
        return
    _fsync_dir(path.parent)


async def rescan_library(request: web.Request) -> web.Response:
    """``POST /api/library/rescan`` (operator): scan the music folders again, in the background."""
    require_operator(request)
    if not start_rescan(request.app):
        raise ApiError("conflict", "a library scan is already running")
    return web.json_response({"status": "scanning"}, status=202)


def start_rescan(app: web.Application) -> bool:
    """Start a background rescan of the library unless one is running (then False)."""
    return app[SCANS].start(app[LIBRARY], app[STORE])


async def rescan(app: web.Application) -> list[Track]:
    """Rescan the library (only new and changed files are read), save it, and return its tracks.

    Waits for a rescan that starts after this call; callers meanwhile share it.
    Raises ``ScanCancelled`` when the server is shutting down.
    """
    return await app[SCANS].request(app[LIBRARY], app[STORE])
