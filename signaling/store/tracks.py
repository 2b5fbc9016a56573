"""The track library and its full-text search (SQLite FTS5, accent- and case-insensitive).

A track the operator deleted (``remove_track``) leaves the table and its path is
remembered in ``removed_tracks``: scans (``upsert_tracks``) pass over that path
from then on, so a file left in a music folder does not come back. Adding that
one path explicitly (``upsert_track``: an upload put there again) brings it back.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from os import PathLike
from typing import Any

from .base import StoreBase, now_iso

log = logging.getLogger(__name__)

PUBLIC_COLUMNS = "track_id, title, artist, album, duration_ms"
FULL_COLUMNS = f"{PUBLIC_COLUMNS}, path, loudness_lufs, mtime, size"
MAX_QUERY_CHARS = 400
MAX_QUERY_TERMS = 12
# bm25 column weights: a hit in the title counts most, then the artist, then the album.
BM25 = "bm25(tracks_fts, 3.0, 2.0, 1.0)"
LISTING_ORDER = "t.artist COLLATE NOCASE, t.title COLLATE NOCASE, t.track_id"

_UPSERT = """
INSERT INTO tracks (track_id, path, title, artist, album, duration_ms, loudness_lufs, mtime, size)
VALUES (:track_id, :path, :title, :artist, :album, :duration_ms, :loudness_lufs, :mtime, :size)
ON CONFLICT (track_id) DO UPDATE SET
    path = excluded.path, title = excluded.title, artist = excluded.artist, album = excluded.album,
    duration_ms = excluded.duration_ms, mtime = excluded.mtime, size = excluded.size,
    loudness_lufs = CASE WHEN excluded.mtime = tracks.mtime AND excluded.size = tracks.size
                         THEN coalesce(excluded.loudness_lufs, tracks.loudness_lufs)
                         ELSE excluded.loudness_lufs END
