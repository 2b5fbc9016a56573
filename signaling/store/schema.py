"""The store's SQLite schema and its forward migrations.

``MIGRATIONS[n - 1]`` takes a database from version ``n - 1`` to version ``n``.
To change the schema, append a script; never edit one that has shipped.
Each script runs in one transaction together with the version bump, so a
crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3

V1 = """
CREATE TABLE rooms (
    room_id         TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    host_name       TEXT NOT NULL DEFAULT '',
    host_token_hash TEXT,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    permanent       INTEGER NOT NULL DEFAULT 0,
    rules_extra     TEXT NOT NULL DEFAULT '[]',
    settings        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX rooms_live ON rooms (started_at) WHERE ended_at IS NULL;

CREATE TABLE participants (
    participant_id    TEXT PRIMARY KEY,
    room_id           TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('host', 'moderator', 'speaker', 'listener')),
    resume_token_hash TEXT NOT NULL,
    address           TEXT NOT NULL DEFAULT '',
    hand_raised       INTEGER NOT NULL DEFAULT 0,
    chat_muted        INTEGER NOT NULL DEFAULT 0,
    muted             INTEGER NOT NULL DEFAULT 0,
    last_seen         TEXT NOT NULL
);
CREATE INDEX participants_token ON participants (room_id, resume_token_hash);

