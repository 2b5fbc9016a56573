"""The music library: audio files found under some folders, with their tags and durations."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset({".mp3", ".ogg", ".opus", ".flac", ".wav", ".m4a"})


@dataclass(frozen=True, slots=True)
class Track:
    """One playable file. ``track_id`` is derived from the absolute path: stable across restarts."""

    track_id: str
    title: str
    artist: str
    album: str
    duration_ms: int
    path: Path

    def to_json(self) -> dict[str, Any]:
        """The public view of the track (no path)."""
        return {
            "track_id": self.track_id,
            "title": self.title,
            "artist": self.artist,
            "album": self.album,
            "duration_ms": self.duration_ms,
        }


def track_id_for(path: Path) -> str:
    """A short stable id for a file: the first 12 hex digits of the sha1 of its absolute path."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:12]


def probe(path: Path) -> Track:
    """Read the tags and duration of ``path``.

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
    )


class Library:
    """Audio files (mp3, ogg, opus, flac, wav, m4a) found recursively under ``folders``.

    ``scan()`` reads them all again (unreadable files are logged and skipped);
    ``scan_async()`` does it in a worker thread so the event loop never blocks.
    Reads (``tracks``, ``get``, ``search``) see the result of the last completed
    scan; a scan replaces it in one assignment, so they are safe meanwhile.
    """

    def __init__(self, folders: Path | str | Iterable[Path | str]) -> None:
        if isinstance(folders, (str, Path)):
            folders = [folders]
        self.folders = [Path(f) for f in folders]
        self._by_id: dict[str, Track] = {}
        self._sorted: list[Track] = []

    def scan(self) -> list[Track]:
        """Rescan every folder; returns the tracks found, sorted like ``tracks()``."""
        found: dict[str, Track] = {}
        for path in self._files():
            try:
                track = probe(path)
            except (av.FFmpegError, OSError, ValueError, UnicodeError) as exc:
                log.warning("skipping unreadable audio file %s: %s", path, exc)
                continue
            found[track.track_id] = track
        ordered = sorted(found.values(), key=_sort_key)
        self._by_id, self._sorted = found, ordered
        log.info("library: %d tracks in %s", len(ordered), ", ".join(map(str, self.folders)))
        return list(ordered)

    async def scan_async(self) -> list[Track]:
        """``scan()`` in a worker thread."""
        return await asyncio.to_thread(self.scan)

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
            if needle in t.title.casefold()
            or needle in t.artist.casefold()
            or needle in t.album.casefold()
        ]

    def __len__(self) -> int:
        return len(self._sorted)

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


def _sort_key(track: Track) -> tuple[str, str, str]:
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
