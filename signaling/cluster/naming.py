"""The Redis keys and channels of the cluster, and the worker ids they are built from.

A worker id (``w1``, ``host-1234``) names a slot the supervisor keeps filled;
an *instance* (``w1#9f3a0c2e``) names one process in that slot. A restarted
``w1`` is a new instance: what the dead one held (origins, listener counts)
is recognised as dead even though ``w1`` is alive again.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
INSTANCE_SEPARATOR = "#"


def check_worker_id(worker_id: str) -> str:
    """``worker_id`` if it is 1-64 letters, digits, ``.``, ``_`` or ``-`` (not first); else ValueError."""
    if not isinstance(worker_id, str) or not WORKER_ID.fullmatch(worker_id):
        raise ValueError(f"bad worker id {worker_id!r}: 1-64 of A-Z a-z 0-9 . _ -, a letter or digit first")
    return worker_id


def new_instance(worker_id: str) -> str:
    """A fresh instance id for one process running as ``worker_id``."""
    return f"{check_worker_id(worker_id)}{INSTANCE_SEPARATOR}{secrets.token_hex(4)}"


def worker_of(instance: str) -> str:
    """The worker id part of an instance id (the whole string if it has no separator)."""
    return instance.split(INSTANCE_SEPARATOR, 1)[0]


@dataclass(frozen=True)
class Names:
    """Every key and channel the bus uses, under one prefix (several deployments may share a Redis)."""

    prefix: str = "onair"

    @property
    def workers(self) -> str:
        """SET of every worker id seen; a dead one stays until it holds no room."""
        return f"{self.prefix}:workers"

    def worker(self, worker_id: str) -> str:
        """HASH: the heartbeat of a live worker (instance, addresses, draining...), with a TTL."""
        return f"{self.prefix}:worker:{worker_id}"

    def worker_rooms(self, worker_id: str) -> str:
        """SET of the rooms whose origin record names this worker (any instance)."""
        return f"{self.prefix}:worker:{worker_id}:rooms"

    def channel(self, worker_id: str) -> str:
        """Pub/sub channel: every message addressed to this worker."""
        return f"{self.prefix}:w:{worker_id}"

    def origin(self, room_id: str) -> str:
        """STRING: the instance id of the room's origin."""
        return f"{self.prefix}:room:{room_id}:origin"

    def listeners(self, room_id: str) -> str:
        """HASH: instance id -> that process's listener count in the room."""
        return f"{self.prefix}:room:{room_id}:listeners"

    def tally(self, worker_id: str, name: str) -> str:
        """HASH: a worker's latest tally ``name`` (``sockets``: address -> open room sockets in the
        rooms it is the origin of), expiring with its heartbeat."""
        return f"{self.prefix}:worker:{worker_id}:tally:{name}"

    def report(self, worker_id: str, name: str) -> str:
        """STRING: a worker's latest report ``name`` (``metrics``, ``rooms``), expiring with its heartbeat."""
        return f"{self.prefix}:worker:{worker_id}:report:{name}"

    def limit(self, limit: str, key: str) -> str:
        """ZSET: the events of a shared limit (``create``, ``join``) for one key (an address)."""
        return f"{self.prefix}:limit:{limit}:{key}"
