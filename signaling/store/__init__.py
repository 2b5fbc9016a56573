"""The state that must survive a restart, in one SQLite file under the data directory.

Durability: the database runs in WAL mode with ``synchronous=NORMAL``. Every
write method is its own transaction, committed before it returns, so the
write is in the WAL file (the OS holds it) and survives a crash of the
process, ``SIGKILL`` included. Only a power loss or an OS crash can lose the
last few commits (never corrupt the file); pass ``synchronous="FULL"`` to
fsync every commit if that matters more than latency.

Calls are synchronous and fast (tens of microseconds for a chat insert), meant
to be made from the asyncio loop directly. A lock serialises them, so a
background thread (a library scan in an executor) may share the store too.

Secrets are never stored: host and resume tokens are kept as sha256 hex digests
and compared in constant time. Every value goes in as a query parameter.

The methods live in small mixins, one per concern:
``rooms`` (rooms, participants, chat), ``moderation`` (bans,
reports, audit log), ``music`` (queue, playback), ``tracks``
(library and search), ``shows`` (the schedule), ``playlog`` (what played),
``requests`` (listeners' requests), ``recordings`` (recorded shows); ``schema`` holds the schema
and migrations; ``base`` the shared helpers.
"""

from __future__ import annotations

import sqlite3
import threading
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Literal

from .base import hash_token, now_iso
from .moderation import ModerationMixin
from .music import MusicMixin
from .playlog import PlayLogMixin
from .recordings import RecordingsMixin
from .requests import RequestsMixin
from .rooms import RoomsMixin
from .schema import SCHEMA_VERSION, SchemaTooNewError, migrate
from .shows import ShowsMixin
from .tracks import TracksMixin, fts_query

DB_FILENAME = "onair.db"
BUSY_TIMEOUT_MS = 2000


class Store(RoomsMixin, ModerationMixin, MusicMixin, TracksMixin, ShowsMixin, PlayLogMixin, RequestsMixin,
            RecordingsMixin):
    """The server's persistent state. ``Store(path)`` opens (creating and migrating) the database."""

    def __init__(
        self, path: str | PathLike[str], *, synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = _connect(self.path, synchronous)
        try:
            migrate(self._db)
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def in_data_dir(cls, data_dir: str | PathLike[str]) -> Store:
        """The store at ``<data_dir>/onair.db``."""
        return cls(Path(data_dir) / DB_FILENAME)

    @property
    def closed(self) -> bool:
        return self._db is None

    def close(self) -> None:
        """Close the database (idempotent). Everything was committed already."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]  # typed as open: no method runs after close

    def check_writable(self) -> str | None:
        """Why the database cannot take a write now (closed, locked, read-only, full), or None.

        Takes the write lock and lets it go (``BEGIN IMMEDIATE`` then ``ROLLBACK``): nothing is
        written. Meant for a thread: a locked database makes it wait up to the busy timeout.
        """
        with self._lock:
            if self._db is None:
                return "the database is closed"
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                return f"the database cannot be written: {exc}"
        return None

    def pragma(self, name: str) -> object:
        """Read one PRAGMA (``journal_mode``, ``synchronous``, ``foreign_keys``...), for checks and tests."""
        if not name.replace("_", "").isalpha():
            raise ValueError(f"bad pragma name {name!r}")
        row = self._one(f"PRAGMA {name}")
        return row[0] if row else None

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """An autocommit connection with WAL, the chosen sync level and foreign keys on."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    db.row_factory = sqlite3.Row
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        db.close()
        raise sqlite3.OperationalError(f"could not turn on WAL mode for {path} (got {mode!r})")
    db.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'FULL' else 'NORMAL'}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA temp_store = MEMORY")
    return db


__all__ = [
    "DB_FILENAME",
    "SCHEMA_VERSION",
    "SchemaTooNewError",
    "Store",
    "fts_query",
    "hash_token",
    "now_iso",
]
