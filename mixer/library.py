"""The music library: audio files found under some folders, with tags, durations and loudness.

Every track's integrated loudness (EBU R128) is measured once, when a scan
first meets the file, on its decoded 48 kHz audio (``loudness.measure_file``).
A rescan reuses what it already knows about a file whose path, mtime and size
are unchanged, so it only opens new and changed files; removed files drop out.

Persistence seam: the ``Track`` of every file is a plain record
(``to_record()`` / ``Track.from_record()``, the columns of the store's
``tracks`` table). Hand what was saved to ``Library(folders, known=...)`` or
``remember(...)`` before scanning, and those files are neither reopened nor
measured again while unchanged; save ``tracks()`` after a scan. ``known`` is an
iterable rather than a callback so that the scan thread never touches the
caller's database connection.

Removal seam: ``remove(track_id)`` takes a track out at once and keeps its path
out of later scans; ``Library(folders, excluded=...)`` / ``exclude(...)`` give the
paths removed earlier (the store keeps them). ``remember`` brings a path back
(a new file was put there).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

from .decoder import DecodeError
from .loudness import measure_file

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".mp3", ".ogg", ".opus", ".flac", ".wav", ".m4a"})

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Track:
    """One playable file. ``track_id`` is derived from the absolute path: stable across restarts.

    ``loudness_lufs`` is the integrated loudness (``None``: not measured, or
    silent); ``mtime`` (seconds) and ``size`` (bytes) are the file's when it
    was read, to tell whether it changed since.
    """

    track_id: str
    title: str
    artist: str
    album: str
    duration_ms: int
    path: Path
    loudness_lufs: float | None = None
    mtime: float = 0.0
    size: int = 0

    def to_json(self) -> dict[str, Any]:
        """The public view of the track (no path)."""
        return {
            "track_id": self.track_id,
            "title": self.title,
            "artist": self.artist,
            "album": self.album,
            "duration_ms": self.duration_ms,
        }

    def to_record(self) -> dict[str, Any]:
        """Every field, JSON- and SQLite-friendly (``path`` as a string): for persistence."""
        record = self.to_json()
        record.update(path=str(self.path), loudness_lufs=self.loudness_lufs, mtime=self.mtime, size=self.size)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Track:
        """The inverse of ``to_record`` (missing optional fields get their defaults)."""
        loudness = record.get("loudness_lufs")
        return cls(
            track_id=str(record["track_id"]),
            title=str(record.get("title") or ""),
            artist=str(record.get("artist") or ""),
            album=str(record.get("album") or ""),
            duration_ms=int(record.get("duration_ms") or 0),
            path=Path(record["path"]),
            loudness_lufs=None if loudness is None else float(loudness),
            mtime=float(record.get("mtime") or 0.0),
            size=int(record.get("size") or 0),
        )


def track_id_for(path: Path) -> str:
    """A short stable id for a file: the first 12 hex digits of the sha1 of its absolute path."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:12]


def probe(path: Path, stat: os.stat_result | None = None) -> Track:
    """Read the tags and duration of ``path`` (not its loudness); ``stat`` gives mtime and size.

    Raises ``av.FFmpegError``, ``OSError`` or ``ValueError`` if it is unreadable.
    """
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        tags = _tags(container.metadata, stream.metadata)
        duration_ms = _duration_ms(container, stream)
    return Track(
        track_id=track_id_for(path),
        title=tags.get("title") or path.stem,
        artist=tags.get("artist") or tags.get("album_artist") or "",
        album=tags.get("album") or "",
        duration_ms=duration_ms,
        path=path.resolve(),
        mtime=stat.st_mtime if stat else 0.0,
        size=stat.st_size if stat else 0,
    )


def read_track(path: Path, stat: os.stat_result | None = None) -> Track:
    """``probe`` and measure the loudness (``None`` if that fails: the track still plays).

    Raises like ``probe`` if the file is unreadable.
    """
    track = probe(path, stat)
    try:
        loudness = measure_file(path)
    except (DecodeError, av.FFmpegError, OSError, ValueError) as exc:
        log.warning("cannot measure the loudness of %s: %s", path, exc)
        loudness = None
    return dataclasses.replace(track, loudness_lufs=loudness)


