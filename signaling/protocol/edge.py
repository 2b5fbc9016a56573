"""A room whose origin is another worker, as this worker holds it: its sockets here and their media.

The origin decides everything (who may join, every permission, every
handler): this worker relays each client message to it and writes back what it
sends. What cannot travel stays here: the participants' peer connections. The
client's ``answer``, ``offer`` and ``candidate`` are handled here, with the
role the origin last told (``role_changed``); the origin tells this worker what
to do with the peers (``media``: live feed or not, close the publisher, pause),
and which producers cross which pipes (``room`` snapshots, applied by
``Mesh``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from sfu import Router

from ..errors import CLOSE_REPLACED, ApiError
from ..model.mesh import Mesh
from ..model.participant import MODERATOR_ROLES, STAGE_ROLES
from ..model.remote import WorkerLink
from ..model.room import tracks_for
from ..tokens import new_id
from .media import accept_offer, apply_answer
from .session import Session

log = logging.getLogger(__name__)

JOIN_WAIT_S = 5.0
LOCAL_TYPES = frozenset({"answer", "offer", "candidate"})


class EdgeRoom:
    """This worker's share of a room held by another worker (its origin)."""

    def __init__(self, room_id: str, origin: str, link: WorkerLink, router: Router, mesh: Mesh) -> None:
        self.room_id = room_id
        self.origin = origin
        self.link = link
        self.router = router
        self.mesh = mesh
        self.sessions: dict[str, Session] = {}
        self.people: dict[str, dict[str, Any]] = {}  # our participants as the origin last described them
        self.conns: dict[str, str] = {}  # each participant's socket here, as the origin knows it
        self._pending: dict[str, tuple[Session, asyncio.Future[str]]] = {}
        self.closed = False

    @property
    def idle(self) -> bool:
        """Nobody here, and nobody on the way in (a join waiting for the origin's answer)."""
        return not self.sessions and not self._pending

    # --- joining and leaving --------------------------------------------------------------------
    async def join(self, session: Session, name: str, token: str | None, address: str) -> str:
        """Ask the origin to admit this socket; its participant id, or ``ApiError`` as the origin refused."""
        conn = new_id("c")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending[conn] = (session, future)
        self.link.send({"t": "join", "room": self.room_id, "conn": conn, "from": self.link.bus.worker_id,
                        "name": name, "token": token, "address": address})
        try:
            return await asyncio.wait_for(future, JOIN_WAIT_S)
        except TimeoutError:
            raise ApiError("draining", "the show's server did not answer; try again") from None
        finally:
            self._pending.pop(conn, None)

    def _joined(self, message: dict[str, Any]) -> None:
        pending = self._pending.get(str(message.get("conn")))
        if pending is None or pending[1].done():
            return  # that socket gave up: the origin sees it leave when its outbox says nothing back
        session, future = pending
        pid = str(message["pid"])
        replaced = self.sessions.get(pid)
        if replaced is not None and replaced is not session:  # they rejoined through this worker
            replaced.close(CLOSE_REPLACED)
        self.sessions[pid] = session  # before anything the origin sends them next
        self.conns[pid] = str(message.get("conn"))
        self.people[pid] = dict(message.get("participant") or {})
        future.set_result(pid)

    def undelivered(self, message: dict[str, Any]) -> None:
        """A join the origin never got (it is gone, or restarting): the page tries again now
        rather than after ``JOIN_WAIT_S``."""
        if message.get("t") == "join":
            self._refused({"conn": message.get("conn"), "code": "draining",
                           "message": "the show's server is restarting; try again"})

    def _refused(self, message: dict[str, Any]) -> None:
        pending = self._pending.get(str(message.get("conn")))
        if pending is not None and not pending[1].done():
            code = str(message.get("code"))
            log.info("room %s: the origin refused a join (%s: %s)", self.room_id, code,
                     message.get("message"))
            params = message.get("params")
            refusal = ApiError(code if code in _CODES else "internal", str(message.get("message")),
                               message.get("reason") or None,
                               **(params if isinstance(params, dict) else {}))
            pending[1].set_exception(refusal)

    async def attach_media(self, pid: str) -> None:
        """The participant's ``sub`` connection, here; offers go straight to their socket. A socket
        of theirs here that this one replaced (a page that rejoined before its old socket was seen
        to close) leaves its connections first: its own leave no longer speaks for them."""
        session = self.sessions[pid]
        await self.router.remove_peer(pid)
        self.router.set_live(pid, self.people[pid].get("role") in STAGE_ROLES)
        sub = self.router.add_subscriber(pid)
        sub.on("offer", lambda sdp, tracks: session.send(
            {"type": "offer", "pc": "sub", "sdp": sdp, "tracks": tracks_for(tracks)}))
        await self.router.reconcile()

    async def leave(self, pid: str, session: Session) -> None:
        if self.sessions.get(pid) is session:
            del self.sessions[pid]
            self.people.pop(pid, None)
            self.conns.pop(pid, None)
            with contextlib.suppress(Exception):
                await self.router.remove_peer(pid)
            self.link.send({"t": "leave", "room": self.room_id, "pid": pid, "from": self.link.bus.worker_id})
            await self.router.reconcile()
        await session.wait_closed()

    # --- client messages ------------------------------------------------------------------------
    async def client_message(self, pid: str, session: Session, msg: dict[str, Any]) -> None:
        """Media messages here; everything else to the origin (which answers ``ack``/``error`` itself)."""
        if msg.get("type") not in LOCAL_TYPES:
            self.link.send({"t": "msg", "room": self.room_id, "pid": pid, "msg": msg,
                            "from": self.link.bus.worker_id})
            return
        ref = msg.get("id") if isinstance(msg.get("id"), str) else None
        try:
            await self._media_message(pid, session, msg)
        except ApiError as exc:
            session.send(exc.frame(ref))
            return
        if ref is not None:
            session.send({"type": "ack", "ref": ref})

    async def _media_message(self, pid: str, session: Session, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "candidate":
            if msg.get("pc") not in ("pub", "sub"):
                raise ApiError("bad_request", "'pc' must be 'pub' or 'sub'")
        elif kind == "answer":
            await self._answer(pid, msg)
        else:
            await self._offer(pid, session, msg)

    async def _answer(self, pid: str, msg: dict[str, Any]) -> None:
        await apply_answer(self.router, pid, msg)

    async def _offer(self, pid: str, session: Session, msg: dict[str, Any]) -> None:
        person = self.people.get(pid, {})
        if person.get("role") not in STAGE_ROLES and not person.get("screening"):
            raise ApiError("forbidden", "only the stage may publish")
        muted = bool(person.get("muted"))
        answer_sdp, renegotiation = await accept_offer(self.router, pid, msg, paused=muted)
        session.send({"type": "answer", "pc": "pub", "sdp": answer_sdp})
        if not renegotiation:
            self.link.send({"t": "publishing", "room": self.room_id, "pid": pid, "on": True,
                            "from": self.link.bus.worker_id})
        await self.router.reconcile()

    # --- what the origin sends ------------------------------------------------------------------
    async def deliver(self, message: dict[str, Any]) -> None:
        kind = message.get("t")
        if kind == "joined":
            self._joined(message)
        elif kind == "refused":
            self._refused(message)
        elif kind == "to":
            self._to(str(message.get("pid")), message.get("msg"))
        elif kind == "bcast":
            self._broadcast(message.get("msg"), message.get("exclude"), message.get("to", "all"))
        elif kind == "close":
            pid = str(message.get("pid"))
            session = self.sessions.get(pid)
            # A socket replaced by a rejoin through this same worker: close that one, not its successor.
            if session is not None and message.get("conn", self.conns.get(pid)) == self.conns.get(pid):
                session.close(int(message.get("code", 1000)))
        elif kind == "media":
            await self._media(str(message.get("pid")), message)
        elif kind == "room":
            if self.mesh.apply(self.room_id, self.router, message):
                await self.router.reconcile()
        elif kind == "pipe_want":
            self.mesh.feed(self.room_id, self.router, message)
        elif kind == "dump":
            self.router.dump()

    def _to(self, pid: str, msg: Any) -> None:
        session = self.sessions.get(pid)
        if session is None or not isinstance(msg, dict):
            return
        self._note(msg, pid)
        if msg.get("type") == "welcome":  # which worker holds this socket (the origin wrote its own)
            msg = {**msg, "worker": self.link.bus.worker_id}
        session.send(msg)

    def _broadcast(self, msg: Any, exclude: Any, to: Any) -> None:
        if not isinstance(msg, dict):
            return
        self._note(msg, None)
        text = json.dumps(msg, separators=(",", ":"))
        for pid, session in self.sessions.items():
            if pid != exclude and self._addressed(pid, to):
                session.send_text(text)

    def _addressed(self, pid: str, to: Any) -> bool:
        role = self.people.get(pid, {}).get("role")
        if to in ("staff", "not_staff"):
            return (role in MODERATOR_ROLES) == (to == "staff")
        if to not in ("stage", "audience"):
            return True
        return (role in STAGE_ROLES) == (to == "stage")

    def _note(self, msg: dict[str, Any], pid: str | None) -> None:
        """Keep what media decisions here need: our participants' role and mute."""
        if msg.get("type") == "role_changed" and pid in self.people:
            self.people[pid]["role"] = msg.get("role")
        elif msg.get("type") in ("participant_updated", "participant_joined"):
            person = msg.get("participant") or {}
            if person.get("participant_id") in self.people:
                self.people[person["participant_id"]].update(person)

    async def _media(self, pid: str, message: dict[str, Any]) -> None:
        if message.get("conn", self.conns.get(pid)) != self.conns.get(pid):
            return  # about a socket of theirs that a newer one replaced (``attach_media`` saw to it)
        op = message.get("op")
        if op == "live":
            self.router.set_live(pid, bool(message.get("on")))
        elif op == "pause":
            publisher = self.router.publishers.get(pid)
            if publisher is not None:
                publisher.producer.paused = bool(message.get("on"))
        elif op == "close_publisher":
            await self.router.close_publisher(pid)
        elif op == "remove_peer":
            await self.router.remove_peer(pid)

    def report_rtts(self) -> None:
        """Our stage members' round-trip times (RTCP), for the origin's loop latencies."""
        for pid, peer in self.router.subscribers.items():
            if self.people.get(pid, {}).get("role") not in STAGE_ROLES:
                continue
            rtts = [c.rtt_ms for c in peer.consumers if c.rtt_ms is not None]
            if rtts:
                self.link.send({"t": "rtt", "room": self.room_id, "pid": pid, "rtt_ms": min(rtts),
                                "from": self.link.bus.worker_id})

    async def close(self, code: int) -> None:
        """The origin is gone or the room ended: every socket here closes, the media goes."""
        self.closed = True
        for session in list(self.sessions.values()):
            session.close(code)
        self.mesh.forget(self.room_id)
        await self.router.close()


_CODES = frozenset({"bad_request", "unauthorized", "forbidden", "not_found", "conflict", "rate_limited",
                    "room_full", "banned", "draining"})