CREATE TABLE chat (
    seq            INTEGER PRIMARY KEY,
    message_id     TEXT NOT NULL UNIQUE,
    room_id        TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    text           TEXT NOT NULL,
    server_ms      INTEGER NOT NULL,
    at             TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX chat_room ON chat (room_id, seq);

CREATE TABLE bans (
    seq            INTEGER PRIMARY KEY,
    ban_id         TEXT NOT NULL UNIQUE,
    room_id        TEXT,
    participant_id TEXT,
    ip             TEXT,
    reason         TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL,
    by             TEXT,
    CHECK (participant_id IS NOT NULL OR ip IS NOT NULL)
);
CREATE INDEX bans_participant ON bans (participant_id) WHERE participant_id IS NOT NULL;
CREATE INDEX bans_ip ON bans (ip) WHERE ip IS NOT NULL;

CREATE TABLE reports (
    seq            INTEGER PRIMARY KEY,
    report_id      TEXT NOT NULL UNIQUE,
    room_id        TEXT NOT NULL,
    reporter_id    TEXT NOT NULL,
    participant_id TEXT,
    message_id     TEXT,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL
);

CREATE TABLE audit (
    audit_id   INTEGER PRIMARY KEY,
    room_id    TEXT,
    actor_id   TEXT,
    actor_name TEXT,
    action     TEXT NOT NULL,
    target_id  TEXT,
    detail     TEXT NOT NULL DEFAULT '{}',
    at         TEXT NOT NULL
);
CREATE INDEX audit_room ON audit (room_id, audit_id);

CREATE TABLE queue (
    room_id  TEXT NOT NULL REFERENCES rooms (room_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    entry_id TEXT NOT NULL UNIQUE,
    track_id TEXT NOT NULL,
    PRIMARY KEY (room_id, position)
);

CREATE TABLE playback (
    room_id     TEXT PRIMARY KEY REFERENCES rooms (room_id) ON DELETE CASCADE,
    track_id    TEXT,
    position_ms INTEGER NOT NULL DEFAULT 0,
    paused      INTEGER NOT NULL DEFAULT 0,
    gain        REAL NOT NULL DEFAULT 1.0,
    crossfade_s REAL NOT NULL DEFAULT 0.0,
    updated_at  TEXT NOT NULL
);

-- An explicit INTEGER PRIMARY KEY: the FTS index refers to it, and VACUUM may
-- renumber an implicit rowid.
CREATE TABLE tracks (
    id            INTEGER PRIMARY KEY,
    track_id      TEXT NOT NULL UNIQUE,
    path          TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL DEFAULT '',
    artist        TEXT NOT NULL DEFAULT '',
    album         TEXT NOT NULL DEFAULT '',
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    loudness_lufs REAL,
    mtime         REAL NOT NULL DEFAULT 0,
    size          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tracks_listing ON tracks (artist COLLATE NOCASE, title COLLATE NOCASE, track_id);

CREATE VIRTUAL TABLE tracks_fts USING fts5 (
    title, artist, album,
    content = 'tracks', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
CREATE TRIGGER tracks_fts_insert AFTER INSERT ON tracks BEGIN
    INSERT INTO tracks_fts (rowid, title, artist, album)
    VALUES (new.id, new.title, new.artist, new.album);
END;
CREATE TRIGGER tracks_fts_delete AFTER DELETE ON tracks BEGIN
    INSERT INTO tracks_fts (tracks_fts, rowid, title, artist, album)
    VALUES ('delete', old.id, old.title, old.artist, old.album);
END;
CREATE TRIGGER tracks_fts_update AFTER UPDATE OF title, artist, album ON tracks BEGIN
    INSERT INTO tracks_fts (tracks_fts, rowid, title, artist, album)
    VALUES ('delete', old.id, old.title, old.artist, old.album);
    INSERT INTO tracks_fts (rowid, title, artist, album)
    VALUES (new.id, new.title, new.artist, new.album);
END;
"""

# v2: the operator's console. Reports are resolved or dismissed with a note; a lifted ban is
# kept (lifted_at) for the record but no longer judges anyone; a track the operator deleted
# stays out of the library by its path (a file in a music folder is not ours to delete).
V2 = """
ALTER TABLE reports ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'resolved', 'dismissed'));
ALTER TABLE reports ADD COLUMN note TEXT;
ALTER TABLE reports ADD COLUMN resolved_at TEXT;
CREATE INDEX reports_status ON reports (status, seq);

ALTER TABLE bans ADD COLUMN lifted_at TEXT;

CREATE TABLE removed_tracks (
    path     TEXT PRIMARY KEY,
    track_id TEXT NOT NULL,
    at       TEXT NOT NULL
);
"""

# v3: the radio programme. Scheduled shows (the room opened for one takes its id), the play log
# (a row when a track starts, completed when it ends: what licensing reports ask for) and listeners'
# requests.
V3 = """
CREATE TABLE shows (
    show_id         TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    host_name       TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    starts_at       TEXT NOT NULL,
    starts_utc      TEXT NOT NULL,
    duration_min    INTEGER NOT NULL,
    host_token_hash TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    opened_at       TEXT,
    cancelled_at    TEXT
);
CREATE INDEX shows_upcoming ON shows (starts_utc) WHERE cancelled_at IS NULL;

CREATE TABLE plays (
    play_id         INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    room_title      TEXT NOT NULL DEFAULT '',
    track_id        TEXT NOT NULL,
    title           TEXT NOT NULL DEFAULT '',
    artist          TEXT NOT NULL DEFAULT '',
    album           TEXT NOT NULL DEFAULT '',
    duration_ms     INTEGER NOT NULL DEFAULT 0,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    played_ms       INTEGER NOT NULL DEFAULT 0,
    listeners_start INTEGER NOT NULL DEFAULT 0,
    listeners_peak  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX plays_room ON plays (room_id, play_id);
CREATE INDEX plays_started ON plays (started_at);

CREATE TABLE requests (
    seq            INTEGER PRIMARY KEY,
    request_id     TEXT NOT NULL UNIQUE,
    room_id        TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    name           TEXT NOT NULL,
    track_id       TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined')),
    at             TEXT NOT NULL,
    answered_at    TEXT,
    answered_by    TEXT
);
CREATE INDEX requests_pending ON requests (room_id, seq) WHERE status = 'pending';
"""

# v4: recordings of shows (the program as Ogg/Opus files under <data-dir>/recordings).
V4 = """
CREATE TABLE recordings (
    recording_id TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    title        TEXT NOT NULL,
    host_name    TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    file         TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    ended_at     TEXT,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    bytes        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX recordings_started ON recordings (started_at);
"""

MIGRATIONS: list[str] = [V1, V2, V3, V4]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer OnAir than this one."""


def schema_version(db: sqlite3.Connection) -> int:
    """The version the database is at; 0 for a new, empty file."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite3.Connection) -> int:
    """Bring ``db`` (in autocommit mode) up to ``SCHEMA_VERSION``; return the version it was at."""
    found = schema_version(db)
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(f"database schema v{found} is newer than this server's v{SCHEMA_VERSION}")
    for version in range(found + 1, SCHEMA_VERSION + 1):
        _apply(db, version, MIGRATIONS[version - 1])
    return found


def _apply(db: sqlite3.Connection, version: int, script: str) -> None:
    """Run one migration and record it, all in one transaction."""
    try:
        bump = f"INSERT INTO schema_version (version) VALUES ({int(version)});"
        db.executescript(f"BEGIN IMMEDIATE;\n{script}\n{bump}\nCOMMIT;")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
