"""How the bus talks to Redis: clients that fail fast, the one error callers see, the Lua scripts.

redis-py retries a failed command and re-subscribes a broken pub/sub
connection by itself, hidden from the caller. The bus owns reconnection
instead (so it can say ``disconnected``/``reconnected`` and restore its
state), so its clients never retry and time out after a second or two.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

CONNECT_TIMEOUT_S = 1.0
COMMAND_TIMEOUT_S = 2.0


class BusUnavailable(Exception):
    """Redis could not be reached (or answered with an error): the operation did not happen."""


@contextlib.contextmanager
def unavailable_on_error(what: str) -> Iterator[None]:
    """Turn any Redis failure inside the block into ``BusUnavailable`` naming ``what``."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise BusUnavailable(f"{what}: {exc}") from exc


def text(value: bytes | str) -> str:
    """A reply of the decoding client as ``str`` (its type says bytes or str; it is str)."""
    return value.decode() if isinstance(value, bytes) else value


def make_client(url: str, *, decode: bool) -> Redis:
    """A client that never retries on its own and never waits long for an answer."""
    return Redis.from_url(
        url,
        decode_responses=decode,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
    )


def backoff_delays(first_s: float = 0.05, cap_s: float = 2.0) -> Iterator[float]:
    """Reconnection delays: doubling from ``first_s`` up to ``cap_s``, each jittered to 50-100 %.

    The jitter keeps many workers from reconnecting in step after Redis comes back.
    """
    delay = first_s
    while True:
        yield delay * random.uniform(0.5, 1.0)
        delay = min(cap_s, delay * 2)


# The room directory's atomic steps. An origin record holds an *instance* id
# ("w1#9f3a0c2e"); "worker part" below is what precedes the '#'.

# KEYS: origin, my rooms set. ARGV: my instance, room id.
# 1 if the room is now (or already was) ours, 0 if another instance holds it.
CLAIM = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then return 1 end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"""

# KEYS: origin, dead worker's heartbeat, dead worker's rooms set, my rooms set.
# ARGV: dead worker id, my instance, room id.
# 1 only if the record names an instance of that worker which is not its live
# instance (gone, or replaced by a restart): the compare-and-set that lets
# exactly one survivor win.
TAKE_OVER = """
local current = redis.call('GET', KEYS[1])
if not current or current == ARGV[2] then return 0 end
local worker = string.match(current, '^([^#]*)')
if worker ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[2], 'instance') == current then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
return 1
"""

# KEYS: origin, my rooms set. ARGV: my instance, room id. 1 if it was ours and is gone.
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"""

# Run with every heartbeat. KEYS: the origins of the rooms this instance
# believes it holds, then its rooms set. ARGV: my instance, the room ids.
# A missing record (Redis restarted empty) is written back; the current holder
# of each room is returned, so an instance that lost a room (it was thought
# dead and taken over) finds out within a heartbeat.
ASSERT_ORIGINS = """
local rooms = KEYS[#KEYS]
local holders = {}
for i = 1, #KEYS - 1 do
  local current = redis.call('GET', KEYS[i])
  if not current then
    redis.call('SET', KEYS[i], ARGV[1])
    current = ARGV[1]
  end
  if current == ARGV[1] then redis.call('SADD', rooms, ARGV[i + 1]) end
  holders[i] = current
end
return holders
"""

# KEYS[1] = the limit's sorted set; ARGV = now_ms, window_ms, count, a unique member.
# Drops what left the window, then admits the event if fewer than count remain.
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
"""
