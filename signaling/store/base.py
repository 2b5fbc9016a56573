"""What every part of the store shares: the connection, its lock, transactions and small helpers."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds, e.g. ``2024-05-01T12:00:00.000Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_token(token: str) -> str:
    """The sha256 hex digest of a secret token: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: str | None, stored_hash: str | None) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, compared in constant time."""
    if not token or not stored_hash:
        return False
    return hmac.compare_digest(hash_token(token), stored_hash)


def new_row_id(prefix: str) -> str:
    """A random id for rows the store creates itself (bans, reports)."""
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def normalize_ip(ip: str | None) -> str | None:
    """A canonical form of an address, so ``::ffff:10.0.0.1`` and ``10.0.0.1`` ban alike."""
    if not ip or not ip.strip():
        return None
    raw = ip.strip()
    try:
        addr = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return raw
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.compressed


def dumps(value: Any) -> str:
    """Compact JSON for a column."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None, default: Any) -> Any:
    """JSON from a column; ``default`` when it is empty."""
    return json.loads(text) if text else default


class StoreBase:
    """The connection and the lock that serialises its use (so an executor thread may share it)."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        """The first row of a query, or None."""
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        """Every row of a query."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _dicts(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        """Every row of a query as a plain dict (faster than converting ``sqlite3.Row``)."""
        with self._lock:
            cur = self._db.cursor()
            cur.row_factory = None
            cur.execute(sql, params)
            keys = [c[0] for c in cur.description]
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]

    def _write(self, sql: str, params: tuple | dict = ()) -> int:
        """One statement in its own (autocommit) transaction; the number of rows it changed."""
        with self._lock:
            return self._db.execute(sql, params).rowcount
