"""A live room: its people, chat, music and media, and how news reaches everyone."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter

from sfu import Router, server_ms

from ..errors import CLOSE_GOING_AWAY, CLOSE_ROOM_ENDED
from ..store import Store
from ..store.base import now_iso
from ..tokens import new_id
from .media import RoomMedia
from .participant import MODERATOR_ROLES, STAGE_ROLES, Participant
from .presence import AUDIENCE_THRESHOLD, Audience, Event, Presence
from .ratelimit import RateLimit
from .remote import Outbox, RemoteOutbox, WorkerLink
from .sync import sync_message
from .wordfilter import WordFilter

log = logging.getLogger(__name__)

CHAT_IN_WELCOME = 50


class Room(AsyncIOEventEmitter):
    """One show. Holds participants and their sessions; the router carries its media.

    Events: ``ended`` (when the show ends for everyone); ``presence`` (event, participant) after
    each join, change or leave is announced.
    """

    def __init__(
        self,
        *,
        room_id: str,
        title: str,
        description: str,
        host_name: str,
        router: Router,
        music: Any,
        rules: list[str],
        store: Store,
        word_filter: WordFilter,
    ) -> None:
        super().__init__()
        self.room_id = room_id
        self.title = title
        self.description = description
        self.host_name = host_name
        self.router = router
        self.music = music
        self.rules = rules
        self.started_at = now_iso()
        self.participants: dict[str, Participant] = {}
        self.sessions: dict[str, Outbox] = {}
        self.media = RoomMedia(router, self.sessions)
        self.worker_id: str | None = None  # with workers: this room's origin (``welcome.worker``)
        self.store = store
        self.word_filter = word_filter
        self.chat_limit = RateLimit(5, 10.0)
        self.chat: deque[dict] = deque(store.recent_chat(room_id, CHAT_IN_WELCOME), maxlen=CHAT_IN_WELCOME)
        self.ended = False
        self.host_left_at: float | None = time.monotonic()  # no host yet
        self.permanent = False
        self._levels_sent = False
        self.broadcast_delay_s = 0.0  # how much later than the stage the audience hears (0, 5-30)
        self.talkback: dict[str, str] = {}  # who talks to which screened caller only (greenroom.py)
        self.presence = Presence(self.broadcast, self.send_to, self.listener_count)
        music.on("now_playing", self._on_now_playing)
        music.on("queue", self._on_queue)
        router.on("audience_delay", lambda _delay: self._on_now_playing(self.music.now_playing()))

    # --- views -------------------------------------------------------------
    def connected_count(self) -> int:
        return sum(1 for p in self.participants.values() if p.connected)

    def listener_count(self) -> int:
        return sum(1 for p in self.participants.values() if p.connected and p.role == "listener")

    def summary(self) -> dict:
        present = [p for p in self.participants.values() if p.connected]
        return {
            "room_id": self.room_id,
            "title": self.title,
            "description": self.description,
            "host_name": self.host_name,
            "listeners": sum(1 for p in present if p.role == "listener"),
            "speakers": sum(1 for p in present if p.on_stage),
            "now_playing": self.music.now_playing(),
            "started_at": self.started_at,
        }

    def welcome(self, me: Participant) -> dict:
        return {
            "type": "welcome",
            "participant_id": me.participant_id,
            "role": me.role,
            "resume_token": me.resume_token,
            "room": self.summary(),
            "participants": self._known_to(me),
            "queue": self.music.queue(),
            "music_settings": self.music_settings(),
            "now_playing": self.now_playing_for(me),
            "chat": list(self.chat)[-CHAT_IN_WELCOME:],
            "rules": self.rules,
            "server_ms": server_ms(),
            **({"worker": self.worker_id} if self.worker_id else {}),
        }

    def _known_to(self, me: Participant) -> list[dict]:
        """The stage, the raised hands, ``me`` and the first listeners (a big audience is a count)."""
        shown, listeners = [], 0
        for p in self.participants.values():
            if not p.connected:
                continue
            if p.role == "listener" and not p.hand_raised and p is not me:
                listeners += 1
                if listeners > AUDIENCE_THRESHOLD:
                    continue
            shown.append(p.to_json())
        return shown

    @property
    def host(self) -> Participant | None:
        for p in self.participants.values():
            if p.role == "host":
                return p
        return None

    # --- news ----------------------------------------------------------------
    def broadcast(self, message: dict, exclude: str | None = None, to: Audience = "all") -> None:
        """To everyone here (or only the stage, or only the audience), serialized once; to each
        other worker holding some of them, once."""
        text = json.dumps(message, separators=(",", ":"))
        workers: dict[str, WorkerLink] = {}
        for pid, session in self.sessions.items():
            if pid == exclude or not self._addressed(pid, to):
                continue
            if isinstance(session, RemoteOutbox):
                workers[session.worker_id] = session.link
            else:
                session.send_text(text)
        for link in workers.values():
            link.send({"t": "bcast", "room": self.room_id, "msg": message, "exclude": exclude, "to": to})

    def _addressed(self, pid: str, to: Audience) -> bool:
        if to == "all":
            return True
        participant = self.participants.get(pid)
        role = participant.role if participant is not None else None
        if to in ("staff", "not_staff"):
            return (role in MODERATOR_ROLES) == (to == "staff")
        return (role in STAGE_ROLES) == (to == "stage")

    def announce(self, event: Event, participant: Participant, exclude: str | None = None) -> None:
        """A participant joined, changed or left: told as the room's size calls for (``Presence``)."""
        self.presence.announce(event, participant, exclude)
        self.emit("presence", event, participant)  # the play log's peak, the requests desk

    def send_to(self, participant_id: str, message: dict) -> None:
        session = self.sessions.get(participant_id)
        if session is not None:
            session.send(message)

    def now_playing_for(self, participant: Participant) -> dict | None:
        """Now playing as this participant hears it: the audience hears the music D later."""
        return self._heard_by(participant, self.music.now_playing())

    def _heard_by(self, participant: Participant, now_playing: dict | None) -> dict | None:
        if now_playing is None or self.router.is_live(participant.participant_id):
            return now_playing
        return {**now_playing, "server_ms": now_playing["server_ms"] + self.router.lag_ms}

    def _on_queue(self, queue: list[dict]) -> None:
        self.save_music()
        self.broadcast({"type": "queue", "queue": queue})

    def music_settings(self) -> dict:
        return {"gain": self.music.gain, "crossfade_s": self.music.crossfade_s,
                "ducking_db": self.music.ducking_db}

    def music_settings_changed(self) -> None:
        self.save_music()
        self.save_settings()
        self.broadcast({"type": "music_settings", **self.music_settings()})

    def save_settings(self) -> None:
        """The room's own settings, kept across restarts: the ducking depth, the broadcast delay."""
        self.store.save_room_settings(self.room_id, {"ducking_db": self.music.ducking_db,
                                                     "broadcast_delay_s": self.broadcast_delay_s})

    def set_broadcast_delay(self, seconds: float) -> None:
        """The audience hears the show ``seconds`` later than the stage (on top of D)."""
        self.broadcast_delay_s = seconds
        self.router.set_broadcast_delay(seconds * 1000.0)

    def save_music(self) -> None:
        """Remember the queue and playback, so a restart resumes the music where it was."""
        state = self.music.state()
        self.store.save_queue(self.room_id, state["queue"])
        self.store.save_playback(
            self.room_id, track_id=state["track_id"], position_ms=state["position_ms"],
            paused=state["paused"], gain=state["gain"], crossfade_s=state["crossfade_s"],
        )

    def _on_now_playing(self, now_playing: dict | None) -> None:
        if now_playing is None:
            return
        self.save_music()
        texts: dict[bool, str] = {}  # the stage hears it now, the audience D later: two texts at most
        for pid, session in self.sessions.items():
            participant = self.participants.get(pid)
            if participant is None:
                continue
            live = self.router.is_live(pid)
            if live not in texts:
                heard = self._heard_by(participant, now_playing)
                texts[live] = json.dumps({"type": "now_playing", **(heard or {})}, separators=(",", ":"))
            session.send_text(texts[live])

    def participant_changed(self, participant: Participant) -> None:
        self.save(participant)
        self.announce("participant_updated", participant)

    def save(self, p: Participant) -> None:
        """Keep a participant resumable across reconnects and restarts."""
        self.store.save_participant(
            self.room_id, p.participant_id, name=p.name, role=p.role, resume_token=p.resume_token,
            address=p.address, hand_raised=p.hand_raised, chat_muted=p.chat_muted, muted=p.muted,
            muted_by=p.muted_by,
            last_seen=now_iso(),
        )

    def is_host_token(self, token: str | None) -> bool:
        return self.store.check_host_token(self.room_id, token)

    def send_levels(self, now_ms: float) -> None:
        """``levels`` of the speakers talking now; one empty update when all fall silent."""
        levels = {}
        for producer in self.router.voice_producers:
            if producer.talking(now_ms):
                levels[producer.owner] = producer.level_now(now_ms)
        if levels or self._levels_sent:
            on_air = {o: v for o, v in levels.items() if o not in self.router.restricted}
            if on_air == levels:
                self.broadcast({"type": "levels", "levels": levels})
            else:  # a screened caller or a talkback is heard by the staff only: so are its levels
                self.broadcast({"type": "levels", "levels": levels}, to="staff")
                self.broadcast({"type": "levels", "levels": on_air}, to="not_staff")
        self._levels_sent = bool(levels)

    def send_sync(self) -> None:
        """``sync`` (the clock's health: D, each member's loop, the listeners' RTT and loss) to the
        host and moderators here."""
        staff = [pid for pid, p in self.participants.items() if p.role in MODERATOR_ROLES]
        if not any(pid in self.sessions for pid in staff):
            return
        message = sync_message(self.router, self.listener_count(), self.broadcast_delay_s)
        text = json.dumps(message, separators=(",", ":"))
        for pid in staff:
            session = self.sessions.get(pid)
            if session is not None:
                session.send_text(text)

    # --- chat ------------------------------------------------------------------
    def add_chat(self, author: Participant, text: str) -> dict:
        message = {
            "message_id": new_id("m"),
            "participant_id": author.participant_id,
            "name": author.name,
            "role": author.role,  # the badge the line carries (not stored: history after a restart has none)
            "text": text,
            "server_ms": server_ms(),
            "at": now_iso(),
        }
        self.store.add_chat(self.room_id, message)  # stored before anybody is told
        self.chat.append(message)
        self.broadcast({"type": "chat", "message": message})
        return message

    def find_chat(self, message_id: str) -> dict | None:
        for message in self.chat:
            if message["message_id"] == message_id:
                return message
        return self.store.chat_message(self.room_id, message_id)

    def delete_chat(self, message_id: str) -> None:
        self.store.delete_chat(self.room_id, message_id)
        for message in list(self.chat):
            if message["message_id"] == message_id:
                self.chat.remove(message)
        self.broadcast({"type": "chat_deleted", "message_id": message_id})

    # --- moderation ------------------------------------------------------------
    def audit(self, actor: Participant, action: str, target: Participant | None,
              detail: dict | None = None) -> None:
        self.store.audit(
            action,
            room_id=self.room_id, actor_id=actor.participant_id, actor_name=actor.name,
            target_id=target.participant_id if target else None, detail=detail or {},
        )

    def ban(self, target: Participant, *, reason: str, by: Participant) -> None:
        self.store.add_ban(room_id=self.room_id, participant_id=target.participant_id,
                           ip=target.address or None, reason=reason, by=by.participant_id)

    def report(self, reporter: Participant, reason: str, participant_id: str | None,
               message_id: str | None) -> dict:
        return self.store.add_report(room_id=self.room_id, reporter_id=reporter.participant_id,
                                     participant_id=participant_id, message_id=message_id,
                                     reason=reason)

    async def remove(self, target: Participant, notice: dict, close_code: int) -> None:
        """Send ``notice``, close the socket and stop their media now."""
        self.send_to(target.participant_id, notice)
        session = self.sessions.get(target.participant_id)
        if session is not None:
            session.close(close_code)
        await self.media.remove_peer(target.participant_id)

    # --- media -----------------------------------------------------------------
    async def shutdown(self) -> None:
        """The server stops: close every socket with 1001 (the show is not over)."""
        for session in list(self.sessions.values()):
            session.close(CLOSE_GOING_AWAY)
        await self.router.close()

    async def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.presence.close()
        self.broadcast({"type": "room_ended"})
        for session in list(self.sessions.values()):
            session.close(CLOSE_ROOM_ENDED)
        await self.router.close()
        if hasattr(self.music, "close"):
            self.music.close()
        self.emit("ended")
        log.info("room %s ended", self.room_id)


def tracks_for(tracks: list[dict]) -> list[dict]:
    """The SFU's track list (an ``offer``'s ``tracks``) with owners turned into participant ids."""
    out = []
    for t in tracks:
        entry = {"mid": t["mid"], "kind": t["kind"]}
        if t["kind"] == "voice":
            entry["participant_id"] = t["owner"]
        out.append(entry)
    return out


__all__ = ["Outbox", "Room", "tracks_for"]