class Library:
    """Audio files (mp3, ogg, opus, flac, wav, m4a) found recursively under ``folders``.

    ``scan()`` reads new and changed files (unreadable ones are logged and
    skipped) and forgets removed ones; ``scan_async()`` does it in a worker
    thread so the event loop never blocks. Reads (``tracks``, ``get``,
    ``search``) see the result of the last completed scan; a scan replaces it in
    one assignment, so they are safe meanwhile. ``known``: tracks saved earlier
    (see the module docstring).
    """

    def __init__(
        self,
        folders: Path | str | Iterable[Path | str],
        *,
        known: Iterable[Track] = (),
        excluded: Iterable[Path | str] = (),
    ) -> None:
        if isinstance(folders, (str, Path)):
            folders = [folders]
        self.folders = [Path(f) for f in folders]
        self._by_id: dict[str, Track] = {}
        self._sorted: list[Track] = []
        self._known: dict[Path, Track] = {}
        self._excluded: set[Path] = set()
        self._lock = threading.Lock()  # one scan at a time
        self._swap = threading.Lock()  # a scan's result and a removal replace the lists one at a time
        self.remember(known)
        self.exclude(excluded)

    def remember(self, tracks: Iterable[Track]) -> None:
        """Tracks read earlier (e.g. from the database): reused by the next scans while unchanged.

        Tracks without a loudness are ignored (measured again). A removed path given here is
        scanned again (a new file was put there)."""
        for track in tracks:
            self._excluded.discard(track.path)
            if track.loudness_lufs is not None:
                self._known[track.path] = track

    def exclude(self, paths: Iterable[Path | str]) -> None:
        """Leave these files out of every later scan (tracks removed earlier)."""
        self._excluded.update(Path(p).resolve() for p in paths)

    def remove(self, track_id: str) -> Track | None:
        """Take a track out now (``tracks``, ``get``, ``search``), and its file out of later scans;
        the track, or None if unknown."""
        with self._swap:
            track = self._by_id.get(track_id)
            if track is None:
                return None
            self._excluded.add(track.path)
            self._known.pop(track.path, None)
            self._by_id = {k: t for k, t in self._by_id.items() if k != track_id}
            self._sorted = [t for t in self._sorted if t.track_id != track_id]
        return track

    def scan(self, progress: Progress | None = None) -> list[Track]:
        """Rescan every folder; returns the tracks found, sorted like ``tracks()``.

        ``progress(done, total)`` is called (in the scanning thread) with 0
        first, then after each file; ``total`` counts the candidate files.
        """
        with self._lock:
            paths = list(self._files())
            if progress is not None:
                progress(0, len(paths))
            found: dict[str, Track] = {}
            read = 0
            for done, path in enumerate(paths, 1):
                track, fresh = self._track_for(path)
                if track is not None:
                    found[track.track_id] = track
                    read += fresh
                if progress is not None:
                    progress(done, len(paths))
            with self._swap:  # a track removed while this scan ran stays out
                kept = [t for t in found.values() if t.path not in self._excluded]
                ordered = sorted(kept, key=sort_key)
                self._known = {t.path: t for t in ordered}  # removed files are forgotten
                self._by_id, self._sorted = {t.track_id: t for t in ordered}, ordered
        log.info(
            "library: %d tracks (%d read and measured) in %s",
            len(ordered),
            read,
            ", ".join(map(str, self.folders)),
        )
        return list(ordered)

    async def scan_async(self, progress: Progress | None = None) -> list[Track]:
        """``scan()`` in a worker thread (``progress`` is called from that thread)."""
        return await asyncio.to_thread(self.scan, progress)

    def tracks(self) -> list[Track]:
        """Every track, sorted by artist then title (case-insensitive)."""
        return list(self._sorted)

    def get(self, track_id: str) -> Track | None:
        """The track with this id, if the last scan found it."""
        return self._by_id.get(track_id)

    def search(self, q: str) -> list[Track]:
        """Tracks whose title, artist or album contains ``q`` (case-insensitive), sorted."""
        needle = q.strip().casefold()
        if not needle:
            return self.tracks()
        return [
            t
            for t in self._sorted
            if needle in t.title.casefold() or needle in t.artist.casefold() or needle in t.album.casefold()
        ]

    def __len__(self) -> int:
        return len(self._sorted)

    def _track_for(self, path: Path) -> tuple[Track | None, bool]:
        """The track of ``path`` and whether it was read now (False: unchanged since last known)."""
        try:
            stat = path.stat()
            resolved = path.resolve()
        except OSError as exc:
            log.warning("skipping unreadable audio file %s: %s", path, exc)
            return None, False
        if resolved in self._excluded:
            return None, False
        known = self._known.get(resolved)
        if known is not None and known.mtime == stat.st_mtime and known.size == stat.st_size:
            return known, False
        try:
            return read_track(path, stat), True
        except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
            log.warning("skipping unreadable audio file %s: %s", path, exc)
            return None, False

    def _files(self) -> Iterator[Path]:
        for folder in self.folders:
            if not folder.is_dir():
                log.warning("library folder %s does not exist", folder)
                continue
            for root, dirs, files in os.walk(folder, onerror=_log_walk_error):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    path = Path(root) / name
                    if not name.startswith(".") and path.suffix.lower() in AUDIO_EXTENSIONS:
                        yield path


def sort_key(track: Track) -> tuple[str, str, str]:
    """The library's order: artist, then title (case-insensitive), then path."""
    return (track.artist.casefold(), track.title.casefold(), str(track.path))


def _tags(*dicts: dict[str, str]) -> dict[str, str]:
    """Merge metadata dicts (container first, then stream), keys lower-cased, values stripped."""
    tags: dict[str, str] = {}
    for meta in dicts:
        for key, value in meta.items():
            value = str(value).strip()
            if value:
                tags.setdefault(key.lower(), value)
    return tags


def _duration_ms(container: Any, stream: Any) -> int:
    if stream.duration and stream.time_base:
        return int(stream.duration * stream.time_base * 1000)
    if container.duration:
        return int(container.duration * 1000 // av.time_base)
    samples = 0  # no duration in the headers: count the samples
    for frame in container.decode(stream):
        samples += frame.samples
    rate = stream.rate or stream.codec_context.sample_rate
    if not rate:
        raise ValueError("no sample rate")
    return samples * 1000 // rate


def _log_walk_error(exc: OSError) -> None:
    log.warning("cannot read library folder: %s", exc)
