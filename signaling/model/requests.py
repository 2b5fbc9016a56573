"""Listeners' song requests in a room: one pending each, rate-limited; the host or a moderator
accepts (the track goes to the end of the queue) or declines; the requester is told.

The pending list lives in the store (a restart keeps it) and reaches the host and moderators as a
``requests`` message on every change and when one of them joins or becomes a moderator.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from mixer import Track

from ..errors import ApiError
from ..store.base import now_iso
from ..tokens import new_id
from .participant import Participant
from .permissions import MODERATORS
from .ratelimit import RateLimit
from .room import Room

NOTE_MAX = 140
REQUESTS_PER_WINDOW, REQUEST_WINDOW_S = 3, 300.0

_DESKS: weakref.WeakKeyDictionary[Room, RequestDesk] = weakref.WeakKeyDictionary()


class RequestDesk:
    """One room's requests."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.limit = RateLimit(REQUESTS_PER_WINDOW, REQUEST_WINDOW_S)
        room.on("presence", self._on_presence)

    @classmethod
    def of(cls, room: Room) -> RequestDesk:
        """The room's desk (made on first use)."""
        desk = _DESKS.get(room)
        if desk is None:
            desk = _DESKS[room] = cls(room)
        return desk

    def make(self, me: Participant, track: Track, note: str) -> dict[str, Any]:
        """``me`` asks for ``track``: ``conflict`` with one pending already, ``rate_limited`` past
        3 in 5 minutes. Stored, then the desk is told and the requester gets ``request_updated``."""
        store, room_id = self.room.store, self.room.room_id
        if any(r["participant_id"] == me.participant_id for r in store.pending_requests(room_id)):
            raise ApiError(
                "conflict", "You have a request waiting already: wait for the answer.",
                "request_pending",
            )
        if not self.limit.allow(me.participant_id):
            raise ApiError("rate_limited", f"At most {REQUESTS_PER_WINDOW} requests in "
                           f"{int(REQUEST_WINDOW_S // 60)} minutes: try again later.", "request_limit",
                           count=REQUESTS_PER_WINDOW, minutes=int(REQUEST_WINDOW_S // 60))
        request_id = new_id("q")
        store.add_request(request_id, room_id=room_id, participant_id=me.participant_id, name=me.name,
                          track_id=track.track_id, note=self.room.word_filter.clean(note) if note else "",
                          at=now_iso())
        self.room.send_to(me.participant_id, _updated(request_id, "pending", track.to_json()))
        self.send_list()
        saved = store.request(room_id, request_id)
        assert saved is not None  # just written
        return saved

    def answer(self, actor: Participant, request_id: str, accept: bool) -> None:
        """Accept (queued at the end) or decline a pending request; ``not_found`` if there is no such
        request here, ``conflict`` if it was answered already, ``not_found`` if its track is gone
        (the request is then declined)."""
        store, room = self.room.store, self.room
        saved = store.request(room.room_id, request_id)
        if saved is None:
            raise ApiError("not_found", "no such request in this room")
        if saved["status"] != "pending":
            raise ApiError("conflict", f"this request was {saved['status']} already")
        track = room.music.library.get(saved["track_id"])
        status = "accepted" if accept and track is not None else "declined"
        if not store.answer_request(request_id, status, by=actor.participant_id, at=now_iso()):
            raise ApiError("conflict", "this request was answered already")
        if status == "accepted":
            assert track is not None
            room.music.queue_add(track)
        room.audit(actor, f"request_{status}", room.participants.get(saved["participant_id"]),
                   {"request_id": request_id, "track_id": saved["track_id"]})
        shown = track.to_json() if track is not None else _gone(saved["track_id"])
        room.send_to(saved["participant_id"], _updated(request_id, status, shown))
        self.send_list()
        if accept and track is None:
            raise ApiError("not_found", "this track has left the library: the request was declined")

    def pending(self) -> list[dict[str, Any]]:
        """The pending requests in the protocol's shape, oldest first."""
        library = self.room.music.library
        out = []
        for r in self.room.store.pending_requests(self.room.room_id):
            track = library.get(r["track_id"])
            out.append({
                "request_id": r["request_id"], "participant_id": r["participant_id"], "name": r["name"],
                "track": track.to_json() if track is not None else _gone(r["track_id"]),
                "note": r["note"], "at": r["at"],
            })
        return out

    def send_list(self, only: str | None = None) -> None:
        """``requests`` to the host and moderators (or to ``only``), serialized once."""
        text = json.dumps({"type": "requests", "requests": self.pending()}, separators=(",", ":"))
        for pid, session in list(self.room.sessions.items()):
            participant = self.room.participants.get(pid)
            if participant is None or participant.role not in MODERATORS or (only and pid != only):
                continue
            session.send_text(text)

    def _on_presence(self, event: str, participant: Participant) -> None:
        if event != "participant_left" and participant.role in MODERATORS:
            self.send_list(only=participant.participant_id)


def _updated(request_id: str, status: str, track: dict[str, Any]) -> dict[str, Any]:
    return {"type": "request_updated", "request_id": request_id, "status": status, "track": track}


def _gone(track_id: str) -> dict[str, Any]:
    return {"track_id": track_id, "title": "", "artist": "", "album": "", "duration_ms": 0}
