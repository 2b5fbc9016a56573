"""Which producers cross which pipes: every worker of a room applies the origin's snapshot of it.

The origin states, about once a second and on every change, the room's media
topology: its workers (with their pipe addresses), its producers (the music,
each stage member's voice) with the worker each one lives on, and the
audience delays. Each worker then, idempotently (pion's "reconcile, then
offer"): binds a local producer to a pipe stream for every producer that
lives elsewhere and asks that worker to feed it (``pipe_want``); drops what
left; and applies the delays. A worker asked to feed adds a ``PipeSink`` on
its own producer. A stream that stops (its sender gone) is requested anew at
the next snapshot.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sfu import Producer, Router
from sfu.pipe import PipeEndpoint
from sfu.pipe_sink import PipeSink

from .remote import Links

log = logging.getLogger(__name__)

MUSIC = "music"


def pipe_key(secret: str) -> bytes:
    """The pipes' AES-256 key, from the cluster secret every node is given."""
    return hashlib.sha256(b"onair pipe key\0" + secret.encode()).digest()


def voice_key(owner: str) -> str:
    return f"v:{owner}"


class Mesh:
    """This worker's pipes: the streams it receives and the sinks it feeds, per room."""

    def __init__(self, endpoint: PipeEndpoint, links: Links, advertised: tuple[str, int]) -> None:
        self.endpoint = endpoint
        self.links = links
        self.advertised = advertised
        self._bound: dict[tuple[str, str], int] = {}  # (room, key) -> stream id
        self._streams: dict[int, tuple[str, str]] = {}
        self._sinks: dict[tuple[str, str, str], PipeSink] = {}  # (room, key, worker)
        endpoint.on("stream_stopped", self._stopped)

    # --- receiving ------------------------------------------------------------------------------
    def apply(self, room_id: str, router: Router, snapshot: dict[str, Any]) -> bool:
        """Make the pipes of ``room_id`` match ``snapshot``; True if the set of voices changed."""
        workers = {w: (str(a[0]), int(a[1])) for w, a in snapshot.get("workers", {}).items()}
        wanted = {p["key"]: p for p in snapshot.get("producers", [])}
        changed = False
        for key, entry in wanted.items():
            if entry["home"] != self.links.worker_id and (room_id, key) not in self._bound:
                home = workers.get(entry["home"])
                if home is not None:
                    changed |= self._request(room_id, router, key, entry, entry["home"], home)
        for room, key in [k for k in self._bound if k[0] == room_id and k[1] not in wanted]:
            changed |= self._release(room, key, router)
        for room, key, worker in [k for k in self._sinks if k[0] == room_id]:
            sink = self._sinks[(room, key, worker)]
            if sink.closed or worker not in workers or key not in wanted:
                self._drop_sink(room, key, worker)
        restricted = snapshot.get("restricted")
        if isinstance(restricted, dict):  # the green room and talkback: who hears which voice
            changed |= restricted != {o: sorted(h) for o, h in router.restricted.items()}
            router.restricted = {str(o): frozenset(map(str, h)) for o, h in restricted.items()
                                 if isinstance(h, list)}
        delay = snapshot.get("delay")
        if isinstance(delay, dict):
            router.set_delays(float(delay.get("d", 0.0)), delay.get("voices", {}))
        return changed

    def _request(self, room_id: str, router: Router, key: str, entry: dict[str, Any],
                 home_worker: str, home: tuple[str, int]) -> bool:
        target = router.music if key == MUSIC else router.add_remote_voice(str(entry["owner"]))
        stream_id = self.endpoint.new_stream_id()
        self.endpoint.bind(stream_id, target, remote=home)
        self._bound[(room_id, key)] = stream_id
        self._streams[stream_id] = (room_id, key)
        self.links.to(home_worker).send({
            "t": "pipe_want", "room": room_id, "key": key, "sid": stream_id,
            "worker": self.links.worker_id, "addr": list(self.advertised),
        })
        return key != MUSIC

    def _release(self, room_id: str, key: str, router: Router) -> bool:
        stream_id = self._bound.pop((room_id, key))
        self._streams.pop(stream_id, None)
        self.endpoint.unbind(stream_id)
        if key != MUSIC:
            router.remove_remote_voice(key[2:])
            return True
        return False

    def _stopped(self, stream_id: int, reason: str) -> None:
        where = self._streams.pop(stream_id, None)
        if where is not None:
            self._bound.pop(where, None)  # asked for again at the next snapshot
            log.info("pipe stream of %s/%s stopped (%s)", where[0], where[1], reason)

    # --- feeding --------------------------------------------------------------------------------
    def feed(self, room_id: str, router: Router, message: dict[str, Any]) -> None:
        """Another worker wants one of our producers: add (or renew) its sink."""
        key, worker = str(message["key"]), str(message["worker"])
        source = self._local_producer(router, key)
        if source is None:
            return  # not (or no longer) ours; the asker's stream times out and it asks again
        self._drop_sink(room_id, key, worker)
        address = (str(message["addr"][0]), int(message["addr"][1]))
        self._sinks[(room_id, key, worker)] = self.endpoint.add_sink(source, address, int(message["sid"]))

    @staticmethod
    def _local_producer(router: Router, key: str) -> Producer | None:
        if key == MUSIC:
            return None if router.relay else router.music
        publisher = router.publishers.get(key[2:])
        return None if publisher is None or publisher.producer.closed else publisher.producer

    def _drop_sink(self, room_id: str, key: str, worker: str) -> None:
        sink = self._sinks.pop((room_id, key, worker), None)
        if sink is not None and not sink.closed:
            self.endpoint.remove_sink(sink)

    def forget(self, room_id: str) -> None:
        """The room ended here, or this worker left it: every pipe of it goes."""
        for room, key in [k for k in self._bound if k[0] == room_id]:
            stream_id = self._bound.pop((room, key))
            self._streams.pop(stream_id, None)
            self.endpoint.unbind(stream_id)
        for room, key, worker in [k for k in self._sinks if k[0] == room_id]:
            self._drop_sink(room, key, worker)