"""


def fts_query(q: str) -> str | None:
    """Turn user input into a safe FTS5 query: every word a quoted phrase, the last one a prefix.

    Words are whitespace-separated; a word with no letter or digit is dropped (the
    tokenizer would drop it too). Returns None when nothing searchable is left.
    Quoting makes ``NEAR``, ``AND``, ``*``, ``-``, ``:``, parentheses and quotes plain text.
    """
    q = q[:MAX_QUERY_CHARS].encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")
    words = [w for w in q.split() if any(ch.isalnum() for ch in w)][:MAX_QUERY_TERMS]
    if not words:
        return None
    phrases = ['"' + w.replace('"', '""') + '"' for w in words]
    phrases[-1] += "*"
    return " ".join(phrases)


def _track_params(track: dict[str, Any]) -> dict[str, Any]:
    """A track dict with every column filled and typed."""
    return {
        "track_id": str(track["track_id"]),
        "path": str(track["path"]),
        "title": track.get("title") or "",
        "artist": track.get("artist") or "",
        "album": track.get("album") or "",
        "duration_ms": int(track.get("duration_ms") or 0),
        "loudness_lufs": track.get("loudness_lufs"),
        "mtime": float(track.get("mtime") or 0.0),
        "size": int(track.get("size") or 0),
    }


class TracksMixin(StoreBase):
    """The server's track library (shared by all rooms)."""

    def upsert_track(
        self,
        *,
        track_id: str,
        path: str | PathLike[str],
        title: str = "",
        artist: str = "",
        album: str = "",
        duration_ms: int = 0,
        loudness_lufs: float | None = None,
        mtime: float = 0.0,
        size: int = 0,
    ) -> None:
        """Add or update one track (even at a removed path: this file is wanted). An unchanged file
        (same mtime and size) keeps its loudness."""
        self._upsert(
            [
                dict(
                    track_id=track_id,
                    path=path,
                    title=title,
                    artist=artist,
                    album=album,
                    duration_ms=duration_ms,
                    loudness_lufs=loudness_lufs,
                    mtime=mtime,
                    size=size,
                )
            ],
            revive=True,
        )

    def upsert_tracks(self, tracks: Iterable[dict[str, Any]]) -> None:
        """Add or update many tracks (dicts with ``upsert_track``'s fields) in one transaction;
        tracks at a removed path (``remove_track``) are passed over."""
        self._upsert(tracks, revive=False)

    def _upsert(self, tracks: Iterable[dict[str, Any]], *, revive: bool) -> None:
        rows = [_track_params(t) for t in tracks]
        with self._tx() as db:
            if revive:
                db.executemany("DELETE FROM removed_tracks WHERE path = ?", [(r["path"],) for r in rows])
            removed = {r[0] for r in db.execute("SELECT path FROM removed_tracks")}
            for row in rows:
                if row["path"] in removed:
                    continue
                # Another id at this path (the id scheme changed): it is the same file, replace it.
                db.execute(
                    "DELETE FROM tracks WHERE path = ? AND track_id <> ?", (row["path"], row["track_id"])
                )
                db.execute(_UPSERT, row)

    def edit_track(
        self, track_id: str, *, title: str | None = None, artist: str | None = None
    ) -> dict[str, Any] | None:
        """Give a track another title and/or artist (a person's edit; search follows at once).
        Returns the row with every stored field, or None if the track is unknown."""
        with self._tx() as db:
            if title is not None:
                db.execute("UPDATE tracks SET title = ? WHERE track_id = ?", (title, track_id))
            if artist is not None:
                db.execute("UPDATE tracks SET artist = ? WHERE track_id = ?", (artist, track_id))
            row = db.execute(f"SELECT {FULL_COLUMNS} FROM tracks WHERE track_id = ?", (track_id,)).fetchone()
        return dict(row) if row else None

    def set_loudness(self, track_id: str, loudness_lufs: float | None) -> bool:
        """Record a track's measured loudness; False if the track is unknown."""
        return (
            self._write("UPDATE tracks SET loudness_lufs = ? WHERE track_id = ?", (loudness_lufs, track_id))
            > 0
        )

    def remove_tracks_not_in(self, paths: Iterable[str | PathLike[str]]) -> int:
        """Drop every track whose path is not in ``paths`` (files gone after a rescan); how many."""
        keep = [(str(p),) for p in paths]
        with self._tx() as db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS keep_paths (path TEXT PRIMARY KEY)")
            db.execute("DELETE FROM temp.keep_paths")
            db.executemany("INSERT OR IGNORE INTO temp.keep_paths (path) VALUES (?)", keep)
            removed = db.execute(
                "DELETE FROM tracks WHERE path NOT IN (SELECT path FROM temp.keep_paths)"
            ).rowcount
            db.execute("DELETE FROM temp.keep_paths")
        return removed

    def remove_track(self, track_id: str) -> dict[str, Any] | None:
        """Delete a track (the operator's decision): its row goes and its path is remembered, so
        scans leave it out. Returns the row it had (every stored field), or None if unknown."""
        with self._tx() as db:
            row = db.execute(f"SELECT {FULL_COLUMNS} FROM tracks WHERE track_id = ?", (track_id,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM tracks WHERE track_id = ?", (track_id,))
            db.execute(
                "INSERT OR REPLACE INTO removed_tracks (path, track_id, at) VALUES (?, ?, ?)",
                (row["path"], track_id, now_iso()),
            )
        return dict(row)

    def removed_track_paths(self) -> list[str]:
        """The paths of the tracks the operator deleted (for the mixer's ``Library(excluded=...)``)."""
        return [r[0] for r in self._all("SELECT path FROM removed_tracks ORDER BY path")]

    def track(self, track_id: str) -> dict[str, Any] | None:
        """One track with every stored field (``path``, ``loudness_lufs``, ``mtime``, ``size`` too)."""
        row = self._one(f"SELECT {FULL_COLUMNS} FROM tracks WHERE track_id = ?", (track_id,))
        return dict(row) if row else None

    def track_by_path(self, path: str | PathLike[str]) -> dict[str, Any] | None:
        """The track stored for a file path, with every stored field, or None."""
        row = self._one(f"SELECT {FULL_COLUMNS} FROM tracks WHERE path = ?", (str(path),))
        return dict(row) if row else None

    def all_tracks(self) -> list[dict[str, Any]]:
        """Every track with every stored field, by artist then title."""
        return self._dicts(f"SELECT {FULL_COLUMNS} FROM tracks t ORDER BY {LISTING_ORDER}")

    def track_count(self) -> int:
        """How many tracks the library holds."""
        row = self._one("SELECT count(*) FROM tracks")
        return int(row[0]) if row else 0

    def search_tracks(self, q: str | None = "", limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Tracks in the protocol's shape: by relevance for ``q``; an empty ``q`` lists all by artist, title.

        ``q`` is user input and never raises: it is quoted word by word (see ``fts_query``).
        """
        limit, offset = max(0, int(limit)), max(0, int(offset))
        if not q or not q.strip():
            sql = f"SELECT {PUBLIC_COLUMNS} FROM tracks t ORDER BY {LISTING_ORDER} LIMIT ? OFFSET ?"
            return self._dicts(sql, (limit, offset))
        match = fts_query(q)
        if match is None:
            return []
        sql = (
            f"SELECT {', '.join('t.' + c for c in PUBLIC_COLUMNS.split(', '))}"
            " FROM tracks_fts JOIN tracks t ON t.id = tracks_fts.rowid"
            f" WHERE tracks_fts MATCH ? ORDER BY {BM25}, {LISTING_ORDER} LIMIT ? OFFSET ?"
        )
        try:
            return self._dicts(sql, (match, limit, offset))
        except sqlite3.OperationalError:  # a query FTS5 still refuses: treat as no match
            log.warning("track search failed for %r", match, exc_info=True)
            return []
